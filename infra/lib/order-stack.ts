/** Order service: create-order, the queue (with DLQ), the consumer, the ASL workflow, the reconciler, order queries. */
import { join } from 'node:path';
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { REPO_ROOT, service } from './declaration.js';
import { lintAck, nagAck } from './lint.js';
import { removalPolicy } from './removal.js';
import { alarm, indexArn, sesIdentityArns } from './rust-function.js';
import { ServiceStack, ServiceStackProps } from './service-stack.js';
import { deadLetterQueue, table } from './resources.js';
import { metricsNamespace, type StageConfig } from './config.js';

export interface OrderStackProps extends ServiceStackProps {
  readonly products: dynamodb.ITableV2;
}

/** The consumer's declared timeout (`lambdas/services.json`); the queue's visibility timeout is six times it (AWS guidance). */
const CONSUMER_TIMEOUT = Duration.seconds(service('order').functions.find((f) => f.name === 'queue-consumer')?.timeoutSeconds ?? 10);

export class OrderStack extends ServiceStack {
  readonly orders: dynamodb.TableV2;
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
  readonly workflow: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: OrderStackProps) {
    super(scope, id, 'order', props);
    const { config, shared, products } = props;
    // The stream feeds the business metrics (status-changed): every acceptance and decision.
    const orders = (this.orders = table(this, 'Orders', config, 'orders'));
    // Kept with the stage's data: accepted orders that could not start may still be in it.
    const dlq = (this.dlq = deadLetterQueue(this, 'OrderDlq', config, 'the order queue', 're-driven by operators with shop-ops'));
    const queue = (this.queue = new sqs.Queue(this, 'OrderQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(CONSUMER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: dlq, maxReceiveCount: config.orderMaxReceives },
      // Orders in flight: kept with the stage's data (the table holds every order; the reconciler re-drives).
      removalPolicy: removalPolicy(config, 'empty-at-create'),
    }));

    const workflowLogs = new logs.LogGroup(this, 'WorkflowLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicy(config, 'empty-at-create'),
    });
    const workflow = (this.workflow = new sfn.StateMachine(this, 'OrderProcessing', {
      definitionBody: sfn.DefinitionBody.fromFile(join(REPO_ROOT, 'stepfunctions', 'order-processing.asl.json')),
      definitionSubstitutions: {
        ProductsTable: products.tableName,
        OrdersTable: orders.tableName,
        Sender: config.sesSender,
        AlertsTopicArn: shared.alertsTopic.topicArn,
      },
      stateMachineType: config.workflowType === 'EXPRESS' ? sfn.StateMachineType.EXPRESS : sfn.StateMachineType.STANDARD,
      // Execution data holds customer emails: the logs carry states and errors only. ERROR keeps
      // Express's per-execution log cost to the executions that need a look.
      logs: { destination: workflowLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
      tracingEnabled: true,
    }));
    const sender = sesIdentityArns(this, config);
    // Products: CheckStock's query and the transaction's update. Orders: the transaction's and the
    // decisions' updates, ReadOrder's get.
    workflow.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:UpdateItem'], resources: [products.tableArn] }));
    workflow.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], resources: [orders.tableArn] }));
    workflow.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: sender }));
    workflow.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [shared.alertsTopic.topicArn] }));
    nagAck(workflow, 'AwsSolutions-SF1', 'ERROR level: every failed or timed-out execution is logged (without execution data, which holds customer emails); ALL would add about 20 log events to every Express execution.');
    nagAck(workflow, 'AwsSolutions-IAM5[Resource::*]', 'Log delivery and X-Ray actions that CDK grants for workflow logging and tracing support no resource scoping.');

    this.functions(
      props,
      {
        ORDERS_TABLE: orders.tableName,
        PRODUCTS_TABLE: products.tableName,
        ORDER_QUEUE_URL: queue.queueUrl,
        STATE_MACHINE_ARN: workflow.stateMachineArn,
        EMAIL_FROM: config.sesSender,
        ALERTS_TOPIC_ARN: shared.alertsTopic.topicArn,
        RECONCILE_AFTER_SECS: String(config.reconcileAfterSeconds),
        MAX_ORDER_LINES: String(maxOrderLines(config)),
        METRICS_NAMESPACE: metricsNamespace(config),
        ALLOW_UNPAID_ORDERS: String(config.allowUnpaidOrders),
        SETTLE_AFTER_SECS: String(config.settleAfterSeconds),
      },
    );
    // The functions that move money read the provider's secret once, at cold start; no other
    // function of the service gets its name or may read it.
    const moneyMovers = ['create-order', 'cancel-order', 'refund-order', 'payment-webhook', 'status-changed', 'reconcile'];
    if (config.payments === 'stripe') {
      const secret = secretsmanager.Secret.fromSecretNameV2(this, 'PaymentSecret', config.paymentSecretName);
      // A secret referenced by name has an ARN ending in a random six-character suffix.
      const secretArn = `${secret.secretArn}-??????`;
      for (const name of moneyMovers) {
        this.fn(name).fn.addEnvironment('PAYMENT_SECRET_ARN', config.paymentSecretName);
        this.fn(name).fn.addEnvironment('PAYMENT_CURRENCY', config.paymentCurrency);
        this.fn(name).allow(['secretsmanager:GetSecretValue'], [secretArn]);
      }
      // The preflight checks that this secret exists and holds the right kind of key.
      new CfnOutput(this, 'PaymentSecretName', { value: config.paymentSecretName });
    }
    this.fn('create-order')
      .allow(['dynamodb:BatchGetItem'], [products.tableArn])
      .allow(['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'], [orders.tableArn])
      .allow(['sqs:SendMessage'], [queue.queueArn])
      .allow(['ses:SendEmail'], sender);
    this.fn('list-orders').allow(['dynamodb:Query'], [indexArn(orders.tableArn, 'byCustomer')]);
    this.fn('get-order').allow(['dynamodb:GetItem'], [orders.tableArn]);
    this.fn('queue-consumer').allow(['states:StartExecution'], [workflow.stateMachineArn]);
    this.fn('reconcile')
      .allow(['dynamodb:Query'], [indexArn(orders.tableArn, 'byStatus'), indexArn(orders.tableArn, 'byOpenPayment')])
      .allow(['dynamodb:UpdateItem', 'dynamodb:GetItem'], [orders.tableArn])
      .allow(['states:StartExecution'], [workflow.stateMachineArn])
      .allow(['ses:SendEmail'], sender)
      .allow(['sns:Publish'], [shared.alertsTopic.topicArn]);
    // Cancel: the order's status and every line's stock back in one transaction (UpdateItem on both
    // tables), then the money (settle: read, record, email, alert).
    // (No alert: a lost hold is alerted on only while the order is reserved, never once cancelled.)
    this.fn('cancel-order')
      .allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [orders.tableArn])
      .allow(['dynamodb:UpdateItem'], [products.tableArn])
      .allow(['ses:SendEmail'], sender);
    // An admin's refund: the order read, the refund recorded, the customer told.
    this.fn('refund-order')
      .allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [orders.tableArn])
      .allow(['ses:SendEmail'], sender);
    // The provider's events: recorded on the order once, an authorized order queued, money settled.
    this.fn('payment-webhook')
      .allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [orders.tableArn])
      .allow(['sqs:SendMessage'], [queue.queueArn])
      .allow(['ses:SendEmail'], sender)
      .allow(['sns:Publish'], [shared.alertsTopic.topicArn]);
    for (const name of this.triggeredBy('stream', 'orders')) {
      // Each decision's money moves here (settle: read the order, record the move, email, alert).
      this.fn(name)
        .allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [orders.tableArn])
        .allow(['ses:SendEmail'], sender)
        .allow(['sns:Publish'], [shared.alertsTopic.topicArn]);
      // The declaration's filter and retries (the local runner applies the same): a batch that
      // keeps failing is bisected, then goes to the failure queue instead of blocking the shard.
      const stream = this.decl.functions.find((f) => f.name === name)?.stream;
      this.fn(name).live.addEventSource(
        new DynamoEventSource(orders, {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: 100,
          maxBatchingWindow: Duration.seconds(5),
          retryAttempts: stream?.retryAttempts ?? 2,
          bisectBatchOnError: true,
          onFailure: new SqsDlq(this.failureQueue()),
          filters: stream?.events?.length ? [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.or(...stream.events) })] : undefined,
        }),
      );
    }
    for (const name of this.triggeredBy('sqs', 'orders')) {
      // The event source mapping adds the receive/delete permissions on this queue only.
      this.fn(name).live.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));
      for (const mapping of this.fn(name).live.node.findAll().filter((c) => c instanceof lambda.CfnEventSourceMapping)) {
        const why = 'Records that keep failing move to the order DLQ by the queue\'s redrive policy (maxReceiveCount), which an on-failure destination would duplicate.';
        lintAck(mapping, ['ES1001'], why);
        nagAck(mapping, 'Serverless-LambdaEventSourceMappingDestination', why);
      }
    }

    alarm(this, 'DlqNotEmpty', dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), shared.alertsTopic);
    alarm(this, 'WorkflowFailed', workflow.metricFailed({ period: Duration.minutes(5) }), shared.alertsTopic);
    alarm(
      this,
      'WorkflowTimedOut',
      // Step Functions reports each metric only when it happens: without FILL a timeout alone
      // leaves `aborted` without a data point, the sum has none, and the alarm never fires.
      new cloudwatch.MathExpression({
        expression: 'FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: { timedOut: workflow.metricTimedOut(), aborted: workflow.metricAborted() },
        period: Duration.minutes(5),
      }),
      shared.alertsTopic,
    );
    // Money taken but not moved on: a capture the provider refused, a hold lost before its capture.
    alarm(
      this,
      'CaptureFailures',
      new cloudwatch.Metric({
        namespace: metricsNamespace(config),
        metricName: 'CaptureFailures',
        dimensionsMap: { Service: 'order' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      shared.alertsTopic,
    );
    // What the operator command (shop-ops) needs for this stage.
    new CfnOutput(this, 'OrderQueueUrl', { value: queue.queueUrl });
    new CfnOutput(this, 'OrderDlqUrl', { value: dlq.queueUrl });
    new CfnOutput(this, 'OrdersTableName', { value: orders.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: workflow.stateMachineArn });
  }
}

/** A reservation is one DynamoDB transaction of at most 100 items: one per line and the order's. */
function maxOrderLines(config: StageConfig): number {
  const n = config.maxOrderLines;
  if (!Number.isInteger(n) || n < 1 || n > 99) throw new Error(`maxOrderLines must be 1..99 (one transaction of 100 items), not ${n}`);
  return n;
}
