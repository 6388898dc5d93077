/**
 * What every service stack has: its functions (one per declared function, all served by the
 * service's one binary), its own API (HTTP, or REST behind a WAF: `rest-api.ts`), and,
 * for functions invoked asynchronously (S3 events, schedules), a queue that keeps what failed.
 */
import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { ServiceDecl, service } from './declaration.js';
import { ImageBucket } from './image-bucket.js';
import { lintAck, nagAck } from './lint.js';
import { removalPolicy } from './removal.js';
import { PreTrafficHook } from './pre-traffic-hook.js';
import { RestServiceApi } from './rest-api.js';
import { ServiceApi, ServiceApiProps } from './service-api.js';
import { alarm, RustFunction } from './rust-function.js';
import { SharedStack } from './shared-stack.js';

export interface ServiceStackProps extends StackProps {
  readonly config: StageConfig;
  readonly shared: SharedStack;
}

/** A declared schedule's rate: the stage value `<every>EveryMinutes` (`cleanup` -> `cleanupEveryMinutes`). */
export function everyMinutes(config: StageConfig, every: string): number {
  const minutes = (config as unknown as Record<string, unknown>)[`${every}EveryMinutes`];
  if (typeof minutes !== 'number' || !(minutes > 0)) throw new Error(`schedule "${every}" has no stage value ${every}EveryMinutes`);
  return minutes;
}

/**
 * Why a declared function has no dead-letter queue of its own (cdk-nag's Serverless-LambdaDLQ):
 * nothing it is invoked with can be lost without one.
 */
function noDlqReason(f: ServiceDecl['functions'][number]): string {
  if (f.s3 || f.schedule) return 'Invoked asynchronously: its EventInvokeConfig sends what fails every retry to the service\'s failure queue (an on-failure destination, which supersedes a DLQ).';
  if (f.http) return 'Invoked synchronously by API Gateway: a failure is answered to the caller, nothing is queued.';
  return 'Invoked by an event source mapping: the queue\'s redrive policy or the stream mapping\'s on-failure destination keeps what fails.';
}

export abstract class ServiceStack extends Stack {
  readonly decl: ServiceDecl;
  readonly fns: Record<string, RustFunction> = {};
  api?: ServiceApi | RestServiceApi;
  /** Staging and prod: the check of every new version before it takes traffic. */
  hook?: PreTrafficHook;
  /** Created with the first asynchronously invoked function; see [`failureQueue`]. */
  failures?: sqs.Queue;
  private stageConfig?: StageConfig;
  private alerts?: ServiceStackProps['shared']['alertsTopic'];

  constructor(scope: Construct, id: string, name: string, props: ServiceStackProps) {
    super(scope, id, props);
    this.decl = service(name);
  }

  /** Creates every declared function with the same environment, then the API over the HTTP ones. */
  protected functions(props: ServiceStackProps, environment: Record<string, string>, timeouts: Record<string, Duration> = {}): void {
    this.stageConfig = props.config;
    this.alerts = props.shared.alertsTopic;
    const { userPool } = props.shared;
    for (const f of this.decl.functions) {
      // A trigger of the user pool lives beside the pool (`SharedStack.triggers`).
      if (f.cognito) continue;
      // Admin routes: outside dev the handler also asks Cognito whether the admin has TOTP MFA on.
      const gated = f.http?.auth === 'admin' && props.config.adminMfaRequired;
      this.fns[f.name] = new RustFunction(this, f.name, {
        config: props.config,
        service: this.decl,
        name: f.name,
        environment: gated ? { ...environment, ADMIN_MFA_REQUIRED: 'true', USER_POOL_ID: userPool.userPoolId } : environment,
        alarms: props.shared.alertsTopic,
        timeout: timeouts[f.name] ?? (f.timeoutSeconds ? Duration.seconds(f.timeoutSeconds) : undefined),
      });
      if (gated) this.fns[f.name].allow(['cognito-idp:AdminGetUser'], [userPool.userPoolArn]);
      // S3 and EventBridge invoke asynchronously: after Lambda's two retries the event is kept
      // in the failure queue (alarm) instead of being dropped.
      if (f.s3 || f.schedule) {
        this.fns[f.name].live.configureAsyncInvoke({ retryAttempts: 2, onFailure: new destinations.SqsDestination(this.failureQueue()) });
      }
      if (f.schedule) this.schedule(f.name, everyMinutes(props.config, f.schedule.every));
      nagAck(this.fns[f.name].fn, 'Serverless-LambdaDLQ', noDlqReason(f));
    }
    if (this.decl.functions.some((f) => this.fns[f.name]?.deployment)) {
      this.hook = new PreTrafficHook(this, 'PreTraffic', props.config, this.decl, this.fns);
    }
    if (this.decl.functions.some((f) => f.http)) {
      const api: ServiceApiProps = {
        config: props.config,
        service: this.decl,
        handlers: this.fns,
        issuer: props.shared.issuer,
        userPoolClientId: props.shared.client.userPoolClientId,
        alarms: props.shared.alertsTopic,
      };
      this.api = this.decl.api === 'rest' ? new RestServiceApi(this, 'Rest', api) : new ServiceApi(this, 'Http', api);
    }
  }

  /** The function of a declared name (fails loudly if the declaration lacks it). */
  fn(name: string): RustFunction {
    const f = this.fns[name];
    if (!f) throw new Error(`${this.decl.name}/${name} is not declared`);
    return f;
  }

  /**
   * The queue where this service keeps asynchronous invocations that failed every attempt (and
   * schedule events EventBridge could not deliver), with an alarm on its depth. Retained with the
   * stage's data; re-driven with `shop-ops` (docs/operations.md, runbook).
   */
  failureQueue(): sqs.Queue {
    if (!this.failures) {
      const config = this.stageConfig;
      if (!config || !this.alerts) throw new Error('failureQueue() before functions()');
      this.failures = new sqs.Queue(this, 'AsyncFailures', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: removalPolicy(config, 'empty-at-create'),
      });
      nagAck(this.failures, 'AwsSolutions-SQS3', 'This queue is itself where failed events end; nothing consumes it automatically.');
      nagAck(this.failures, 'Serverless-SQSRedrivePolicy', 'This queue is itself where failed events end: it has no dead-letter queue of its own.');
      lintAck(this.failures, ['ES6000'], 'A failure queue is a dead end by design; operators read and re-drive it.');
      alarm(this, 'AsyncFailures', this.failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), this.alerts);
    }
    return this.failures;
  }

  /** Runs `name` every `minutes`; an event that cannot be delivered goes to the failure queue. */
  private schedule(name: string, minutes: number): void {
    new events.Rule(this, `Schedule-${name}`, {
      schedule: events.Schedule.rate(Duration.minutes(minutes)),
      targets: [new targets.LambdaFunction(this.fn(name).live, { retryAttempts: 2, deadLetterQueue: this.failureQueue() })],
    });
  }

  /**
   * The functions triggered by the source `name` of `kind` (the image bucket `images`, the queue
   * `orders`, the table stream `orders`), by binary. A trigger naming anything else is a mistake
   * in the declaration, reported at synth.
   */
  protected triggeredBy(kind: 's3' | 'sqs' | 'stream', name: string): string[] {
    const field = { s3: 'bucket', sqs: 'queue', stream: 'table' }[kind];
    return this.decl.functions
      .filter((f) => f[kind])
      .map((f) => {
        const named = (f[kind] as Record<string, string>)[field];
        if (named !== name) throw new Error(`${this.decl.name}/${f.name}: ${kind} trigger names ${field} "${named}"; this stack has "${name}"`);
        return f.name;
      });
  }

  /** Sends the image bucket's upload notifications to each function the declaration triggers by it. */
  protected notifyOnUploads(images: ImageBucket): void {
    for (const name of this.triggeredBy('s3', 'images')) {
      images.notify(new s3n.LambdaDestination(this.fn(name).live));
      // S3 answers a read of a missing object with 404 only to a role that may list the bucket,
      // with 403 to any other: a repeated event for a deleted upload is then a logged no-op,
      // not a failure that is retried, kept and paged (the local runner answers the same way).
      this.fn(name).allow(['s3:ListBucket'], [images.bucket.bucketArn]);
    }
  }
}
