/**
 * A walk through the shop with the typed client, as a front end takes it: a seller lists a
 * product with its image, an admin approves it, a buyer signs up, pays for a cart, reads the order
 * until it is decided, pages through their orders, and keeps working after their ID token stops
 * being accepted. Run against the local stack (`walk.test.ts`) and against mocks (`mock.test.ts`).
 */
import assert from 'node:assert/strict';
import { headerPages, pages, Shop } from '../src/index.js';
import { contract } from './contract.js';

export const PASSWORD = 'Str0ng!Passw0rd';
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x77, 0x61, 0x6c, 0x6b]);

export interface WalkOptions {
  baseUrl: string;
  /** An account in the admins group. */
  admin: { email: string; password: string };
  /** A name no other walk uses. */
  unique: string;
  /** How long to wait for what happens asynchronously (an upload's check, a workflow). */
  patience: number;
}

export interface WalkReport {
  orderStatus: string;
  paymentStatus: string | undefined;
  ordersPaged: number;
  categoriesPaged: number;
  refreshed: boolean;
  checked: number;
}

/** Polls `attempt` until it answers something, or fails after `patience` ms. */
async function eventually<T>(what: string, patience: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + patience;
  for (;;) {
    const got = await attempt();
    if (got !== undefined) return got;
    assert.ok(Date.now() < until, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A new account, confirmed and signed in. */
async function account(o: WalkOptions, seen: { checked: number }, who: string): Promise<Shop> {
  const shop = new Shop({ baseUrl: o.baseUrl });
  shop.api.use(contract(seen));
  const email = `${who}-${o.unique}@example.com`;
  const up = await shop.api.POST('/auth/sign-up', { body: { email, fullName: `${who} ${o.unique}`, password: PASSWORD } });
  assert.equal(up.response.status, 200, JSON.stringify(up.error));
  // The local stack's Cognito accepts any code; the real one mails it.
  const confirmed = await shop.api.POST('/auth/confirm-sign-up', { body: { email, confirmationCode: '123456' } });
  assert.equal(confirmed.response.status, 200, JSON.stringify(confirmed.error));
  const signedIn = await shop.signIn(email, PASSWORD);
  assert.ok(shop.session, JSON.stringify(signedIn.error));
  return shop;
}

export async function walk(o: WalkOptions): Promise<WalkReport> {
  const seen = { checked: 0 };
  const category = `Walk${o.unique.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`;

  // A seller lists a product and uploads its image to the presigned URL.
  const seller = await account(o, seen, 'seller');
  const listed = await seller.api.POST('/product/get-upload-url', {
    body: { fileName: 'walk.png', fileType: 'image/png', productName: 'Walking shoes', productPrice: 25, description: 'For the walk.', quantity: 5, category },
  });
  assert.ok(listed.data, JSON.stringify(listed.error));
  const { productId, uploadUrl } = listed.data;
  const put = await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: PNG });
  assert.equal(put.status, 200);

  // An admin approves it once its image passed the check.
  const admin = new Shop({ baseUrl: o.baseUrl });
  admin.api.use(contract(seen));
  await admin.signIn(o.admin.email, o.admin.password);
  assert.ok(admin.session, 'the admin signs in');
  await eventually('the product in the review queue', o.patience, async () => {
    const { data } = await admin.api.GET('/product/pending-products', {});
    return data?.products.some((p) => p.id === productId) ? true : undefined;
  });
  const approved = await admin.api.POST('/product/approve-product', { body: { id: productId } });
  assert.equal(approved.response.status, 200, JSON.stringify(approved.error));

  // A buyer finds it in the catalog and pays for a cart of two.
  const buyer = await account(o, seen, 'buyer');
  const product = await eventually('the product in the catalog', o.patience, async () => {
    const { data } = await buyer.api.GET('/product/approve-products', { params: { query: { category } } });
    return data?.products.find((p) => p.id === productId);
  });
  assert.equal(product.productPrice, 25);
  let categoriesPaged = 0;
  for await (const c of headerPages((nextToken) => buyer.api.GET('/category/categories', { params: { query: { limit: 1, nextToken } } }))) {
    assert.equal(typeof c.categoryName, 'string');
    categoriesPaged += 1;
  }
  const placed = await buyer.placeOrder([{ id: productId, quantity: 2 }], { paymentMethod: 'pm_card_visa' });
  assert.equal(placed.response.status, 201, JSON.stringify(placed.error));
  assert.ok(placed.data);
  const orderId = placed.data.orderId;
  // The same request again (a retry after a lost answer): the same order, not a second one.
  const again = await buyer.placeOrder([{ id: productId, quantity: 2 }], { paymentMethod: 'pm_card_visa', idempotencyKey: placed.idempotencyKey });
  assert.equal(again.data?.orderId, orderId);

  const decided = await eventually('the order decided and paid', o.patience, async () => {
    const { data } = await buyer.api.GET('/order/orders/{id}', { params: { path: { id: orderId } } });
    return data && data.status !== 'pending' && data.payment?.status !== 'authorized' ? data : undefined;
  });

  // Two more orders, then every order page by page.
  for (let i = 0; i < 2; i++) {
    const more = await buyer.placeOrder([{ id: productId, quantity: 1 }], { paymentMethod: 'pm_card_visa' });
    assert.equal(more.response.status, 201, JSON.stringify(more.error));
  }
  let ordersPaged = 0;
  for await (const order of pages(
    (nextToken) => buyer.api.GET('/order/orders', { params: { query: { limit: 1, nextToken } } }),
    (page) => page.orders,
  )) {
    assert.ok(order.id);
    ordersPaged += 1;
  }

  // The ID token stops being accepted (expired): the client refreshes it and the call succeeds.
  assert.ok(buyer.session);
  const before = buyer.session.idToken;
  buyer.session.tokens = { ...buyer.session.tokens, IdToken: `${before.slice(0, -4)}AAAA` };
  const mine = await buyer.api.GET('/order/orders', { params: { query: { limit: 1 } } });
  assert.equal(mine.response.status, 200, JSON.stringify(mine.error));
  const refreshed = buyer.session.idToken !== `${before.slice(0, -4)}AAAA`;

  return {
    orderStatus: decided.status,
    paymentStatus: decided.payment?.status,
    ordersPaged,
    categoriesPaged,
    refreshed,
    checked: seen.checked,
  };
}
