/**
 * Shared identity and messaging: the Cognito user pool, its client and admins group, the Users
 * table, the SNS topics. The SES identity that verifies the sender is not here: it must be
 * verified before Cognito may mail through it, so it is a prerequisite of the stage
 * (docs/deploy.md), referenced by name.
 */
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { AbuseGuards } from './abuse.js';
import { AdminWatch } from './admin-watch.js';
import { cognitoIssuerUrl, metricsNamespace, StageConfig } from './config.js';
import { service } from './declaration.js';
import { nagAck } from './lint.js';
import { removalPolicy, retainsData } from './removal.js';
import { table, topic } from './resources.js';
import { RustFunction } from './rust-function.js';

/** The pool operations a declared `cognito` trigger may name. */
const POOL_TRIGGERS: Record<string, cognito.UserPoolOperation> = { CustomMessage: cognito.UserPoolOperation.CUSTOM_MESSAGE };

export interface SharedStackProps extends StackProps {
  readonly config: StageConfig;
}

export class SharedStack extends Stack {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  /** The `iss` of the pool's tokens, as every JWT authorizer expects it. */
  readonly issuer: string;
  readonly usersTable: dynamodb.TableV2;
  readonly cleanupTopic: sns.Topic;
  readonly alertsTopic: sns.Topic;
  /** The pool's triggers (auth functions declared `"cognito"`), by name. */
  readonly poolTriggers: Record<string, RustFunction> = {};

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
      // The identity is verified before this stack exists (CreateUserPool refuses an unverified
      // one); the stack's own region, a token when the stack is environment-agnostic.
      email:
        config.cognitoEmail === 'SES'
          ? cognito.UserPoolEmail.withSES({
              fromEmail: config.sesSender,
              sesVerifiedDomain: config.sesIdentity.includes('@') ? undefined : config.sesIdentity,
              sesRegion: this.region,
            })
          : cognito.UserPoolEmail.withCognito(),
      autoVerify: { email: true },
      // A changed email takes effect only once its new address is verified: mail goes only to
      // verified addresses, although sign-up must be able to write `email`.
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true }, fullname: { required: true, mutable: true } },
      passwordPolicy: { minLength: config.passwordMinLength, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Anyone may turn on TOTP (/auth/mfa/setup, /auth/mfa/verify); admins must outside dev.
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      removalPolicy: removalPolicy(config, 'data'),
      deletionProtection: retainsData(config),
    });
    // The issuer format is set, not left to Cognito's default, so that the authorizers (which
    // expect `cognitoIssuerUrl`) and the tokens always agree.
    (this.userPool.node.defaultChild as cognito.CfnUserPool).issuerConfiguration = { type: config.cognitoIssuer };
    this.issuer = cognitoIssuerUrl(config, this.region, this.userPool.userPoolId);
    nagAck(this.userPool, 'AwsSolutions-COG2', 'MFA is OPTIONAL (TOTP only): any user may turn it on; outside dev the admin routes refuse an admin without TOTP (403 MfaRequired, adminMfaRequired). REQUIRED pool-wide would force every shopper to install an authenticator app.');
    nagAck(this.userPool, 'AwsSolutions-COG8', 'Threat protection needs the Plus feature plan (per-user cost); Essentials is the default, a stage may upgrade.');
    this.client = this.userPool.addClient('AppClient', {
      authFlows: { userPassword: true },
      // A secret closes the direct path: with the public client id alone anyone could call
      // Cognito's SignUp and ResendConfirmationCode around the API's per-IP limits (billed users,
      // code emails). Only the auth functions know it (they read it with DescribeUserPoolClient).
      generateSecret: true,
      // No hosted UI: no OAuth flows, so no callback URL to guess or abuse.
      disableOAuth: true,
      // SignUp writes `email` and `name`; Cognito refuses any attribute not listed here
      // (NotAuthorizedException), so the list is a stage value the local pool shares.
      writeAttributes: clientAttributes(config.appClientWriteAttributes),
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
    this.triggers(config);
    new AbuseGuards(this, 'Abuse', config, this.userPool, this.alertsTopic);
    new AdminWatch(this, 'AdminWatch', config, this.userPool, 'admins', this.alertsTopic);
    if (config.opsEmail) {
      this.alertsTopic.addSubscription(new subs.EmailSubscription(config.opsEmail));
      this.cleanupTopic.addSubscription(new subs.EmailSubscription(config.opsEmail));
    }
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.client.userPoolClientId });
    new CfnOutput(this, 'SesSender', { value: config.sesSender });
    new CfnOutput(this, 'SesIdentity', { value: config.sesIdentity });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.alertsTopic.topicArn });
  }

  /**
   * The auth functions declared as triggers of the pool, built here beside it: the pool names its
   * trigger, and the auth stack imports the pool, so a trigger there would be a cycle. They get no
   * pool ids for the same reason (each event names its pool). Cognito invokes `live`.
   */
  private triggers(config: StageConfig): void {
    const auth = service('auth');
    for (const f of auth.functions.filter((x) => x.cognito)) {
      const operation = POOL_TRIGGERS[f.cognito!.trigger];
      if (!operation) throw new Error(`auth/${f.name}: no pool trigger ${f.cognito!.trigger} (known: ${Object.keys(POOL_TRIGGERS).join(', ')})`);
      const fn = new RustFunction(this, `PoolTrigger-${f.name}`, {
        config,
        service: auth,
        name: f.name,
        environment: { USERS_TABLE: this.usersTable.tableName, METRICS_NAMESPACE: metricsNamespace(config) },
        alarms: this.alertsTopic,
      });
      nagAck(fn.fn, 'Serverless-LambdaDLQ', 'Invoked synchronously by Cognito: a failure fails the Cognito call (the caller is answered), nothing is queued.');
      this.userPool.addTrigger(operation, fn.live);
      this.poolTriggers[f.name] = fn;
    }
  }
}

/** Cognito's standard attribute names, as CDK's `StandardAttributesMask` spells them. */
const STANDARD_ATTRIBUTES: Record<string, keyof cognito.StandardAttributesMask> = {
  email: 'email',
  name: 'fullname',
  given_name: 'givenName',
  family_name: 'familyName',
  phone_number: 'phoneNumber',
  locale: 'locale',
};

/** The client's writable attributes from their Cognito names (a name not known here fails synth). */
export function clientAttributes(names: string[]): cognito.ClientAttributes {
  const mask: cognito.StandardAttributesMask = {};
  for (const name of names) {
    const key = STANDARD_ATTRIBUTES[name];
    if (!key) throw new Error(`appClientWriteAttributes: ${name} is not a standard attribute this app knows (${Object.keys(STANDARD_ATTRIBUTES).join(', ')})`);
    (mask as Record<string, boolean>)[key] = true;
  }
  return new cognito.ClientAttributes().withStandardAttributes(mask);
}
