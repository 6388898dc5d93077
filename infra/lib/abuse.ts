/**
 * Sign-up as a billing and email-reputation lever (docs/api.md, "Sign-up is not a billing lever"): every Cognito `SignUp` is a
 * billed monthly user and an email from the shop's sender, and the app client id is public, so
 * anyone can call Cognito directly, around API Gateway. What bounds it, per stage:
 * - a WAF web ACL on the user pool that counts, per source IP, the calls that send email or guess
 *   passwords and codes, and alarms when one IP makes more than `wafCognitoRequestsPer5MinPerIp`
 *   in 5 minutes. It counts, it does not block: the WAF sees the IP that calls Cognito, and every
 *   call through our API comes from the auth functions' few shared Lambda IPs, so a block would
 *   shut every customer out under ordinary load. Blocking per client IP is in front of the auth
 *   API (`rest-api.ts`), and the app client's secret closes the direct path (docs/api.md, "Sign-up
 *   is not a billing lever"): this counts what still reaches the pool;
 * - alarms on the sign-up count (the auth service's EMF `SignUps`) and on SES's account reputation
 *   (SES pauses sending near a 10 % bounce or 0.5 % complaint rate: every code and order email);
 * - an AWS Budget on Cognito and SES that warns at 80 % of the month's amount.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { metricsNamespace, StageConfig } from './config.js';
import { alarm } from './rust-function.js';

/** The Cognito operations a WAF on the pool counts per IP (their `X-Amz-Target`). */
export const LIMITED_COGNITO_CALLS = ['SignUp', 'ConfirmSignUp', 'InitiateAuth', 'RespondToAuthChallenge', 'ResendConfirmationCode', 'ForgotPassword'];

export class AbuseGuards extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, config: StageConfig, pool: cognito.UserPool, alerts: sns.Topic) {
    super(scope, id);
    const visibility = (name: string) => ({ cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true });
    const target = (op: string): wafv2.CfnWebACL.StatementProperty => ({
      byteMatchStatement: {
        fieldToMatch: { singleHeader: { Name: 'x-amz-target' } },
        positionalConstraint: 'EXACTLY',
        searchString: `AWSCognitoIdentityProviderService.${op}`,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'PoolAcl', {
      name: `shop-${config.stage}-cognito`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`shop-${config.stage}-cognito`),
      rules: [
        {
          name: 'CognitoCallsPerIp',
          priority: 0,
          action: { count: {} },
          statement: {
            rateBasedStatement: {
              limit: config.wafCognitoRequestsPer5MinPerIp,
              evaluationWindowSec: 300,
              aggregateKeyType: 'IP',
              scopeDownStatement: { orStatement: { statements: LIMITED_COGNITO_CALLS.map(target) } },
            },
          },
          visibilityConfig: visibility(`shop-${config.stage}-cognito-per-ip`),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'PoolAclAssociation', { resourceArn: pool.userPoolArn, webAclArn: this.webAcl.attrArn });
    // One IP over the limit: look at the WAF's sampled requests, then block it by hand (an IP set rule).
    alarm(
      this,
      'CognitoCallsPerIp',
      new cloudwatch.Metric({
        namespace: 'AWS/WAFV2',
        metricName: 'CountedRequests',
        dimensionsMap: { WebACL: `shop-${config.stage}-cognito`, Rule: `shop-${config.stage}-cognito-per-ip`, Region: Stack.of(this).region },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      alerts,
    );

    alarm(
      this,
      'SignUpsPerHour',
      new cloudwatch.MathExpression({
        // One data point per hour: above the stage's expected sign-ups, somebody is signing up in bulk.
        expression: `FILL(m, 0) / ${config.signUpsPerHourAlarm}`,
        usingMetrics: {
          m: new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName: 'SignUps', dimensionsMap: { Service: 'auth' }, statistic: 'Sum', period: Duration.hours(1) }),
        },
        period: Duration.hours(1),
        label: 'sign-ups in the hour / the alarm level',
      }),
      alerts,
    );
    alarm(
      this,
      'CodeEmailsPerHour',
      new cloudwatch.MathExpression({
        // Confirmation-code emails (the pool's CustomMessage trigger counts each): a sign-up and a
        // resend or two each, so twice the sign-up level; above it, codes are being mailed in bulk.
        expression: `FILL(m, 0) / ${2 * config.signUpsPerHourAlarm}`,
        usingMetrics: {
          m: new cloudwatch.Metric({ namespace: metricsNamespace(config), metricName: 'CodeEmails', dimensionsMap: { Service: 'auth' }, statistic: 'Sum', period: Duration.hours(1) }),
        },
        period: Duration.hours(1),
        label: 'code emails in the hour / the alarm level',
      }),
      alerts,
    );
    // SES account reputation (no dimensions): warn at half of where SES reviews or pauses.
    for (const [id, name, level] of [
      ['SesBounceRate', 'Reputation.BounceRate', 0.05],
      ['SesComplaintRate', 'Reputation.ComplaintRate', 0.001],
    ] as const) {
      new cloudwatch.Alarm(this, `${id}Alarm`, {
        metric: new cloudwatch.Metric({ namespace: 'AWS/SES', metricName: name, statistic: 'Maximum', period: Duration.hours(1) }),
        threshold: level,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new actions.SnsAction(alerts));
    }

    alerts.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        resources: [alerts.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    new budgets.CfnBudget(this, 'CognitoSesBudget', {
      budget: {
        budgetName: `shop-${config.stage}-cognito-ses`,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: config.cognitoSesBudgetUsdPerMonth, unit: 'USD' },
        costFilters: { Service: ['Amazon Cognito', 'Amazon Simple Email Service'] },
      },
      notificationsWithSubscribers: [
        {
          notification: { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: 80, thresholdType: 'PERCENTAGE' },
          subscribers: [{ subscriptionType: 'SNS', address: alerts.topicArn }],
        },
      ],
    });
  }
}
