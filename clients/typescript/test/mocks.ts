/**
 * MSW handlers for building screens with the backend down: a small in-memory shop answering the
 * walk's routes with the document's shapes (every answer still goes through the contract check),
 * and the answers a screen must handle: an empty list, a validation error, a forbidden admin
 * route, API Gateway's throttling and its 500.
 */
import { http, HttpResponse, type HttpHandler } from 'msw';
import type { components } from '../src/schema.js';

type Product = components['schemas']['Product'];
type Order = components['schemas']['Order'];

export const MOCK_URL = 'http://shop.mock';
const now = () => new Date().toISOString();

const tokens = (n: number) => ({
  msg: 'signed in',
  tokens: { AccessToken: `access-${n}`, ExpiresIn: 3600, IdToken: `id-${n}`, TokenType: 'Bearer', RefreshToken: 'refresh' },
});

/** The walk's routes, over one in-memory shop. */
export function shopHandlers(): HttpHandler[] {
  const products = new Map<string, Product>();
  const orders: Order[] = [];
  const byKey = new Map<string, string>();
  let issued = 0;
  const signedIn = (request: Request) => {
    const token = request.headers.get('authorization')?.replace('Bearer ', '') ?? '';
    return /^id-\d+$/.test(token);
  };
  const unauthorized = () => HttpResponse.json({ message: 'Unauthorized' }, { status: 401, headers: { 'www-authenticate': 'Bearer' } });
  const url = (p: string) => `${MOCK_URL}${p}`;
  return [
    http.post(url('/auth/sign-up'), () => HttpResponse.json({ msg: 'signed up; check your email for the code' })),
    http.post(url('/auth/confirm-sign-up'), () => HttpResponse.json({ msg: 'confirmed' })),
    http.post(url('/auth/sign-in'), () => HttpResponse.json(tokens(++issued))),
    http.post(url('/auth/refresh-token'), () => {
      const { RefreshToken: _, ...fresh } = tokens(++issued).tokens;
      return HttpResponse.json({ msg: 'refreshed', tokens: fresh });
    }),
    http.post(url('/product/get-upload-url'), async ({ request }) => {
      if (!signedIn(request)) return unauthorized();
      const b = (await request.json()) as { productName: string; productPrice: number; description: string; quantity: number; category: string };
      const id = crypto.randomUUID();
      products.set(id, { id, productName: b.productName, productPrice: b.productPrice, description: b.description, quantity: b.quantity, category: b.category, isApproved: false, createdAt: now(), imageUrl: null });
      return HttpResponse.json({ uploadUrl: `${MOCK_URL}/_upload/${id}`, productId: id });
    }),
    http.put(url('/_upload/:id'), () => new HttpResponse(null, { status: 200 })),
    http.get(url('/product/pending-products'), ({ request }) => {
      if (!signedIn(request)) return unauthorized();
      return HttpResponse.json({ products: [...products.values()].filter((p) => !p.isApproved), nextToken: null });
    }),
    http.post(url('/product/approve-product'), async ({ request }) => {
      const { id } = (await request.json()) as { id: string };
      const p = products.get(id);
      if (!p) return HttpResponse.json({ error: `product ${id} does not exist`, code: 'ProductNotFound' }, { status: 404 });
      products.set(id, { ...p, isApproved: true, imageUrl: `${MOCK_URL}/cdn/${id}/walk.png` });
      return HttpResponse.json({ message: 'Product approved successfully', id });
    }),
    http.get(url('/product/approve-products'), ({ request }) => {
      const category = new URL(request.url).searchParams.get('category');
      const list = [...products.values()].filter((p) => p.isApproved && (!category || p.category === category));
      return HttpResponse.json({ products: list, nextToken: null });
    }),
    http.get(url('/category/categories'), ({ request }) => {
      const token = new URL(request.url).searchParams.get('nextToken');
      const page = token ? [{ categoryName: 'Shoes', imageUrl: `${MOCK_URL}/cdn/shoes.png` }] : [{ categoryName: 'Bags', imageUrl: `${MOCK_URL}/cdn/bags.png` }];
      return HttpResponse.json(page, { headers: token ? {} : { 'x-next-token': 'page-2' } });
    }),
    http.post(url('/order/create-order'), async ({ request }) => {
      if (!signedIn(request)) return unauthorized();
      const key = request.headers.get('idempotency-key') ?? crypto.randomUUID();
      const known = byKey.get(key);
      const b = (await request.json()) as { items: { id: string; quantity: number }[]; paymentMethod?: string };
      const items = b.items.map((l) => {
        const p = products.get(l.id);
        return { productId: l.id, productName: p?.productName ?? '?', unitPrice: p?.productPrice ?? 1, quantity: l.quantity, lineTotal: (p?.productPrice ?? 1) * l.quantity };
      });
      const total = items.reduce((s, l) => s + l.lineTotal, 0);
      const payment = { status: 'authorized' as const, amount: total, currency: 'usd' };
      if (!known) {
        const id = crypto.randomUUID();
        byKey.set(key, id);
        orders.unshift({ id, items, total, status: 'shipping', createdAt: now(), updatedAt: now(), payment: { ...payment, status: 'captured' } });
      }
      return HttpResponse.json({ message: 'order placed successfully', orderId: byKey.get(key) ?? '', payment }, { status: 201 });
    }),
    http.get(url('/order/orders/:id'), ({ request, params }) => {
      if (!signedIn(request)) return unauthorized();
      const order = orders.find((o) => o.id === params.id);
      return order ? HttpResponse.json(order) : HttpResponse.json({ error: 'order does not exist', code: 'OrderNotFound' }, { status: 404 });
    }),
    http.get(url('/order/orders'), ({ request }) => {
      if (!signedIn(request)) return unauthorized();
      const q = new URL(request.url).searchParams;
      const from = Number(q.get('nextToken') ?? 0);
      const limit = Number(q.get('limit') ?? 20);
      const page = orders.slice(from, from + limit);
      return HttpResponse.json({ orders: page, nextToken: from + limit < orders.length ? String(from + limit) : null });
    }),
  ];
}

/** The answers a screen must handle besides success, one per handler (use them before `shopHandlers`). */
export const troubles = {
  emptyOrders: http.get(`${MOCK_URL}/order/orders`, () => HttpResponse.json({ orders: [], nextToken: null })),
  invalidCart: http.post(`${MOCK_URL}/order/create-order`, () =>
    HttpResponse.json({ error: 'field `items` line 1: field `quantity` must be between 1 and 1000', code: 'InvalidField' }, { status: 400 }),
  ),
  declined: http.post(`${MOCK_URL}/order/create-order`, () =>
    HttpResponse.json({ error: 'the card was declined (insufficient_funds)', code: 'PaymentDeclined', reason: 'insufficient_funds' }, { status: 402 }),
  ),
  forbidden: http.post(`${MOCK_URL}/product/approve-product`, () => HttpResponse.json({ error: 'admins only', code: 'Forbidden' }, { status: 403 })),
  throttled: http.get(`${MOCK_URL}/product/approve-products`, () => HttpResponse.json({ message: 'Too Many Requests' }, { status: 429 })),
  failed: http.get(`${MOCK_URL}/order/orders/:id`, () => HttpResponse.json({ message: 'Internal Server Error' }, { status: 500 })),
};
