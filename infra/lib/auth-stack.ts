/** Auth service: sign-up, confirmation, sign-in, sign-out, resend and refresh on the shared pool. */
import { Construct } from 'constructs';
import { metricsNamespace } from './config.js';
import { indexArn } from './rust-function.js';
import { ServiceStack, ServiceStackProps } from './service-stack.js';

export class AuthStack extends ServiceStack {
  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, 'auth', props);
    const { userPool, client, usersTable } = props.shared;
    this.functions(props, {
      USER_POOL_ID: userPool.userPoolId,
      USER_POOL_CLIENT_ID: client.userPoolClientId,
      USERS_TABLE: usersTable.tableName,
      UNCONFIRMED_MAX_AGE_SECS: String(props.config.unconfirmedMaxAgeSeconds),
      PASSWORD_MIN_LENGTH: String(props.config.passwordMinLength),
      METRICS_NAMESPACE: metricsNamespace(props.config),
    });
    const byEmail = indexArn(usersTable.tableArn, 'byEmail');
    // The app client has a secret: every call it authorizes carries the SECRET_HASH of its
    // username (refresh: the secret), read once per cold start with DescribeUserPoolClient.
    for (const name of ['sign-up', 'confirm-sign-up', 'sign-in', 'mfa-sign-in', 'resend-confirmation-code', 'refresh-token']) {
      this.fn(name).allow(['cognito-idp:DescribeUserPoolClient'], [userPool.userPoolArn]);
    }
    // SignUp, ConfirmSignUp, InitiateAuth, GlobalSignOut and ResendConfirmationCode are public
    // Cognito APIs (the client id or the user's token authorizes them): no IAM needed.
    // An email's claim item (`email#<address>`) lives in the Users table: read at sign-up and
    // sign-in, written (and released on a failed confirmation) at confirmation.
    // A claimed email's owner is looked up (AdminGetUser); an orphaned claim is deleted.
    this.fn('sign-up')
      .allow(['dynamodb:Query'], [byEmail])
      .allow(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], [usersTable.tableArn])
      .allow(['cognito-idp:AdminDeleteUser', 'cognito-idp:AdminGetUser'], [userPool.userPoolArn]);
    this.fn('confirm-sign-up')
      .allow(['dynamodb:Query'], [byEmail])
      .allow(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], [usersTable.tableArn])
      .allow(['cognito-idp:AdminGetUser'], [userPool.userPoolArn]);
    // TOTP sign-in resolves the login as sign-in does; setup and verify use the user's access
    // token (AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference, GetUser: no IAM).
    for (const name of ['sign-in', 'mfa-sign-in']) {
      this.fn(name)
        .allow(['dynamodb:Query'], [byEmail])
        .allow(['dynamodb:GetItem'], [usersTable.tableArn]);
    }
    // Turning TOTP on first marks when the account's sessions count from (`updated_at`, which the
    // app client may not write): the admin gate refuses ID tokens of earlier sign-ins.
    // It also asks whether the account is an admin's (AdminListGroupsForUser): each admin's
    // enrolment is counted and alarms.
    this.fn('mfa-verify').allow(['cognito-idp:AdminUpdateUserAttributes', 'cognito-idp:AdminListGroupsForUser'], [userPool.userPoolArn]);
    // An email names an account only when exactly one sign-up besides its confirmed owner holds
    // it: the owner's claim is read too.
    this.fn('resend-confirmation-code')
      .allow(['dynamodb:Query'], [byEmail])
      .allow(['dynamodb:GetItem'], [usersTable.tableArn])
      .allow(['cognito-idp:AdminGetUser'], [userPool.userPoolArn]);
    // Lists unconfirmed users (Cognito filters them) and deletes the old ones, record first.
    // Each is asked again just before it is deleted (AdminGetUser), and its email claim released.
    this.fn('purge-unconfirmed')
      .allow(['cognito-idp:ListUsers', 'cognito-idp:AdminGetUser', 'cognito-idp:AdminDeleteUser'], [userPool.userPoolArn])
      .allow(['dynamodb:DeleteItem'], [usersTable.tableArn]);
  }
}
