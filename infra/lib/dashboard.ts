/**
 * One CloudWatch dashboard per stage: per service API traffic, errors and p99 latency; the
 * business metrics the order service emits as EMF (accepted, shipped, rejected, failed); the order
 * queue's age and the DLQ and failure queues' depth; workflow executions by outcome; each
 * function's errors, throttles and p99 duration.
 */
import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { StageConfig, metricsNamespace } from './config.js';
import { OrderStack } from './order-stack.js';
import { ServiceStack } from './service-stack.js';

export { metricsNamespace };

/** The services whose image handler counts `UploadsRejected` (`lambdas/core/src/images.rs`). */
export const IMAGE_SERVICES = ['banner', 'category', 'product'];

/** The order outcomes the `order/status-changed` function counts (`lambdas/order/src/outcomes.rs`). */
export const ORDER_METRICS = ['OrdersAccepted', 'OrdersShipped', 'OrdersRejected', 'OrdersFailed'];

export interface DashboardStackProps extends StackProps {
  readonly config: StageConfig;
  readonly services: ServiceStack[];
  readonly order: OrderStack;
}

export class DashboardStack extends Stack {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DashboardStackProps) {
    super(scope, id, props);
    const { config, services, order } = props;
    const period = Duration.minutes(5);
    const d = (this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `shop-${config.stage}`,
      defaultInterval: Duration.hours(3),
    }));

    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Orders (business metrics, EMF)',
        width: 8,
        left: ORDER_METRICS.map(
          (name) => new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName: name, dimensionsMap: { Service: 'order' }, statistic: 'Sum', period }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Workflow executions by outcome',
        width: 8,
        left: [
          order.workflow.metricSucceeded({ period }),
          order.workflow.metricFailed({ period }),
          order.workflow.metricTimedOut({ period }),
          order.workflow.metricAborted({ period }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Uploads rejected by the image check (EMF)',
        width: 8,
        left: IMAGE_SERVICES.map(
          (service) => new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName: 'UploadsRejected', dimensionsMap: { Service: service }, statistic: 'Sum', period, label: service }),
        ),
      }),
    );
    const failureQueues = services.flatMap((s) => (s.failures ? [[s.decl.name, s.failures] as const] : []));
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Order queue: age of the oldest message (s)',
        width: 12,
        left: [order.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Kept failures: order DLQ and failure queues (messages)',
        width: 12,
        left: [
          order.dlq.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'order DLQ' }),
          ...failureQueues.map(([name, q]) => q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: `${name} failures` })),
        ],
      }),
    );
    for (const s of services) {
      const widgets: cloudwatch.IWidget[] = [];
      if (s.api) {
        const api = (metricName: string, statistic: string) =>
          new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: { ApiId: s.api!.api.apiId, Stage: '$default' }, statistic, period });
        widgets.push(
          new cloudwatch.GraphWidget({
            title: `${s.decl.name} API: requests, 4xx, 5xx`,
            width: 8,
            left: [api('Count', 'Sum'), api('4xx', 'Sum'), api('5xx', 'Sum')],
          }),
          new cloudwatch.GraphWidget({ title: `${s.decl.name} API: p99 latency (ms)`, width: 8, left: [api('Latency', 'p99')] }),
        );
      }
      const fns = Object.entries(s.fns);
      widgets.push(
        new cloudwatch.GraphWidget({
          title: `${s.decl.name} functions: errors, throttles`,
          width: 8,
          left: fns.map(([bin, f]) => f.fn.metricErrors({ period, label: `${bin} errors` })),
          right: fns.map(([bin, f]) => f.fn.metricThrottles({ period, label: `${bin} throttles` })),
        }),
        new cloudwatch.GraphWidget({
          title: `${s.decl.name} functions: p99 duration (ms)`,
          width: 8,
          left: fns.map(([bin, f]) => f.fn.metricDuration({ period, statistic: 'p99', label: bin })),
        }),
      );
      d.addWidgets(...widgets);
    }
  }
}
