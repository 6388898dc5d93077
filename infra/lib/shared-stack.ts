/** Shared identity and messaging: the Cognito user pool, its client and admins group, the Users table, the SES sender, the SNS topics. */
import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { tableShape } from './tables.js';
import { nagAck } from './lint.js';

export interface SharedStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The declared table `name` (`lambdas/tables.json`: key, indexes, stream) as every stack wants
 * it: on demand, PITR, encrypted, removal by stage.
 */
export function table(scope: Construct, id: string, config: StageConfig, name: string): dynamodb.TableV2 {
  return new dynamodb.TableV2(scope, id, {
    ...tableShape(name),
    billing: dynamodb.Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    removalPolicy: config.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    deletionProtection: config.removal === 'retain',
  });
}

/** A topic that only accepts TLS and is encrypted. */
export function topic(scope: Construct, id: string, displayName: string): sns.Topic {
  const t = new sns.Topic(scope, id, {
    displayName,
    enforceSSL: true,
  });
  nagAck(t, 'AwsSolutions-SNS2', 'Notices carry counts and order ids only; SSE with a CMK would need a key policy for CloudWatch alarms.');
  return t;
}

export class SharedStack extends Stack {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly usersTable: dynamodb.TableV2;
  readonly cleanupTopic: sns.Topic;
  readonly alertsTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.userPool = new cognito.UserPool(this, 'Users', {
      userPoolName: `shop-${config.stage}-users`,
      selfSignUpEnabled: true,
      signInAliases: { username: true, email: true },
      // "Ada_Lovelace" and "ada_lovelace" are one user (set at creation: changing it replaces the pool).
      signInCaseSensitive: false,
      // Cognito's own sender allows about 50 emails a day: staging and prod send through SES.
      email:
        config.cognitoEmail === 'SES'
          ? cognito.UserPoolEmail.withSES({ fromEmail: config.sesSender, sesRegion: config.region ?? this.region })
          : cognito.UserPoolEmail.withCognito(),
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true }, fullname: { required: true, mutable: true } },
      passwordPolicy: { minLength: config.passwordMinLength, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Anyone may turn on TOTP (/auth/mfa/setup, /auth/mfa/verify); admins must outside dev.
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      removalPolicy: config.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: config.removal === 'retain',
    });
    nagAck(this.userPool, 'AwsSolutions-COG2', 'MFA is OPTIONAL (TOTP only): any user may turn it on; outside dev the admin routes refuse an admin without TOTP (403 MfaRequired, adminMfaRequired). REQUIRED pool-wide would force every shopper to install an authenticator app.');
    nagAck(this.userPool, 'AwsSolutions-COG8', 'Threat protection needs the Plus feature plan (per-user cost); Essentials is the default, a stage may upgrade.');
    this.client = this.userPool.addClient('AppClient', {
      authFlows: { userPassword: true },
      generateSecret: false,
      // No hosted UI: no OAuth flows, so no callback URL to guess or abuse.
      disableOAuth: true,
      // The app may change the full name; `email` stays what was verified (mail goes only there).
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ fullname: true }),
      preventUserExistenceErrors: true,
      refreshTokenValidity: Duration.days(30),
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
    });
    new cognito.CfnUserPoolGroup(this, 'AdminsGroup', {
      userPoolId: this.userPool.userPoolId,
      groupName: 'admins',
      description: 'May upload banners and categories and review products',
    });
    this.usersTable = table(this, 'UsersTable', config, 'users');
    new ses.EmailIdentity(this, 'Sender', { identity: ses.Identity.email(config.sesSender) });
    this.cleanupTopic = topic(this, 'CleanupNotices', 'Shop cleanup notices');
    this.alertsTopic = topic(this, 'Alerts', 'Shop alarms and order alerts');
    this.alertsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: [this.alertsTopic.topicArn],
        conditions: { ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` } },
      }),
    );
    if (config.opsEmail) {
      this.alertsTopic.addSubscription(new subs.EmailSubscription(config.opsEmail));
      this.cleanupTopic.addSubscription(new subs.EmailSubscription(config.opsEmail));
    }
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.client.userPoolClientId });
    new CfnOutput(this, 'SesSender', { value: config.sesSender });
  }
}
