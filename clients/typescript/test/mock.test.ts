/**
 * The same walk with the backend down: MSW answers from an in-memory shop (test/mocks.ts), and
 * every answer still goes through the contract check. Then the answers a screen must handle, each
 * typed by the client: an empty list, a validation error, a decline, a forbidden admin route, API
 * Gateway's throttling and its 500.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setupServer } from 'msw/node';
import { isGatewayAnswer, Shop } from '../src/index.js';
import { contract } from './contract.js';
import { MOCK_URL, shopHandlers, troubles } from './mocks.js';
import { PASSWORD, walk } from './walk.js';

const server = setupServer(...shopHandlers());
before(() => server.listen({ onUnhandledRequest: 'error' }));
after(() => server.close());

async function buyer(): Promise<{ shop: Shop; seen: { checked: number } }> {
  const seen = { checked: 0 };
  const shop = new Shop({ baseUrl: MOCK_URL });
  shop.api.use(contract(seen));
  await shop.signIn('buyer@example.com', PASSWORD);
  return { shop, seen };
}

test('the walk runs against the mocks, every mocked answer as documented', async () => {
  const report = await walk({ baseUrl: MOCK_URL, admin: { email: 'admin@example.com', password: PASSWORD }, unique: 'mock', patience: 2_000 });
  assert.deepEqual(
    { status: report.orderStatus, payment: report.paymentStatus, orders: report.ordersPaged, categories: report.categoriesPaged, refreshed: report.refreshed },
    { status: 'shipping', payment: 'captured', orders: 3, categories: 2, refreshed: true },
  );
});

test('a screen gets every trouble typed: empty, invalid, declined, forbidden, throttled, failed', async () => {
  const { shop, seen } = await buyer();
  server.use(troubles.emptyOrders, troubles.invalidCart, troubles.forbidden, troubles.throttled, troubles.failed);
  const empty = await shop.api.GET('/order/orders', {});
  assert.deepEqual(empty.data, { orders: [], nextToken: null });
  const invalid = await shop.placeOrder([{ id: 'p', quantity: 0 }]);
  assert.equal(invalid.error && 'code' in invalid.error ? invalid.error.code : undefined, 'InvalidField');
  const forbidden = await shop.api.POST('/product/approve-product', { body: { id: 'p' } });
  assert.equal(forbidden.response.status, 403);
  const throttled = await shop.api.GET('/product/approve-products', {});
  assert.equal(throttled.response.status, 429);
  assert.ok(isGatewayAnswer(throttled.error) && throttled.error.message === 'Too Many Requests');
  const failed = await shop.api.GET('/order/orders/{id}', { params: { path: { id: 'o1' } } });
  assert.ok(isGatewayAnswer(failed.error) && failed.error.message === 'Internal Server Error');
  server.resetHandlers(troubles.declined);
  const declined = await shop.placeOrder([{ id: 'p', quantity: 1 }], { paymentMethod: 'pm_card_chargeDeclined' });
  assert.equal(declined.response.status, 402);
  assert.ok(declined.error && 'reason' in declined.error && declined.error.reason === 'insufficient_funds');
  server.resetHandlers(...shopHandlers());
  assert.equal(seen.checked, 7, 'every answer (the sign-in and six troubles) was checked against the document');
});
