/**
 * Who becomes an admin, and whose authenticator opens admin routes, is never silent: the alerts
 * topic hears of
 * - every change of the `admins` group (added, removed, the group updated or deleted), however it
 *   was made (console, CLI, SDK): CloudTrail records Cognito's admin API calls and EventBridge
 *   forwards the matching ones. This needs a CloudTrail trail logging management events in the
 *   stage's account and region (docs/deploy.md, prerequisites);
 * - every TOTP enrolment of an admin (auth's mfa-verify counts `AdminMfaEnrolments`), so an
 *   authenticator enrolled by someone who had only the password is seen.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { metricsNamespace, StageConfig } from './config.js';
import { deadLetterQueue } from './resources.js';
import { alarm } from './rust-function.js';

/** The Cognito calls that change who is in a group, or the group itself. */
export const GROUP_CHANGES = ['AdminAddUserToGroup', 'AdminRemoveUserFromGroup', 'UpdateGroup', 'DeleteGroup'];

export class AdminWatch extends Construct {
  readonly groupChanges: events.Rule;

  constructor(scope: Construct, id: string, config: StageConfig, pool: cognito.UserPool, group: string, alerts: sns.Topic) {
    super(scope, id);
    this.groupChanges = new events.Rule(this, 'AdminGroupChanges', {
      description: `Any change of the ${group} group of the shop's user pool`,
      eventPattern: {
        source: ['aws.cognito-idp'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['cognito-idp.amazonaws.com'],
          eventName: GROUP_CHANGES,
          requestParameters: { userPoolId: [pool.userPoolId], groupName: [group] },
        },
      },
    });
    // A change whose alert could not be published (after EventBridge's retries) is kept, and
    // alarms on its own.
    const undelivered = deadLetterQueue(this, 'Undelivered', config, 'the admin group alerts', 'read by operators');
    alarm(this, 'UndeliveredAdminAlerts', undelivered.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), alerts);
    // The call, who made it and when; not the user's name (Cognito's trail may hide it anyway).
    this.groupChanges.addTarget(
      new targets.SnsTopic(alerts, {
        deadLetterQueue: undelivered,
        message: events.RuleTargetInput.fromText(
          `Admin group change: ${events.EventField.fromPath('$.detail.eventName')} on the ${group} group by ` +
            `${events.EventField.fromPath('$.detail.userIdentity.arn')} at ${events.EventField.fromPath('$.detail.eventTime')}`,
        ),
      }),
    );
    alarm(
      this,
      'AdminMfaEnrolments',
      new cloudwatch.Metric({
        namespace: metricsNamespace(config),
        metricName: 'AdminMfaEnrolments',
        dimensionsMap: { Service: 'auth' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      alerts,
    );
  }
}
