/**
 * The order workflow under AWS semantics, not moto's: the real ASL file in aws-local-stepfunctions
 * (a missing path is an uncatchable States.Runtime), every Task answered by an in-memory AWS that
 * evaluates the expressions the workflow sends and raises AWS's error names. moto's run of the
 * same file stays the integration test (tests/tests/order.rs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/declaration.js';
import { FakeAws, Item } from './workflow/fake-aws.js';
import { ALERTS, definition, executionArn, Outcome, run, SENDER, TABLES } from './workflow/run.js';

const S = (s: string) => ({ S: s });
const N = (n: number) => ({ N: String(n) });

function product(aws: FakeAws, id: string, stock: number, approved = true, name = 'gucci'): void {
  aws.put(TABLES.products, { id: S(id), productName: S(name), quantity: N(stock), isApproved: { BOOL: approved } });
}

/**
 * The execution input the queue consumer builds (order::workflow_input): one entry per line, and a
 * one-line order's original fields. Checked against `workflow/inputs.golden.json`, which a Rust
 * test writes from the consumer's own code.
 */
function cartInput(id: string, lines: [productId: string, quantity: number, name?: string][]): Record<string, unknown> {
  const text = lines.map(([, q, name]) => `${q} x ${name ?? 'gucci'}`);
  const title = lines.length === 1 ? (lines[0][2] ?? 'gucci') : `${lines.length} products`;
  const original = lines.length === 1 ? { productId: lines[0][0], productName: title, quantity: lines[0][1] } : {};
  return {
    ...original,
    orderId: id,
    customerEmail: `${id}@buyer.test`,
    attempt: 0,
    summary: text.join(', '),
    subjects: lines.length === 1
      ? { shipping: `${title} now shipping`, rejected: `${title} is out of stock`, failed: `Your order of ${title} could not be processed` }
      : { shipping: `Your order of ${title} is now shipping`, rejected: `Your order of ${title} could not be reserved`, failed: `Your order of ${title} could not be processed` },
    lines: lines.map(([productId, quantity], i) => ({ productId, quantity, line: text[i] })),
  };
}

function order(aws: FakeAws, id: string, productId: string, quantity: number, status = 'pending'): Record<string, unknown> {
  aws.put(TABLES.orders, { id: S(id), status: S(status), customerEmail: S(`${id}@buyer.test`) });
  return cartInput(id, [[productId, quantity]]);
}

function cart(aws: FakeAws, id: string, lines: [string, number][]): Record<string, unknown> {
  aws.put(TABLES.orders, { id: S(id), status: S('pending'), customerEmail: S(`${id}@buyer.test`) });
  return cartInput(id, lines.map(([p, q]) => [p, q, p]));
}

const stock = (aws: FakeAws, id: string) => Number((aws.get(TABLES.products, id)?.quantity as { N: string }).N);
const status = (aws: FakeAws, id: string) => (aws.get(TABLES.orders, id)?.status as { S: string } | undefined)?.S;
const decidedBy = (aws: FakeAws, id: string) => (aws.get(TABLES.orders, id)?.decidedBy as { S: string } | undefined)?.S;
const subjects = (aws: FakeAws) => aws.emails.map((e) => e.subject);

/** A shop with product p1 (stock 5) and order o1 (quantity 2, pending). */
function shop(): { aws: FakeAws; input: Record<string, unknown> } {
  const aws = new FakeAws();
  product(aws, 'p1', 5);
  return { aws, input: order(aws, 'o1', 'p1', 2) };
}

/** Ends well for the customer: exactly the emails listed, no alert. */
function quiet(aws: FakeAws, expected: string[]): void {
  assert.deepEqual(subjects(aws), expected);
  assert.deepEqual(aws.alerts, []);
}

describe('the order workflow under AWS semantics', () => {
  it('runs the input the queue consumer builds (the golden file the Rust consumer code writes)', () => {
    const golden = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'test', 'workflow', 'inputs.golden.json'), 'utf8'));
    assert.ok(golden.length >= 2);
    for (const c of golden) assert.deepEqual(cartInput(c.orderId, c.lines), c.input, c.orderId);
  });

  it('ships an order whose reservation succeeds: stock once, one email, decided by this execution', async () => {
    const { aws, input } = shop();
    const id = executionArn();
    const out = await run(aws, input, { executionId: id });
    assert.equal(out.status, 'SUCCEEDED');
    assert.deepEqual(out.path.filter((n) => !['WhichSlot', 'PickLine', 'LineComplete', 'LineSlot', 'OrderSlot', 'CheckLine'].includes(n)), [
      'CheckInput', 'CountLines', 'PlanReservation', 'CheckStock', 'Tally', 'EnoughStock', 'ReserveStock', 'ShippingEmail',
    ]);
    assert.equal(status(aws, 'o1'), 'shipping');
    assert.equal(decidedBy(aws, 'o1'), id);
    assert.equal(stock(aws, 'p1'), 3);
    quiet(aws, ['gucci now shipping']);
    assert.deepEqual(aws.emails[0].to, ['o1@buyer.test']);
  });

  it('ships after TransactionConflict three times, with growing jittered waits', async () => {
    const { aws, input } = shop();
    aws.inject('ReserveStock', 'TransactionConflict', 3);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(status(aws, 'o1'), 'shipping');
    assert.equal(stock(aws, 'p1'), 3);
    quiet(aws, ['gucci now shipping']);
    assert.equal(out.waits.length, 3);
    // The interpreter reads MathRandom's end inclusively (AWS: exclusively), so a wait may reach it.
    const ends = backoffEnds();
    out.waits.forEach((w, i) => assert.ok(Number.isInteger(w) && w >= 1 && w <= ends[i], `wait ${i} = ${w}s, end ${ends[i]}`));
  });

  it('leaves the order pending for the reconciler when conflicts never stop, within the time budget and quietly', async () => {
    const { aws, input } = shop();
    aws.inject('ReserveStock', 'TransactionConflict', 1000);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED', 'contention is not a failure: no page, no failed order');
    assert.equal(out.path.at(-1), 'LeftForReconciler');
    assert.equal(status(aws, 'o1'), 'pending');
    assert.equal(stock(aws, 'p1'), 5);
    quiet(aws, []);
    const limit = definition().States.TooManyAttempts.Choices[0].NumericGreaterThanEquals;
    assert.equal(out.waits.length, limit);
    assert.equal(aws.calls.filter((c) => c === 'ReserveStock').length, limit + 1);
  });

  it('draws every jitter from a non-empty range, with AWS\'s exclusive end and an inclusive one alike', () => {
    const text = JSON.stringify(definition());
    const calls = [...text.matchAll(/States\.MathRandom\((-?\d+), (States\.ArrayGetItem\(States\.Array\(([^)]*)\), [^)]*\)|-?\d+)/g)];
    assert.ok(calls.length >= 1, 'no MathRandom found: update this test with the workflow');
    for (const [call, start, end, array] of calls) {
      const ends = (array ?? end).split(',').map(Number);
      assert.ok(ends.every((e) => Number.isInteger(e)), call);
      // AWS draws from [start, end): empty unless end > start.
      for (const e of ends) assert.ok(e > Number(start), `${call}: the range [${start}, ${e}) is empty on AWS`);
    }
  });

  it('keeps the true worst case inside the execution timeout: backoff, every Task retry, the tail', () => {
    const def = definition();
    // Every state, the Map's inner ones included.
    const states: Record<string, any> = {};
    const collect = (all: Record<string, any>) => {
      for (const [name, state] of Object.entries(all)) {
        states[name] = state;
        const inner = state.ItemProcessor ?? state.Iterator;
        if (inner) collect(inner.States);
      }
    };
    collect(def.States);
    /** A Task's worst: every retrier exhausted (each error may exhaust its own), its sleeps and its calls. */
    const worst = (name: string) => {
      let sleep = 0;
      let calls = 1;
      for (const r of states[name]?.Retry ?? []) {
        const [interval, max, rate] = [r.IntervalSeconds ?? 1, r.MaxAttempts ?? 3, r.BackoffRate ?? 2];
        for (let k = 0; k < max; k++) sleep += Math.min(interval * rate ** k, r.MaxDelaySeconds ?? Infinity);
        calls += max;
      }
      return { sleep, calls };
    };
    const sum = (names: string[]) => names.map(worst).reduce((a, b) => ({ sleep: a.sleep + b.sleep, calls: a.calls + b.calls }));
    // The longest waits under either reading of MathRandom's end.
    const ends = backoffEnds();
    const limit = def.States.TooManyAttempts.Choices[0].NumericGreaterThanEquals;
    assert.equal(ends.length, limit, 'one cap per wait');
    // Each of the limit + 1 attempts checks the lines (in parallel: one line's worst), reserves and reads the order back.
    const attempt = sum(['CheckLine', 'ReserveStock', 'ReadOrder']);
    // Then one decision's tail, the longest of the three.
    const tails = [
      sum(['ShippingEmail', 'EmailAlert']),
      sum(['RejectOrder', 'RejectionEmail', 'EmailAlert']),
      sum(['MarkFailed', 'FailureEmail', 'FailureAlert']),
    ];
    const tail = tails.reduce((a, b) => (a.sleep + a.calls > b.sleep + b.calls ? a : b));
    const calls = (limit + 1) * attempt.calls + tail.calls;
    // A quarter second per call: DynamoDB, SES and SNS answer in tens of milliseconds.
    const total = ends.reduce((a, b) => a + b, 0) + (limit + 1) * attempt.sleep + tail.sleep + calls * 0.25;
    assert.ok(
      total < def.TimeoutSeconds,
      `worst case ${total} s (waits ${ends.join('+')}, ${limit + 1} attempts of ${attempt.sleep} s of retries, a tail of ${tail.sleep} s, ${calls} calls) >= ${def.TimeoutSeconds} s`,
    );
  });

  it('rejects an order whose product is short, without moving stock', async () => {
    const { aws, input } = shop();
    product(aws, 'p1', 1);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(status(aws, 'o1'), 'rejected');
    assert.equal(stock(aws, 'p1'), 1);
    quiet(aws, ['gucci is out of stock']);
    assert.ok(!aws.calls.includes('ReserveStock'), 'a short product is rejected without a transaction');
  });

  it('rejects an order whose product was withdrawn or deleted', async () => {
    for (const change of ['withdrawn', 'deleted']) {
      const { aws, input } = shop();
      if (change === 'withdrawn') product(aws, 'p1', 5, false);
      else aws.table(TABLES.products).delete('p1');
      const out = await run(aws, input);
      assert.equal(out.status, 'SUCCEEDED', change);
      assert.equal(status(aws, 'o1'), 'rejected', change);
      quiet(aws, ['gucci is out of stock']);
    }
  });

  it('rejects when stock is taken between the check and the transaction', async () => {
    const { aws, input } = shop();
    // Another order takes the stock right after CheckStock read it.
    aws.after('CheckLine', () => product(aws, 'p1', 1));
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    const reserve = out.path.indexOf('ReserveStock');
    assert.deepEqual(out.path.slice(reserve, reserve + 5), ['ReserveStock', 'ReadOrder', 'OrderState', 'TooManyAttempts', 'PlanBackoff']);
    assert.equal(status(aws, 'o1'), 'rejected');
    assert.equal(stock(aws, 'p1'), 1);
    quiet(aws, ['gucci is out of stock']);
  });

  it('does nothing for an order that was withdrawn (deleted) before processing', async () => {
    const { aws, input } = shop();
    aws.table(TABLES.orders).delete('o1');
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(out.path.at(-1), 'AlreadyDecided');
    assert.equal(stock(aws, 'p1'), 5);
    assert.equal(aws.get(TABLES.orders, 'o1'), undefined, 'no order is created by the workflow');
    quiet(aws, []);
  });

  it('does nothing for an order another execution already decided', async () => {
    for (const decided of ['shipping', 'rejected', 'failed']) {
      const aws = new FakeAws();
      product(aws, 'p1', 5);
      const input = order(aws, 'o1', 'p1', 2, decided);
      aws.put(TABLES.orders, { ...(aws.get(TABLES.orders, 'o1') as Item), decidedBy: S(executionArn('someone-else')) });
      const out = await run(aws, input);
      assert.equal(out.status, 'SUCCEEDED', decided);
      assert.equal(out.path.at(-1), 'AlreadyDecided', decided);
      assert.equal(status(aws, 'o1'), decided);
      assert.equal(stock(aws, 'p1'), 5, decided);
      quiet(aws, []);
    }
  });

  it('retries throttling and 5xx, then ships', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ThrottlingException', 2);
    aws.inject('ReserveStock', 'InternalServerErrorException', 2);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(status(aws, 'o1'), 'shipping');
    assert.equal(stock(aws, 'p1'), 3);
    quiet(aws, ['gucci now shipping']);
  });

  it('sends the shipping email when the transaction committed but its response was lost', async () => {
    const { aws, input } = shop();
    aws.inject('ReserveStock', 'InternalServerErrorException', 1, true);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.ok(out.path.includes('ShippedByMe'), out.path.join(' > '));
    assert.equal(stock(aws, 'p1'), 3, 'the retry reserved nothing more');
    quiet(aws, ['gucci now shipping']);
  });

  it('fails the order, emails the customer and alerts when throttling outlasts the retries', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ThrottlingException', 100);
    const out = await run(aws, input);
    assert.equal(out.status, 'FAILED');
    assert.equal(out.error, 'OrderFailed');
    assert.equal(status(aws, 'o1'), 'failed');
    assert.equal(stock(aws, 'p1'), 5);
    assert.deepEqual(subjects(aws), ['Your order of gucci could not be processed']);
    assert.equal(aws.alerts.length, 1);
    assert.match(aws.alerts[0].message, /^Order o1 failed: DynamoDb\.ThrottlingException/);
    assert.equal(aws.calls.filter((c) => c === 'CheckLine').length, 4, 'three retries, then give up');
  });

  it('fails an order on an error no retry fixes, without retrying it', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ResourceNotFoundException', 1);
    const out = await run(aws, input);
    assert.equal(out.error, 'OrderFailed');
    assert.equal(aws.calls.filter((c) => c === 'CheckLine').length, 1);
    assert.equal(status(aws, 'o1'), 'failed');
  });

  it('does not retry MarkFailed on a failed condition: an order decided meanwhile is left as it is', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ResourceNotFoundException', 1);
    // Meanwhile another execution shipped it.
    aws.put(TABLES.orders, { ...(aws.get(TABLES.orders, 'o1') as Item), status: S('shipping'), decidedBy: S(executionArn('other')) });
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(out.path.at(-1), 'AlreadyDecided');
    assert.equal(aws.calls.filter((c) => c === 'MarkFailed').length, 1);
    assert.equal(status(aws, 'o1'), 'shipping');
    quiet(aws, []);
  });

  it('retries MarkFailed on throttling', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ResourceNotFoundException', 1);
    aws.inject('MarkFailed', 'ThrottlingException', 2);
    const out = await run(aws, input);
    assert.equal(out.error, 'OrderFailed');
    assert.equal(aws.calls.filter((c) => c === 'MarkFailed').length, 3);
    assert.equal(status(aws, 'o1'), 'failed');
  });

  it('keeps a shipped order shipping and alerts when SES fails after the decision', async () => {
    const { aws, input } = shop();
    aws.inject('ShippingEmail', 'BadRequestException', 10);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(status(aws, 'o1'), 'shipping');
    assert.deepEqual(subjects(aws), []);
    assert.equal(aws.alerts.length, 1);
    assert.match(aws.alerts[0].message, /^Order o1 was decided but its email failed: SesV2\.BadRequestException/);
  });

  it('never retries a permanent SES refusal: one call, then the alert', async () => {
    for (const permanent of ['MessageRejectedException', 'AccountSuspendedException', 'SendingPausedException', 'MailFromDomainNotVerifiedException', 'BadRequestException']) {
      const { aws, input } = shop();
      aws.inject('ShippingEmail', permanent, 10);
      const out = await run(aws, input);
      assert.equal(out.status, 'SUCCEEDED', permanent);
      assert.equal(status(aws, 'o1'), 'shipping', permanent);
      assert.equal(aws.calls.filter((c) => c === 'ShippingEmail').length, 1, `${permanent} was retried`);
      assert.equal(aws.alerts.length, 1, permanent);
    }
  });

  it('retries SES throttling and server errors on every email', async () => {
    for (const transient of ['TooManyRequestsException', 'LimitExceededException', 'SesV2Exception']) {
      const { aws, input } = shop();
      aws.inject('ShippingEmail', transient, 2);
      const out = await run(aws, input);
      assert.equal(out.status, 'SUCCEEDED', transient);
      assert.equal(aws.calls.filter((c) => c === 'ShippingEmail').length, 3, transient);
      quiet(aws, ['gucci now shipping']);
    }
  });

  it('sends one email when SES throttles before accepting it', async () => {
    const { aws, input } = shop();
    aws.inject('ShippingEmail', 'TooManyRequestsException', 2);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    quiet(aws, ['gucci now shipping']);
  });

  it('alerts when the rejection email fails, the order stays rejected', async () => {
    const { aws, input } = shop();
    product(aws, 'p1', 0);
    aws.inject('RejectionEmail', 'BadRequestException', 10);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(status(aws, 'o1'), 'rejected');
    assert.equal(aws.alerts.length, 1);
  });

  it('still fails the execution (alarm) when SNS fails on the alert path', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ResourceNotFoundException', 1);
    aws.inject('FailureAlert', 'InternalErrorException', 100);
    const out = await run(aws, input);
    assert.equal(out.status, 'FAILED');
    assert.equal(out.error, 'SNS.InternalErrorException');
    assert.equal(status(aws, 'o1'), 'failed');
    assert.deepEqual(subjects(aws), ['Your order of gucci could not be processed']);
    const retries = definition().States.FailureAlert.Retry[0].MaxAttempts;
    assert.equal(aws.calls.filter((c) => c === 'FailureAlert').length, 1 + retries, `${retries} retries`);
  });

  it('still alerts when the failure email fails', async () => {
    const { aws, input } = shop();
    aws.inject('CheckLine', 'ResourceNotFoundException', 1);
    aws.inject('FailureEmail', 'BadRequestException', 10);
    const out = await run(aws, input);
    assert.equal(out.error, 'OrderFailed');
    assert.equal(aws.alerts.length, 1);
    assert.match(aws.alerts[0].message, /DynamoDb\.ResourceNotFoundException/);
  });

  it('fails an input missing a field before any call, leaving the order to the reconciler', async () => {
    const drop: [string, (input: any) => void][] = [
      ...['orderId', 'customerEmail', 'attempt', 'summary', 'subjects', 'lines'].map((f): [string, (i: any) => void] => [f, (i) => delete i[f]]),
      ...['shipping', 'rejected', 'failed'].map((f): [string, (i: any) => void] => [`subjects.${f}`, (i) => delete i.subjects[f]]),
      ['no lines', (i) => (i.lines = [])],
      ...['productId', 'quantity', 'line'].map((f): [string, (i: any) => void] => [`lines[1].${f}`, (i) => delete i.lines[1][f]]),
    ];
    for (const [what, change] of drop) {
      const aws = new FakeAws();
      product(aws, 'p1', 5);
      product(aws, 'p2', 5);
      const input = cart(aws, 'o1', [['p1', 1], ['p2', 1]]);
      change(input);
      const out = await run(aws, input);
      assert.equal(out.status, 'FAILED', what);
      assert.equal(out.error, 'InvalidInput', what);
      assert.deepEqual(aws.calls, [], what);
      assert.equal(status(aws, 'o1'), 'pending', what);
    }
  });

  it('ships a cart: every line reserved in one transaction, one email listing the lines', async () => {
    const aws = new FakeAws();
    product(aws, 'tea', 5);
    product(aws, 'cup', 2);
    product(aws, 'pot', 1);
    const input = cart(aws, 'o1', [['tea', 2], ['cup', 2], ['pot', 1]]);
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.equal(status(aws, 'o1'), 'shipping');
    assert.deepEqual(['tea', 'cup', 'pot'].map((p) => stock(aws, p)), [3, 0, 0]);
    assert.equal(aws.calls.filter((c) => c === 'ReserveStock').length, 1, 'one transaction for the whole cart');
    assert.equal(aws.calls.filter((c) => c === 'CheckLine').length, 3, 'one read per line');
    quiet(aws, ['Your order of 3 products is now shipping']);
    assert.equal(aws.emails[0].body, 'Good news: your order o1 of 2 x tea, 2 x cup, 1 x pot is now shipping.');
  });

  it('rejects a whole cart when one line is short, withdrawn or gone, moving no stock and naming the lines', async () => {
    for (const change of ['short', 'withdrawn', 'deleted']) {
      const aws = new FakeAws();
      product(aws, 'tea', 5);
      product(aws, 'cup', 5);
      if (change === 'short') product(aws, 'pot', 1);
      if (change === 'withdrawn') product(aws, 'pot', 5, false);
      const input = cart(aws, 'o1', [['tea', 2], ['pot', 2], ['cup', 1]]);
      const out = await run(aws, input);
      assert.equal(out.status, 'SUCCEEDED', change);
      assert.equal(status(aws, 'o1'), 'rejected', change);
      assert.equal(stock(aws, 'tea'), 5, change);
      assert.equal(stock(aws, 'cup'), 5, change);
      assert.ok(!aws.calls.includes('ReserveStock'), change);
      quiet(aws, ['Your order of 3 products could not be reserved']);
      assert.equal(aws.emails[0].body, 'Sorry, we could not reserve your order o1 (2 x tea, 2 x pot, 1 x cup). Not enough stock for: ["2 x pot"]. You have not been charged.');
    }
  });

  it('rejects a cart, not half of it, when the stock of one line is taken between the check and the transaction', async () => {
    const aws = new FakeAws();
    product(aws, 'tea', 5);
    product(aws, 'cup', 5);
    const input = cart(aws, 'o1', [['tea', 2], ['cup', 3]]);
    aws.after('CheckLine', () => product(aws, 'cup', 2));
    const out = await run(aws, input);
    assert.equal(out.status, 'SUCCEEDED');
    assert.ok(out.path.includes('ReadOrder'), 'the transaction was cancelled');
    assert.equal(status(aws, 'o1'), 'rejected');
    assert.equal(stock(aws, 'tea'), 5, 'the line that had enough did not move either');
    assert.equal(stock(aws, 'cup'), 2);
  });

  it('fails a cart order when a line read keeps being throttled, moving no stock', async () => {
    const aws = new FakeAws();
    product(aws, 'tea', 5);
    product(aws, 'cup', 5);
    const input = cart(aws, 'o1', [['tea', 1], ['cup', 1]]);
    aws.inject('CheckLine', 'ThrottlingException', 100);
    const out = await run(aws, input);
    assert.equal(out.error, 'OrderFailed');
    assert.equal(status(aws, 'o1'), 'failed');
    assert.deepEqual(subjects(aws), ['Your order of 2 products could not be processed']);
    assert.match(aws.alerts[0].message, /^Order o1 failed: DynamoDb\.ThrottlingException/);
    assert.equal(stock(aws, 'tea') + stock(aws, 'cup'), 10);
  });

  it('moves stock once and sends one shipping email when one order runs three times (at-least-once Express)', async () => {
    for (const concurrent of [false, true]) {
      const { aws, input } = shop();
      // At once, the transactions overlap as DynamoDB's do: one commits, the others meet a conflict.
      aws.transactionMs = 5;
      const ids = ['a', 'b', 'c'].map((n) => executionArn(`o1-${n}-${concurrent}`));
      const outs: Outcome[] = concurrent
        ? await Promise.all(ids.map((executionId) => run(aws, input, { executionId })))
        : await ids.reduce<Promise<Outcome[]>>(async (acc, executionId) => [...(await acc), await run(aws, input, { executionId })], Promise.resolve([]));
      assert.ok(outs.every((o) => o.status === 'SUCCEEDED'), `concurrent=${concurrent}`);
      if (concurrent) assert.ok(aws.conflicts > 0, 'the executions at once never overlapped');
      assert.equal(stock(aws, 'p1'), 3, `concurrent=${concurrent}`);
      quiet(aws, ['gucci now shipping']);
      assert.ok(ids.includes(decidedBy(aws, 'o1') ?? ''));
    }
  });

  it('moves every line once and sends one email when one cart runs three times at once (at-least-once Express)', async () => {
    const aws = new FakeAws();
    product(aws, 'tea', 5);
    product(aws, 'cup', 5);
    const input = cart(aws, 'o1', [['tea', 2], ['cup', 3]]);
    aws.transactionMs = 5;
    const ids = ['a', 'b', 'c'].map((n) => executionArn(`cart-${n}`));
    const outs = await Promise.all(ids.map((executionId) => run(aws, input, { executionId })));
    assert.ok(outs.every((o) => o.status === 'SUCCEEDED'));
    assert.deepEqual([stock(aws, 'tea'), stock(aws, 'cup')], [3, 2]);
    quiet(aws, ['Your order of 2 products is now shipping']);
    assert.ok(ids.includes(decidedBy(aws, 'o1') ?? ''));
  });

  it('rejects once when one short order runs three times', async () => {
    const { aws, input } = shop();
    product(aws, 'p1', 1);
    for (const n of ['a', 'b', 'c']) await run(aws, input, { executionId: executionArn(`r-${n}`) });
    assert.equal(status(aws, 'o1'), 'rejected');
    quiet(aws, ['gucci is out of stock']);
  });

  it('ends a flash sale right: 40 orders racing for 15 units on one hot item ship or reject, stock exact', async () => {
    const aws = new FakeAws();
    // Every transaction holds the product for 5 ms of real time; one workflow second lasts 40 ms,
    // so a transaction takes an eighth of a second: far more contention than DynamoDB's ~10 ms.
    aws.transactionMs = 5;
    product(aws, 'hot', 15);
    const inputs = Array.from({ length: 40 }, (_, i) => order(aws, `o${i}`, 'hot', 1));
    const started = Date.now();
    const { all, redrives } = await race(aws, inputs);
    const statuses = inputs.map((i) => status(aws, String(i.orderId)));
    const count = (s: string) => statuses.filter((x) => x === s).length;
    const conflicts = all.reduce((n, o) => n + o.waits.length, 0);
    const summary = `shipping ${count('shipping')}, rejected ${count('rejected')}, pending ${count('pending')}, failed ${count('failed')}, stock ${stock(aws, 'hot')}, backoffs ${conflicts}, re-drives ${redrives}, ${Date.now() - started} ms`;
    console.log(`flash sale: ${summary}`);
    assert.equal(count('shipping'), 15, summary);
    assert.equal(count('rejected'), 25, summary);
    assert.equal(stock(aws, 'hot'), 0, summary);
    assert.ok(all.every((o) => o.status === 'SUCCEEDED'), summary);
    assert.ok(conflicts > 0, 'the model produced no contention');
    assert.equal(aws.emails.filter((e) => e.subject === 'gucci now shipping').length, 15);
    assert.equal(aws.emails.filter((e) => e.subject === 'gucci is out of stock').length, 25);
    assert.deepEqual(aws.alerts, []);
  });

  it('ends a rush of overlapping carts right: 30 carts of 3 lines over 5 scarce products, all or nothing, stock exact', async () => {
    const aws = new FakeAws();
    aws.transactionMs = 5;
    const start: Record<string, number> = { a: 6, b: 5, c: 4, d: 6, e: 3 };
    for (const [p, n] of Object.entries(start)) product(aws, p, n, true, p);
    const ids = Object.keys(start);
    // Deterministic carts: three distinct products each, quantities 1-2.
    const carts = Array.from({ length: 30 }, (_, i) => {
      const lines: [string, number][] = [0, 1, 2].map((k) => [ids[(i + k * 2) % 5], 1 + ((i + k) % 2)]);
      return { id: `c${i}`, lines, input: cart(aws, `c${i}`, lines) };
    });
    const { all } = await race(aws, carts.map((c) => c.input));
    const shipped = carts.filter((c) => status(aws, c.id) === 'shipping');
    const rejected = carts.filter((c) => status(aws, c.id) === 'rejected');
    const summary = `shipping ${shipped.length}, rejected ${rejected.length}, stock ${ids.map((p) => `${p}=${stock(aws, p)}`).join(' ')}, backoffs ${all.reduce((n, o) => n + o.waits.length, 0)}`;
    console.log(`cart rush: ${summary}`);
    assert.equal(shipped.length + rejected.length, 30, summary);
    assert.ok(shipped.length > 0 && rejected.length > 0, summary);
    for (const p of ids) {
      const taken = shipped.flatMap((c) => c.lines).filter(([q]) => q === p).reduce((n, [, k]) => n + k, 0);
      assert.equal(stock(aws, p), start[p] - taken, `${p}: ${summary}`);
      assert.ok(stock(aws, p) >= 0, `${p} oversold: ${summary}`);
    }
    // Stock only goes down, so a cart rejected on the data is still short of some line at the end.
    for (const c of rejected) assert.ok(c.lines.some(([p, q]) => stock(aws, p) < q), `${c.id} was rejected but could ship: ${summary}`);
    assert.equal(aws.emails.length, 30);
    assert.deepEqual(aws.alerts, []);
  });

  it('says that a model run whose executions timed out was the machine, not the workflow', () => {
    const outcome = (status: Outcome['status']): Outcome => ({ status, path: [], waits: [] });
    assert.throws(() => timedOutMeansTooSlow([outcome('SUCCEEDED'), outcome('TIMED_OUT')], 300), /1 of 2 .*12 s of real time.*not a logic failure/);
    assert.doesNotThrow(() => timedOutMeansTooSlow([outcome('SUCCEEDED'), outcome('FAILED')], 300));
  });

  it('never asks the interpreter for IsPresent: false, which aws-local-stepfunctions 3.0.0 never matches', () => {
    const text = JSON.stringify(definition());
    assert.ok(!/"IsPresent":false/.test(text), 'use Not + IsPresent: true');
  });

  it('names only the substituted resources', () => {
    const text = JSON.stringify(definition());
    for (const v of [TABLES.products, TABLES.orders, SENDER, ALERTS]) assert.ok(text.includes(v));
  });

});

/** The flash-sale models' clock: one workflow second lasts this many milliseconds. */
const MS_PER_WORKFLOW_SECOND = 40;

/**
 * Runs every input's execution at once, as the queue and the reconciler would: a new execution
 * while its order is still pending (at most 3 re-drives). An execution that outlives the workflow's
 * TimeoutSeconds on the scaled clock says the machine was too busy for the model, not that the
 * workflow is wrong, and the test says exactly that before any assertion on the outcome.
 */
async function race(aws: FakeAws, inputs: Record<string, unknown>[]): Promise<{ all: Outcome[]; redrives: number }> {
  let redrives = 0;
  const one = async (input: Record<string, unknown>): Promise<Outcome[]> => {
    const outs: Outcome[] = [];
    for (let round = 0; round <= 3; round++) {
      outs.push(await run(aws, input, { executionId: executionArn(), msPerSecond: MS_PER_WORKFLOW_SECOND }));
      if (status(aws, String(input.orderId)) !== 'pending') break;
      redrives += 1;
    }
    return outs;
  };
  const all = (await Promise.all(inputs.map(one))).flat();
  timedOutMeansTooSlow(all, definition().TimeoutSeconds as number);
  return { all, redrives };
}

/** Fails with the machine, not the workflow, as the reason when any execution timed out. */
function timedOutMeansTooSlow(all: Outcome[], timeoutSeconds: number): void {
  const late = all.filter((o) => o.status === 'TIMED_OUT').length;
  if (late === 0) return;
  const real = (timeoutSeconds * MS_PER_WORKFLOW_SECOND) / 1000;
  assert.fail(
    `${late} of ${all.length} executions outlived the workflow's ${timeoutSeconds} s at ${MS_PER_WORKFLOW_SECOND} ms per ` +
      `workflow second (${real} s of real time): the machine was too loaded for this timing model. This is not a ` +
      'logic failure of the workflow; rerun it on a quieter machine.',
  );
}

/** The end of each attempt's jitter range, from the workflow's PlanBackoff. */
function backoffEnds(): number[] {
  const plan: string = definition().States.PlanBackoff.Parameters['seconds.$'];
  return (plan.match(/States\.Array\(([^)]*)\)/)?.[1] ?? '').split(',').map(Number);
}

describe('the fake DynamoDB the workflow meets', () => {
  const update = (changes: Record<string, unknown>) => ({
    TableName: 'orders',
    Key: { id: { S: 'o1' } },
    UpdateExpression: 'SET #s = :to',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':to': { S: 'shipping' } },
    ...changes,
  });
  /** The error an optimized updateItem task gets for `req`, or "ok". */
  async function answer(req: unknown, resource = 'arn:aws:states:::dynamodb:updateItem'): Promise<string> {
    const aws = new FakeAws();
    aws.put('orders', { id: { S: 'o1' }, status: { S: 'pending' } });
    try {
      await aws.handler('Write', resource)(req);
      return 'ok';
    } catch (e) {
      return (e as Error).name;
    }
  }

  it('accepts a well-formed write', async () => {
    assert.equal(await answer(update({})), 'ok');
  });

  it('refuses what DynamoDB refuses, with the prefix the ASL catchers match', async () => {
    const refused = 'DynamoDB.ValidationException';
    // An expression name or value no expression uses.
    assert.equal(await answer(update({ ExpressionAttributeNames: { '#s': 'status', '#x': 'extra' } })), refused);
    assert.equal(await answer(update({ ExpressionAttributeValues: { ':to': { S: 'shipping' }, ':x': { S: 'x' } } })), refused);
    // A reserved word as a bare attribute name.
    assert.equal(await answer(update({ UpdateExpression: 'SET status = :to', ExpressionAttributeNames: undefined })), refused);
    // A key that is not the table's, a number that is not one.
    assert.equal(await answer(update({ Key: { id: { S: 'o1' }, createdAt: { S: 't' } } })), refused);
    assert.equal(await answer(update({ Key: { orderId: { S: 'o1' } } })), refused);
    assert.equal(await answer(update({ UpdateExpression: 'SET #s = :to, n = :n', ExpressionAttributeValues: { ':to': { S: 's' }, ':n': { N: 'two' } } })), refused);
    // A syntax error.
    assert.equal(await answer(update({ UpdateExpression: 'SET #s = = :to' })), refused);
    // Through an aws-sdk integration the prefix is DynamoDb.
    const tx = { TransactItems: [{ Update: update({ ExpressionAttributeNames: { '#s': 'status', '#x': 'extra' } }) }] };
    assert.equal(await answer(tx, 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems'), 'DynamoDb.ValidationException');
  });
});

describe('the error names the workflow retries and catches', () => {
  it('are Step Functions names as AWS documents them: States.*, or Service.ErrorNameException with the prefix of the Task integration', () => {
    // Step Functions developer guide: an AWS SDK integration raises `ServiceName.ErrorName` in
    // PascalCase, always with the `Exception` suffix even where the service's API reference omits
    // it ("Learning to use AWS service SDK integrations"); DynamoDB's prefix is `DynamoDb` through
    // the SDK integration and `DynamoDB` through the optimized one ("Call DynamoDB APIs").
    const prefixOf = (resource: string): string | undefined => {
      const [, sdk, service] = resource.match(/^arn:aws:states:::(aws-sdk:)?([a-z0-9]+):/) ?? [];
      if (service === 'dynamodb') return sdk ? 'DynamoDb' : 'DynamoDB';
      return { sesv2: 'SesV2', sns: 'SNS' }[service ?? ''];
    };
    const wrong: string[] = [];
    const visit = (all: Record<string, any>) => {
      for (const [name, state] of Object.entries(all)) {
        const inner = state.ItemProcessor ?? state.Iterator;
        if (inner) visit(inner.States);
        if (state.Type !== 'Task') continue;
        const prefix = prefixOf(state.Resource);
        for (const rule of [...(state.Retry ?? []), ...(state.Catch ?? [])]) {
          for (const error of rule.ErrorEquals as string[]) {
            if (error.startsWith('States.')) continue;
            if (!new RegExp(`^${prefix}\\.[A-Z][A-Za-z0-9]*Exception$`).test(error)) wrong.push(`${name}: ${error} (expected ${prefix}.<Name>Exception)`);
          }
        }
      }
    };
    visit(definition().States);
    assert.deepEqual(wrong, []);
  });
});
