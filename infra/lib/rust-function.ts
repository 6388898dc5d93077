/** The pieces every service stack shares: the Rust function factory, least-privilege grants and alarms. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CfnElement, CfnParameter, CfnRule, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { ImageBucket, Place } from './image-bucket.js';
import { REPO_ROOT, ServiceDecl, binaryName } from './declaration.js';
import { lintAck, nagAck } from './lint.js';
import { removalPolicy } from './removal.js';

export interface RustFunctionProps {
  readonly config: StageConfig;
  readonly service: ServiceDecl;
  readonly name: string;
  readonly environment: Record<string, string>;
  readonly alarms: sns.ITopic;
  readonly timeout?: Duration;
}

/**
 * Zip of a service binary. Every function of a service points at the same zip, so CDK uploads one
 * asset per service. When the zip has not been built, a stand-in takes its place so that every CDK
 * command that only synthesizes (`list`, `diff`, `synth`, `bootstrap`, `destroy`, `flags`) works
 * without a Rust build; the stack then carries a rule that CloudFormation checks before it
 * changes anything, so `cdk deploy` stops at once, naming the missing zip, and no stand-in ever
 * reaches a stage.
 */
function code(scope: Construct, config: StageConfig, binary: string): lambda.Code {
  const zip = resolve(REPO_ROOT, config.codeDir, `${binary}.zip`);
  if (existsSync(zip)) return lambda.Code.fromAsset(zip);
  refuseDeploy(Stack.of(scope), `${config.codeDir}/${binary}.zip is missing: run "bash scripts/build-lambdas.sh ${config.stage}", then deploy again`);
  return lambda.Code.fromAsset(join(REPO_ROOT, 'infra', 'placeholder-code'));
}

/** The id of the rule a stack with stand-in code carries. */
export const PLACEHOLDER_RULE = 'NoPlaceholderCode';

/**
 * Makes `stack` undeployable: a template rule (checked by CloudFormation when a change set or a
 * stack operation is created, before any resource changes) whose assertion cannot hold unless the
 * operator explicitly overrides the parameter, with `why` as its message.
 */
function refuseDeploy(stack: Stack, why: string): void {
  const existing = stack.node.tryFindChild(PLACEHOLDER_RULE) as CfnRule | undefined;
  if (existing) {
    existing.addAssertion(Fn.conditionEquals(Fn.ref('PlaceholderCode'), 'replaced'), why);
    return;
  }
  new CfnParameter(stack, 'PlaceholderCode', {
    type: 'String',
    default: 'present',
    description: 'Synthesized without built Lambda code: this template must not be deployed.',
  });
  new CfnRule(stack, PLACEHOLDER_RULE, {
    assertions: [{ assert: Fn.conditionEquals(Fn.ref('PlaceholderCode'), 'replaced'), assertDescription: why }],
  });
}

/** CodeDeploy's traffic shift for each stage's `delivery` (none for all-at-once). */
const SHIFT: Record<StageConfig['delivery'], codedeploy.ILambdaDeploymentConfig | undefined> = {
  'all-at-once': undefined,
  linear: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  canary: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
};

/**
 * One Lambda per declared handler: provided.al2023, the stage's architecture and memory, X-Ray,
 * a log group with retention, its own role with nothing but what `allow` adds, and alarms on
 * errors and throttles. Every trigger invokes `live`, an alias of the latest published version;
 * where the stage's delivery shifts traffic, a CodeDeploy deployment group moves `live` to a new
 * version by the stage's rule and rolls it back when this function's own alarms fire.
 */
export class RustFunction extends Construct {
  readonly fn: lambda.Function;
  /** What every route, queue, stream, bucket notification and schedule invokes. */
  readonly live: lambda.Alias;
  /** Staging and prod: the traffic shift of `live`, with this function's alarms. */
  readonly deployment?: codedeploy.LambdaDeploymentGroup;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);
    const { config } = props;
    const binary = binaryName(props.service);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicy(config, 'empty-at-create'),
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.service.name}/${props.name}: only the actions this handler uses`,
    });
    this.fn = new lambda.Function(this, 'Function', {
      description: `${props.service.name}/${props.name}`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: config.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      // provided.al2023 passes this to the binary as `_HANDLER`: the function it serves.
      handler: props.name,
      code: code(this, config, binary),
      memorySize: config.memoryMb,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      environment: { RUST_LOG: 'info', ...props.environment },
      // A replaced version is deleted once the alias has moved on: old versions are pruned.
      currentVersionOptions: { removalPolicy: RemovalPolicy.DESTROY },
    });
    this.live = new lambda.Alias(this, 'Live', { aliasName: 'live', version: this.fn.currentVersion });
    // Logs and traces: scoped to this function's log group; X-Ray has no resource-level permissions.
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.logGroupArn}:*`] }),
    );
    nagAck(role, `AwsSolutions-IAM5[Resource::<${logicalId(logGroup)}.Arn>:*]`, 'Lambda names its log streams; the grant is limited to this function\'s own log group.');
    nagAck(role, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing: xray:PutTraceSegments and PutTelemetryRecords support no resource scoping.');
    lintAck(this.fn, ['WS1004'], 'The function logs to its own log group (LoggingConfig) with the stage retention; the rule only knows /aws/lambda/<name> groups.');
    const errors = alarm(this, 'Errors', this.fn.metricErrors({ period: Duration.minutes(5) }), props.alarms);
    alarm(this, 'Throttles', this.fn.metricThrottles({ period: Duration.minutes(5) }), props.alarms);
    const shift = SHIFT[config.delivery];
    if (shift) {
      this.deployment = new codedeploy.LambdaDeploymentGroup(this, 'Deployment', {
        alias: this.live,
        deploymentConfig: shift,
        // Only this function's alarms (its errors; the API adds its routes' 5xx): one noisy
        // function cannot hold back another's hotfix.
        alarms: [errors],
        autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      });
      nagAck(this.deployment.role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]', 'CodeDeploy\'s own managed policy for Lambda deployments (shift an alias, read the hooks\' results); scoped by AWS to what a Lambda deployment needs.');
    }
  }

  /** Grants exactly `actions` on `resources`. */
  allow(actions: string[], resources: string[]): this {
    this.fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    return this;
  }

  /**
   * Grants `actions` on the objects of one place of an image bucket (keys are generated per
   * request, `<place>/<id>/<fileName>`, so the resource is the place's prefix).
   */
  allowObjects(actions: string[], images: ImageBucket, place: Place): this {
    this.allow(actions, [images.objects(place)]);
    nagAck(this.fn.role!, `AwsSolutions-IAM5[Resource::<${logicalId(images.bucket)}.Arn>/${place}/*]`, `Object keys are generated per request (${place}/<id>/<fileName>): ${actions.join(', ')} on that prefix of this bucket only.`);
    return this;
  }

  /** Presigned uploads: the function signs PUTs under `uploads/` with its role. */
  allowUploadsTo(images: ImageBucket): this {
    return this.allowObjects(['s3:PutObject'], images, 'uploads');
  }

  /**
   * The image handler: reads the head of an upload and deletes a bad one, copies a good one to
   * `to` (CopyObject reads the source and writes the target).
   */
  allowChecking(images: ImageBucket, to: Place): this {
    return this.allowObjects(['s3:GetObject', 's3:DeleteObject'], images, 'uploads').allowObjects(['s3:PutObject'], images, to);
  }
}

/** An alarm that fires when `metric` reaches 1 in one period, notifying `topic`. */
export function alarm(scope: Construct, id: string, metric: cloudwatch.IMetric, topic: sns.ITopic): cloudwatch.Alarm {
  const a = new cloudwatch.Alarm(scope, `${id}Alarm`, {
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  a.addAlarmAction(new actions.SnsAction(topic));
  return a;
}

/** The CloudFormation logical id of a construct's resource (as cdk-nag names it in findings). */
export function logicalId(c: Construct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
}

/** ARN of an index of a table (for Query permissions). */
export function indexArn(tableArn: string, index: string): string {
  return `${tableArn}/index/${index}`;
}

/**
 * ARNs of the SES identities that `ses:SendEmail` is authorized against for our sender: the
 * verifying identity (a domain, or the address) and the address itself, so that the grant holds
 * whichever of the two SES evaluates; and, for an account still in the SES sandbox, the verified
 * recipient identities (`sesSandboxRecipients`), which SES checks there too.
 */
export function sesIdentityArns(scope: Construct, config: StageConfig): string[] {
  return [...new Set([config.sesIdentity, config.sesSender, ...config.sesSandboxRecipients])].map((name) =>
    Stack.of(scope).formatArn({ service: 'ses', resource: 'identity', resourceName: name }),
  );
}
