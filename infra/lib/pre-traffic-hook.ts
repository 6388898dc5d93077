/**
 * A service's CodeDeploy BeforeAllowTraffic hook (`infra/hooks/pre-traffic.mjs`): before a new
 * version of any of the service's functions takes traffic, it is invoked once with a probe of its
 * own kind, and a failure rolls the deployment back. Only where the stage shifts traffic.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { StageConfig } from './config.js';
import { REPO_ROOT, ServiceDecl } from './declaration.js';
import { lintAck, nagAck } from './lint.js';
import { removalPolicy } from './removal.js';
import { logicalId, RustFunction } from './rust-function.js';

/** The probe of a declared function: its route, an empty batch, or its schedule's event. */
export function probeOf(f: ServiceDecl['functions'][number], api: ServiceDecl['api'] = 'http'): Record<string, string> {
  if (f.http) return { kind: 'http', method: f.http.method, path: f.http.path, api: api ?? 'http' };
  return f.schedule ? { kind: 'schedule' } : { kind: 'batch' };
}

export class PreTrafficHook extends Construct {
  readonly fn: lambda.Function;

  constructor(scope: Construct, id: string, config: StageConfig, service: ServiceDecl, fns: Record<string, RustFunction>) {
    super(scope, id);
    const shifted = service.functions.filter((f) => fns[f.name]?.deployment);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicy(config, 'empty-at-create'),
    });
    this.fn = new lambda.Function(this, 'Function', {
      description: `pre-traffic hook of the ${service.name} service`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: config.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      code: lambda.Code.fromAsset(join(REPO_ROOT, 'infra', 'hooks')),
      handler: 'pre-traffic.handler',
      memorySize: 256,
      // The slowest probe is a scheduled job's run (the reconciler: 60 s declared at most).
      timeout: Duration.seconds(90),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        PROBES: Stack.of(this).toJsonString(Object.fromEntries(shifted.map((f) => [fns[f.name].fn.functionName, probeOf(f, service.api)]))),
      },
    });
    for (const f of shifted) {
      const target = fns[f.name];
      // Any published version of this function (the deployment's target), never $LATEST.
      this.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [`${target.fn.functionArn}:*`] }));
      nagAck(this.fn.role!, `AwsSolutions-IAM5[Resource::<${logicalId(target.fn)}.Arn>:*]`, `Any published version of ${service.name}/${f.name} (the deployment's target version does not exist before the deployment).`);
      this.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['codedeploy:GetDeployment'], resources: [target.deployment!.deploymentGroupArn] }));
      target.deployment!.addPreHook(this.fn);
      nagAck(target.deployment!.role, `AwsSolutions-IAM5[Resource::<${logicalId(this.fn)}.Arn>:*]`, 'CodeDeploy invokes this service\'s hook function (any of its versions): CDK\'s grant for a pre-traffic hook.');
    }
    nagAck(this.fn.role!, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'Logs of the hook to its own group; the managed policy is CDK\'s default for a function role.');
    nagAck(this.fn.role!, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing: xray:PutTraceSegments and PutTelemetryRecords support no resource scoping.');
    nagAck(this.fn, 'Serverless-LambdaDLQ', 'CodeDeploy invokes the hook and waits for its report: a hook that never reports fails the deployment (rolled back), nothing is lost.');
    lintAck(this.fn, ['WS1004'], 'The hook logs to its own log group (LoggingConfig) with the stage retention; the rule only knows /aws/lambda/<name> groups.');
  }
}
