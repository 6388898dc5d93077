/** The pre-traffic hook (infra/hooks/pre-traffic.mjs): a failing new version is reported Failed before any traffic moves. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Answer, check, Probe, probeEvent, targetOf } from '../hooks/pre-traffic.mjs';
import { loadDeclaration } from '../lib/declaration.js';
import { probeOf } from '../lib/pre-traffic-hook.js';

const appSpec = (name: string, version: string) => ({
  deploymentInfo: {
    revision: {
      appSpecContent: {
        content: JSON.stringify({ version: 0.0, Resources: [{ fn: { Type: 'AWS::Lambda::Function', Properties: { Name: name, Alias: 'live', CurrentVersion: '3', TargetVersion: version } } }] }),
      },
    },
  },
});
const payload = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** The hook against a fake AWS whose target version answers `answer`; what it reported, and what it sent. */
async function run(probe: Probe, answer: Answer | Error) {
  const reported: string[] = [];
  const sent: { name: string; version: string; event: any }[] = [];
  const status = await check(
    { DeploymentId: 'd-1', LifecycleEventHookExecutionId: 'h-1' },
    { 'shop-fn': probe },
    {
      getDeployment: async () => appSpec('shop-fn', '4'),
      invoke: async (name, version, body) => {
        sent.push({ name, version, event: JSON.parse(body) });
        if (answer instanceof Error) throw answer;
        return answer;
      },
      report: async (id, hook, s) => reported.push(`${id} ${hook} ${s}`),
    },
    { error: () => {} },
  );
  return { status, reported, sent };
}

describe('the pre-traffic hook', () => {
  const http: Probe = { kind: 'http', method: 'GET', path: '/orders/{id}' };

  it('passes a new version that answers its route below 500, probing that version and route', async () => {
    const r = await run(http, { Payload: payload({ statusCode: 401, body: '{}' }) });
    assert.equal(r.status, 'Succeeded');
    assert.deepEqual(r.reported, ['d-1 h-1 Succeeded']);
    assert.equal(r.sent[0].version, '4', 'the target version, not the live alias');
    assert.equal(r.sent[0].event.routeKey, 'GET /orders/{id}');
    assert.equal(r.sent[0].event.rawPath, '/orders/pre-traffic');
    assert.deepEqual(r.sent[0].event.pathParameters, { id: 'pre-traffic' });
  });

  it('fails a version that answers 5xx, errors, crashes at init, or cannot be invoked', async () => {
    for (const answer of [
      { Payload: payload({ statusCode: 503 }) },
      { FunctionError: 'Unhandled', Payload: payload({ errorType: 'Runtime.ExitError' }) },
      { Payload: payload('not a response') },
      new Error('AccessDenied'),
    ]) {
      const r = await run(http, answer);
      assert.equal(r.status, 'Failed', JSON.stringify(answer));
      assert.deepEqual(r.reported, ['d-1 h-1 Failed']);
    }
  });

  it('sends an empty batch to a queue, stream or bucket function, and fails it on a function error', async () => {
    const ok = await run({ kind: 'batch' }, { Payload: payload({ batchItemFailures: [] }) });
    assert.equal(ok.status, 'Succeeded');
    assert.deepEqual(ok.sent[0].event, { Records: [] });
    assert.equal((await run({ kind: 'batch' }, { FunctionError: 'Unhandled' })).status, 'Failed');
  });

  it('reports Failed when the deployment names a function it has no probe for', async () => {
    const reported: string[] = [];
    const status = await check(
      { DeploymentId: 'd', LifecycleEventHookExecutionId: 'h' },
      {},
      { getDeployment: async () => appSpec('other', '2'), invoke: async () => ({}), report: async (_d, _h, s) => reported.push(s) },
      { error: () => {} },
    );
    assert.equal(status, 'Failed');
    assert.deepEqual(reported, ['Failed']);
  });

  it('reads the target from a YAML AppSpec too', () => {
    const yaml = 'version: 0.0\nResources:\n  - fn:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: "shop-fn"\n        Alias: "live"\n        CurrentVersion: "3"\n        TargetVersion: "4"\n';
    assert.deepEqual(targetOf({ deploymentInfo: { revision: { appSpecContent: { content: yaml } } } }), { name: 'shop-fn', version: '4' });
  });

  it('probes every declared function by its kind: its route, an empty batch, or its schedule', () => {
    for (const svc of loadDeclaration()) {
      for (const f of svc.functions) {
        const probe = probeOf(f, svc.api) as Probe;
        const event = probeEvent(probe);
        // Behind a REST API the function gets payload 1.0, behind an HTTP API 2.0.
        if (f.http && svc.api === 'rest') assert.deepEqual([event.httpMethod, event.resource, event.version], [f.http.method, f.http.path, undefined]);
        else if (f.http) assert.equal(event.routeKey, `${f.http.method} ${f.http.path}`);
        else if (f.schedule) assert.equal(event['detail-type'], 'Scheduled Event');
        else assert.deepEqual(event, { Records: [] }, `${svc.name}/${f.name}`);
      }
    }
  });
});
