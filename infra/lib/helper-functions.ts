/**
 * The Lambda functions CDK adds on its own (the S3 bucket-notification handler, the auto-delete
 * provider of dev buckets) log to `/aws/lambda/<name>`, which Lambda would create without
 * retention. Each gets that log group explicitly, with the stage's retention, created before the
 * custom resources that invoke it; the serverless rules it cannot meet (it is CDK's code) are
 * acknowledged here with the reason.
 */
import { CfnResource, Fn, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { StageConfig } from './config.js';
import { lintAck, nagAck } from './lint.js';
import { removalPolicy } from './removal.js';
import { PreTrafficHook } from './pre-traffic-hook.js';
import { RustFunction } from './rust-function.js';

const INVOKERS = ['Custom::S3BucketNotifications', 'Custom::S3AutoDeleteObjects'];

export function expireHelperLogs(stack: Stack, config: StageConfig): void {
  const all = stack.node.findAll();
  const ours = new Set(
    all
      .filter((c) => c instanceof RustFunction || c instanceof PreTrafficHook)
      .map((c) => (c as RustFunction | PreTrafficHook).fn.node.defaultChild),
  );
  const helpers = all.filter(
    (c): c is CfnResource => c instanceof CfnResource && c.cfnResourceType === 'AWS::Lambda::Function' && !ours.has(c) && !(c instanceof lambda.CfnFunction && ours.has(c)),
  );
  const invokers = all.filter((c): c is CfnResource => c instanceof CfnResource && INVOKERS.includes(c.cfnResourceType));
  for (const [i, helper] of helpers.entries()) {
    const group = new logs.CfnLogGroup(stack, `HelperLogs${i}`, {
      logGroupName: Fn.join('', ['/aws/lambda/', helper.ref]),
      retentionInDays: config.logRetentionDays,
    });
    group.applyRemovalPolicy(removalPolicy(config, 'empty-at-create'));
    for (const invoker of invokers) invoker.addResourceDependency(group);
    lintAck(helper, ['WS1000', 'ES1005', 'WS1004'], 'CDK\'s own deploy-time helper: no tracing or memory setting to give it; its log group is declared beside it with the stage retention.');
    nagAck(helper, 'Serverless-LambdaDLQ', 'CDK\'s own deploy-time helper, invoked by CloudFormation custom resources, which report its failure on the deploy.');
  }
}

/**
 * The serverless rule ES1007 compares an async permission's `FunctionName` with the
 * EventInvokeConfig's literally, and CDK writes one as `GetAtt Arn` and the other as `Ref`: it
 * reports every such pair. Acknowledge the permissions whose function does have an on-failure
 * destination (a CDK assertion test checks the same fact with both forms understood).
 */
export function ackAsyncPermissions(stack: Stack): void {
  const all = stack.node.findAll();
  const withDestination = new Set(
    all
      .filter((c): c is lambda.CfnEventInvokeConfig => c instanceof lambda.CfnEventInvokeConfig)
      .filter((c) => stack.resolve(c.destinationConfig)?.onFailure?.destination)
      .map((c) => JSON.stringify(stack.resolve(c.functionName))),
  );
  // Triggers invoke a function's `live` alias: its permission names the alias, whose function holds the config.
  const aliasOf = new Map(
    all
      .filter((c): c is lambda.CfnAlias => c instanceof lambda.CfnAlias)
      .map((a) => [stack.getLogicalId(a), stack.resolve(a.functionName)?.Ref as string | undefined]),
  );
  for (const p of all.filter((c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission)) {
    const fn = stack.resolve(p.functionName);
    const logical = fn?.['Fn::GetAtt']?.[0] ?? aliasOf.get(fn?.Ref);
    if (logical && withDestination.has(JSON.stringify({ Ref: logical }))) {
      lintAck(p, ['ES1007'], 'The function has an EventInvokeConfig with an on-failure destination (written with Ref, this permission with GetAtt).');
    }
  }
}
