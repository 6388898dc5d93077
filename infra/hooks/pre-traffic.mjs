/**
 * CodeDeploy's BeforeAllowTraffic hook of a service's functions (staging and prod): before any
 * traffic moves to a new version, invoke that version once with a request it must answer and
 * report Succeeded or Failed. CodeDeploy rolls back on Failed; nothing reached a customer.
 *
 * - an API function gets a synthetic API Gateway request for its own route: any answer below 500
 *   passes (a protected route answers 401 without claims, a POST without a body 400: the binary
 *   started, read its configuration and routed);
 * - a queue, stream or bucket function gets an empty batch (`{"Records": []}`);
 * - a scheduled function gets a scheduled event: it runs its job once (every job is idempotent:
 *   cleanup, purge, reconcile).
 * A function error, an init failure or a 5xx fails the deployment.
 *
 * JavaScript, not Rust: this is deploy-time glue like CDK's own helpers, run by the Lambda Node.js
 * runtime with the AWS SDK it ships (nothing to bundle). PROBES maps each function name to its
 * probe: {"kind": "http", "method", "path", "api": "http" | "rest"} | {"kind": "batch"} | {"kind": "schedule"}.
 */

/** The function and version a Lambda deployment moves its alias to, from the deployment's AppSpec. */
export function targetOf(deployment) {
  const content = deployment?.deploymentInfo?.revision?.appSpecContent?.content ?? '';
  try {
    const props = Object.values(JSON.parse(content).Resources?.[0] ?? {})[0]?.Properties;
    if (props?.Name && props?.TargetVersion) return { name: String(props.Name), version: String(props.TargetVersion) };
  } catch {
    // YAML: read the two fields below.
  }
  const name = /(?:^|[\s{,"])Name"?\s*:\s*"?([^",\s}]+)/.exec(content)?.[1];
  const version = /"?TargetVersion"?\s*:\s*"?([^",\s}]+)/.exec(content)?.[1];
  if (!name || !version) throw new Error('the deployment names no target function and version');
  return { name, version };
}

/** The event the probe of a function sends. */
export function probeEvent(probe, now = new Date()) {
  if (probe.kind === 'batch') return { Records: [] };
  if (probe.kind === 'schedule') {
    return { version: '0', id: 'pre-traffic', 'detail-type': 'Scheduled Event', source: 'aws.events', time: now.toISOString(), resources: [], detail: {} };
  }
  const rawPath = probe.path.replace(/\{[^}]+\}/g, 'pre-traffic');
  const params = Object.fromEntries([...probe.path.matchAll(/\{([^}]+)\}/g)].map((m) => [m[1], 'pre-traffic']));
  if (probe.api === 'rest') {
    // A REST API's Lambda proxy event (payload 1.0), as the function gets it behind its REST API.
    return {
      resource: probe.path,
      path: rawPath,
      httpMethod: probe.method,
      headers: { 'content-type': 'application/json', 'user-agent': 'pre-traffic-hook' },
      multiValueHeaders: { 'content-type': ['application/json'], 'user-agent': ['pre-traffic-hook'] },
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: Object.keys(params).length ? params : null,
      stageVariables: null,
      requestContext: { resourcePath: probe.path, httpMethod: probe.method, stage: 'live', requestId: 'pre-traffic', requestTimeEpoch: now.getTime(), identity: { sourceIp: '127.0.0.1' } },
      body: probe.method === 'POST' ? '{}' : null,
      isBase64Encoded: false,
    };
  }
  return {
    version: '2.0',
    routeKey: `${probe.method} ${probe.path}`,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'user-agent': 'pre-traffic-hook' },
    ...(Object.keys(params).length ? { pathParameters: params } : {}),
    requestContext: {
      http: { method: probe.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'pre-traffic-hook' },
      routeKey: `${probe.method} ${probe.path}`,
      stage: '$default',
      requestId: 'pre-traffic',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(probe.method === 'POST' ? { body: '{}' } : {}),
    isBase64Encoded: false,
  };
}

/** Why an invocation's answer fails the probe, or null when it passes. */
export function verdict(probe, answer) {
  const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
  if (answer.FunctionError) return `function error ${answer.FunctionError}: ${text.slice(0, 300)}`;
  if (probe.kind !== 'http') return null;
  let status;
  try {
    status = JSON.parse(text).statusCode;
  } catch {
    return `not an API Gateway response: ${text.slice(0, 300)}`;
  }
  return typeof status === 'number' && status < 500 ? null : `answered ${status}`;
}

/**
 * Probes the deployment's target version and reports to CodeDeploy. `aws` holds `getDeployment`,
 * `invoke` and `report`; every path reports, an unexpected error as Failed.
 */
export async function check(event, probes, aws, log = console) {
  let status = 'Failed';
  try {
    const target = targetOf(await aws.getDeployment(event.DeploymentId));
    const probe = probes[target.name];
    if (!probe) throw new Error(`no probe for ${target.name}`);
    const answer = await aws.invoke(target.name, target.version, JSON.stringify(probeEvent(probe)));
    const why = verdict(probe, answer);
    if (why) log.error(JSON.stringify({ msg: 'pre-traffic probe failed', function: target.name, version: target.version, why }));
    else status = 'Succeeded';
  } catch (e) {
    log.error(JSON.stringify({ msg: 'pre-traffic hook failed', error: String(e?.message ?? e) }));
  }
  await aws.report(event.DeploymentId, event.LifecycleEventHookExecutionId, status);
  return status;
}

export async function handler(event) {
  const { CodeDeployClient, GetDeploymentCommand, PutLifecycleEventHookExecutionStatusCommand } = await import('@aws-sdk/client-codedeploy');
  const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
  const codedeploy = new CodeDeployClient({});
  const lambda = new LambdaClient({});
  return check(event, JSON.parse(process.env.PROBES ?? '{}'), {
    getDeployment: (deploymentId) => codedeploy.send(new GetDeploymentCommand({ deploymentId })),
    invoke: (name, version, payload) => lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: version, Payload: new TextEncoder().encode(payload) })),
    report: (deploymentId, lifecycleEventHookExecutionId, status) =>
      codedeploy.send(new PutLifecycleEventHookExecutionStatusCommand({ deploymentId, lifecycleEventHookExecutionId, status })),
  });
}
