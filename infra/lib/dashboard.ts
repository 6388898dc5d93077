/**
 * One CloudWatch dashboard per service stack (`shop-<stage>-<service>`), built inside that stack
 * from its own resources: a dashboard never imports another stack's values, so removing a
 * function, a queue or a whole service never meets "export ... in use". Each shows the service's
 * API traffic, errors and p99 latency, each function's errors, throttles and p99 duration, its
 * failure queue; the image services their rejected uploads; the order service its business
 * metrics (EMF: accepted, shipped, rejected, failed), workflow executions by outcome, the order
 * queue's age and its DLQ.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { StageConfig, metricsNamespace } from './config.js';
import type { ServiceStack } from './service-stack.js';
import type { ApiMetric } from './service-api.js';

/** The services whose image handler counts `UploadsRejected` (`lambdas/core/src/images.rs`). */
export const IMAGE_SERVICES = ['banner', 'category', 'product'];

/** The order outcomes the `order/status-changed` function counts (`lambdas/order/src/outcomes.rs`). */
export const ORDER_METRICS = ['OrdersAccepted', 'OrdersShipped', 'OrdersRejected', 'OrdersFailed', 'OrdersCancelled'];

/** Money: amounts in cents (`lambdas/order/src/payment.rs`, `count`), and declines and failures in counts. */
export const PAYMENT_AMOUNTS = ['PaymentsAuthorizedCents', 'PaymentsCapturedCents', 'PaymentsVoidedCents', 'PaymentsRefundedCents'];
export const PAYMENT_PROBLEMS = ['PaymentDeclines', 'CaptureFailures', 'VoidFailures', 'RefundFailures'];

const period = Duration.minutes(5);

/** The order pipeline's own rows: business metrics, executions, the queue and its DLQ. */
export interface PipelineParts {
  readonly workflow: sfn.StateMachine;
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
}

/** The dashboard of service stack `s`, from its own resources only. */
export function serviceDashboard(s: ServiceStack, config: StageConfig, pipeline?: PipelineParts): cloudwatch.Dashboard {
  const name = s.decl.name;
  const d = new cloudwatch.Dashboard(s, 'Dashboard', {
    dashboardName: `shop-${config.stage}-${name}`,
    defaultInterval: Duration.hours(3),
  });
  if (pipeline) {
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Orders (business metrics, EMF)',
        width: 8,
        left: ORDER_METRICS.map(
          (metricName) => new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName, dimensionsMap: { Service: name }, statistic: 'Sum', period }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Workflow executions by outcome',
        width: 8,
        left: [
          pipeline.workflow.metricSucceeded({ period }),
          pipeline.workflow.metricFailed({ period }),
          pipeline.workflow.metricTimedOut({ period }),
          pipeline.workflow.metricAborted({ period }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Order queue: age of the oldest message (s)',
        width: 8,
        left: [pipeline.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' })],
      }),
    );
    const emf = (metricName: string) =>
      new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName, dimensionsMap: { Service: name }, statistic: 'Sum', period });
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Money (cents): authorized, captured, voided, refunded',
        width: 12,
        left: PAYMENT_AMOUNTS.map(emf),
      }),
      new cloudwatch.GraphWidget({
        title: 'Payments: declines and failed moves (the reconciler retries failures)',
        width: 12,
        left: PAYMENT_PROBLEMS.map(emf),
      }),
    );
  }
  const kept = [
    ...(pipeline ? [pipeline.dlq.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'order DLQ' })] : []),
    ...(s.failures ? [s.failures.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: `${name} failures` })] : []),
  ];
  const row: cloudwatch.IWidget[] = [];
  if (kept.length > 0) row.push(new cloudwatch.GraphWidget({ title: 'Kept failures (messages)', width: 8, left: kept }));
  if (IMAGE_SERVICES.includes(name)) {
    row.push(
      new cloudwatch.GraphWidget({
        title: 'Uploads rejected by the image check (EMF)',
        width: 8,
        left: [new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName: 'UploadsRejected', dimensionsMap: { Service: name }, statistic: 'Sum', period, label: name })],
      }),
    );
  }
  if (row.length > 0) d.addWidgets(...row);
  if (s.api) {
    const api = (metric: ApiMetric, statistic: string) => s.api!.metric(metric, statistic, period);
    d.addWidgets(
      new cloudwatch.GraphWidget({ title: `${name} API: requests, 4xx, 5xx`, width: 12, left: [api('Count', 'Sum'), api('4xx', 'Sum'), api('5xx', 'Sum')] }),
      new cloudwatch.GraphWidget({ title: `${name} API: p99 latency (ms)`, width: 12, left: [api('Latency', 'p99')] }),
    );
  }
  const fns = Object.entries(s.fns);
  d.addWidgets(
    new cloudwatch.GraphWidget({
      title: `${name} functions: errors, throttles`,
      width: 12,
      left: fns.map(([fn, f]) => f.fn.metricErrors({ period, label: `${fn} errors` })),
      right: fns.map(([fn, f]) => f.fn.metricThrottles({ period, label: `${fn} throttles` })),
    }),
    new cloudwatch.GraphWidget({
      title: `${name} functions: p99 duration (ms)`,
      width: 12,
      left: fns.map(([fn, f]) => f.fn.metricDuration({ period, statistic: 'p99', label: fn })),
    }),
  );
  return d;
}
