/**
 * Runs the real `stepfunctions/order-processing.asl.json` in aws-local-stepfunctions (AWS
 * semantics: a missing JSONPath is an uncatchable States.Runtime), every Task answered by
 * {@link FakeAws} by its Resource, retries without their pauses, and the BackOff waits either
 * skipped or really taken (the flash-sale model).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../lib/declaration.js';
import { allStates } from './asl.js';
import { FakeAws } from './fake-aws.js';

// aws-local-stepfunctions 3.0.0 uses Promise.withResolvers (Node 22); Node 20 lacks it.
const P = Promise as unknown as { withResolvers?: () => unknown };
if (!P.withResolvers) {
  P.withResolvers = () => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');

// The interpreter seeds each States.MathRandom with Date.now(): executions that reach their backoff
// in the same millisecond would draw the same "jitter", which AWS's never do. Every reading of
// the clock here is distinct (strictly increasing), so every draw has its own seed.
const wallClock = Date.now;
let lastNow = 0;
Date.now = () => (lastNow = Math.max(wallClock(), lastNow + 1));

export const TABLES = { products: 'Products', orders: 'Orders' };
export const SENDER = 'orders@shop.test';
/** Stand-in region and account of the fake AWS: no real deployment's values. */
const REGION = 'test-region-1';
const ACCOUNT = 'test-account';
export const ALERTS = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;

/** The ASL file as CDK deploys it, with its `${...}` substitutions filled. */
export function definition(): any {
  const raw = readFileSync(join(REPO_ROOT, 'stepfunctions', 'order-processing.asl.json'), 'utf8');
  const filled = raw
    .replaceAll('${ProductsTable}', TABLES.products)
    .replaceAll('${OrdersTable}', TABLES.orders)
    .replaceAll('${Sender}', SENDER)
    .replaceAll('${AlertsTopicArn}', ALERTS);
  if (filled.includes('${')) throw new Error('a substitution has no value');
  return JSON.parse(filled);
}

export interface Outcome {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  /** The error that failed the execution (`OrderFailed`, `States.Runtime`, `SNS.…`). */
  error?: string;
  /** States entered, in order. */
  path: string[];
  /** Seconds each BackOff wait was planned for. */
  waits: number[];
}

export interface RunOptions {
  /** The execution's ARN (`$$.Execution.Id`): distinct per execution, as on AWS. */
  executionId: string;
  /** Take BackOff waits for real, scaled: 1 s of workflow time lasts this many ms. Default: no wait. */
  msPerSecond?: number;
}

let sequence = 0;
export const executionArn = (name = `exec-${++sequence}`) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:order-processing:${name}`;

export async function run(aws: FakeAws, input: Record<string, unknown>, opts: RunOptions = { executionId: executionArn() }): Promise<Outcome> {
  const def = definition();
  const tasks: Record<string, (input: any) => Promise<unknown>> = {};
  const noPause: Record<string, number> = {};
  for (const [name, state] of allStates(def)) {
    if (state.Type === 'Task') {
      tasks[name] = aws.handler(name, state.Resource);
      noPause[name] = 0;
    }
  }
  const path: string[] = [];
  const waits: number[] = [];
  const machine = new StateMachine(def, { validationOptions: { checkArn: true, checkPaths: true } });
  const scale = opts.msPerSecond;
  // The interpreter's context is fixed per run; EnteredTime only feeds `updatedAt`.
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: tasks as never,
      retryIntervalOverrides: noPause,
      // Seconds are planned by the workflow itself (PlanBackoff); see them in `waits`.
      waitTimeOverrides: scale === undefined ? { BackOff: 0 } : {},
    },
    context: { Execution: { Id: opts.executionId }, State: { EnteredTime: new Date().toISOString() } },
  });
  const logging = (async () => {
    for await (const ev of execution.eventLogs as AsyncGenerator<any>) {
      if (ev.type !== 'StateEntered') continue;
      path.push(ev.state.name);
      if (ev.state.name === 'BackOff') waits.push(ev.state.input.backoff.seconds);
    }
  })();
  let outcome: Outcome;
  try {
    await withScaledWaits(scale, () => execution.result);
    await logging;
    outcome = { status: 'SUCCEEDED', path, waits };
  } catch (e: any) {
    await logging.catch(() => undefined);
    outcome = e?.name === 'ExecutionTimeoutError' ? { status: 'TIMED_OUT', path, waits } : { status: 'FAILED', error: e?.cause?.name ?? e?.name, path, waits };
  }
  const unreached = aws.unreached();
  if (unreached.length > 0) throw new Error(`injected into states no call reached: ${unreached.join('; ')}`);
  return outcome;
}

/**
 * The flash-sale model takes the workflow's whole-second waits for real, faster: while it runs,
 * timers of at least one second are scaled to `msPerSecond` per second. Everything on those timers
 * (Wait states, TimeoutSeconds) keeps its proportions.
 */
async function withScaledWaits<T>(msPerSecond: number | undefined, body: () => Promise<T>): Promise<T> {
  if (msPerSecond === undefined) return body();
  scaledRuns += 1;
  if (scaledRuns === 1) {
    const original = globalThis.setTimeout;
    restoreTimers = () => (globalThis.setTimeout = original);
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
      original(fn, ms !== undefined && ms >= 1000 ? (ms / 1000) * msPerSecond : ms, ...rest)) as typeof setTimeout;
  }
  try {
    return await body();
  } finally {
    scaledRuns -= 1;
    if (scaledRuns === 0) restoreTimers();
  }
}
let scaledRuns = 0;
let restoreTimers = () => {};
