/**
 * The walk against a running local stack: `SHOP_API_URL` (default http://127.0.0.1:3000) and an
 * admin account, `SHOP_ADMIN_EMAIL` / `SHOP_ADMIN_PASSWORD` (`scripts/client-check.sh` makes one
 * with `shop-local make-admin`). Every answer is validated against openapi.yaml as it arrives.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isGatewayAnswer, Shop } from '../src/index.js';
import { contract } from './contract.js';
import { PASSWORD, walk } from './walk.js';

test('a buyer walks the shop on the local stack with the typed client, every answer as documented', async () => {
  const email = process.env.SHOP_ADMIN_EMAIL;
  assert.ok(email, 'SHOP_ADMIN_EMAIL names an admin of the running stack (bash scripts/client-check.sh sets one up)');
  const report = await walk({
    baseUrl: process.env.SHOP_API_URL ?? 'http://127.0.0.1:3000',
    admin: { email, password: process.env.SHOP_ADMIN_PASSWORD ?? PASSWORD },
    unique: randomUUID().slice(0, 8),
    patience: 60_000,
  });
  assert.equal(report.orderStatus, 'shipping');
  assert.equal(report.paymentStatus, 'captured');
  assert.equal(report.ordersPaged, 3, 'three orders, one per page');
  assert.ok(report.categoriesPaged >= 0);
  assert.ok(report.refreshed, 'the refused ID token was refreshed');
  assert.ok(report.checked > 20, `${report.checked} answers checked against the document`);
});

test('a burst of sign-ins meets API Gateway\'s throttling, typed as its own answer', async () => {
  const seen = { checked: 0 };
  const shop = new Shop({ baseUrl: process.env.SHOP_API_URL ?? 'http://127.0.0.1:3000' });
  shop.api.use(contract(seen));
  const answers = await Promise.all(
    Array.from({ length: 30 }, () => shop.api.POST('/auth/sign-in', { body: { email: 'nobody@example.com', password: PASSWORD } })),
  );
  const throttled = answers.filter((a) => a.response.status === 429);
  assert.ok(throttled.length > 0, 'sign-in allows a burst of 20');
  for (const t of throttled) assert.ok(isGatewayAnswer(t.error) && t.error.message === 'Too Many Requests');
  assert.equal(seen.checked, 30);
});
