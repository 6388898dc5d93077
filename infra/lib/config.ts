/**
 * Stage configuration as data, in one place. Account and region come from the environment
 * (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION, i.e. your AWS profile); addresses come from context or
 * environment variables so nothing personal or account-specific is committed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './declaration.js';

export type Architecture = 'arm64' | 'x86_64';

export interface StageConfig {
  readonly stage: string;
  readonly account?: string;
  readonly region?: string;
  /** The From address of every email (`-c sesSender=` or SHOP_SES_SENDER). */
  readonly sesSender: string;
  /**
   * The SES identity that verifies the sender, created and verified before the stage is deployed
   * (docs/deploy.md): a domain with DKIM (default: the sender's domain) or the sender's own
   * address (`-c sesIdentity=` or SHOP_SES_IDENTITY). The stacks reference it by name, never create it.
   */
  readonly sesIdentity: string;
  /**
   * Where the account is in the SES sandbox (a new account; dev): the verified recipient
   * identities (addresses or domains) the stage mails. In the sandbox SES checks the sender's
   * policy against the recipient's identity too, so `ses:SendEmail` is granted on each
   * (`-c sesSandboxRecipients=qa@example.com,example.org` or SHOP_SES_SANDBOX_RECIPIENTS). Empty
   * once the account has production access.
   */
  readonly sesSandboxRecipients: string[];
  /** Who gets alarm and alert emails (`-c opsEmail=` or SHOP_OPS_EMAIL); none when unset. */
  readonly opsEmail?: string;
  /** Allowed browser origin (CORS) of the APIs and of the upload buckets. */
  readonly corsOrigin: string;
  /**
   * The APIs' CORS configuration: API Gateway answers preflights and adds these headers itself
   * (the functions add none); the local runner reads the same values.
   */
  readonly cors: { allowMethods: string[]; allowHeaders: string[]; exposeHeaders: string[]; maxAgeSeconds: number };
  readonly architecture: Architecture;
  readonly memoryMb: number;
  /**
   * EXPRESS (default): about $1 per million executions instead of $25 per million transitions;
   * at-least-once, which the workflow is built for (every decision is a conditional write that
   * names its execution). STANDARD: exactly-once steps and 90 days of execution history.
   */
  readonly workflowType: 'STANDARD' | 'EXPRESS';
  /** Who sends Cognito's emails: COGNITO (about 50 a day: dev only) or SES with `sesSender`. */
  readonly cognitoEmail: 'COGNITO' | 'SES';
  /** Admin routes refuse admins without TOTP MFA (403 MfaRequired): every stage but dev. */
  readonly adminMfaRequired: boolean;
  /** Requests per second (and burst) on sign-in, sign-up and resend: stricter than the other routes. */
  readonly authRateLimit: number;
  readonly authBurstLimit: number;
  /** Requests per second (and burst) on every other route of each API (the local runner applies the same). */
  readonly routeRateLimit: number;
  readonly routeBurstLimit: number;
  /** The user pool's minimum password length (upper, lower, digit and symbol are required too). */
  readonly passwordMinLength: number;
  /**
   * Standard attributes the app client may write (Cognito's names): what sign-up sends. The local
   * pool's client gets the same list, and the emulator refuses a SignUp that writes anything else,
   * as Cognito does.
   */
  readonly appClientWriteAttributes: string[];
  readonly cleanupEveryMinutes: number;
  /** How often sign-ups never confirmed are purged, and the age at which they are (Cognito's codes live a day). */
  readonly purgeEveryMinutes: number;
  readonly unconfirmedMaxAgeSeconds: number;
  readonly cleanupMaxAgeSeconds: number;
  readonly uploadUrlExpiresSeconds: number;
  /** The largest image upload accepted, in bytes (checked by the image handlers; signed into the URL when the client states its size). */
  readonly uploadMaxBytes: number;
  readonly orderMaxReceives: number;
  /** How often the order reconciler runs. */
  readonly reconcileEveryMinutes: number;
  /** Age after which a still-pending order is re-driven: above the queue's redelivery window plus the workflow's TimeoutSeconds. */
  readonly reconcileAfterSeconds: number;
  /** The most lines one order may hold (1..99: the reservation is one transaction of at most 100 items). */
  readonly maxOrderLines: number;
  /**
   * stripe: orders are paid by card through Stripe (PaymentIntents, manual capture); the stage's
   * secret (`paymentSecretName`) must exist before the deploy. none: no payments (then
   * `allowUnpaidOrders` must be true; never in prod).
   */
  readonly payments: 'stripe' | 'none';
  /** ISO 4217, lower case: every order of the stage is charged in it. */
  readonly paymentCurrency: string;
  /** An order without a payment method is taken unpaid: the original clients' migration path (dev and local). */
  readonly allowUnpaidOrders: boolean;
  /** Money still open on a decided order this long after it was placed is moved by the reconciler. */
  readonly settleAfterSeconds: number;
  /**
   * The Secrets Manager secret holding `{"apiKey", "webhookSecret"}` of the stage's Stripe account
   * (`-c paymentSecretName=` or SHOP_PAYMENT_SECRET_NAME; default `shop/<stage>/payment-provider`).
   * Created by the platform team before the deploy (docs/deploy.md); the stacks only reference it.
   */
  readonly paymentSecretName: string;
  readonly logRetentionDays: number;
  /** destroy: tables and buckets go with the stack (dev); retain: they stay (prod). */
  readonly removal: 'destroy' | 'retain';
  /** Per IP, the most Cognito sign-up, confirm, sign-in, challenge and resend calls in 5 minutes (WAF). */
  readonly wafCognitoRequestsPer5MinPerIp: number;
  /**
   * Per client IP, the most requests in 5 minutes to one strict route of a REST-fronted service
   * (the auth API) before its WAF answers that IP 429 there: by the route's function name, `*`
   * for the rest (`rest-api.ts`).
   */
  readonly wafApiRequestsPer5MinPerIp: Record<string, number>;
  /** Whether the stage sets the account's API Gateway CloudWatch role (REST API access logs need one per account and region; off where the platform already sets it). */
  readonly apiGatewayCloudWatchRole: boolean;
  /** Sign-ups in an hour that raise the alarm (each is a billed user and an email). */
  readonly signUpsPerHourAlarm: number;
  /** The monthly AWS Budget on Cognito and SES (warns at 80 % of it). */
  readonly cognitoSesBudgetUsdPerMonth: number;
  /** The user pool's issuer format (`iss` of its tokens), which every JWT authorizer expects. */
  readonly cognitoIssuer: 'ORIGINAL' | 'UPDATED';
  /** How a new version takes traffic behind each function's `live` alias (docs/deploy.md "Deploying safely"). */
  readonly delivery: 'all-at-once' | 'linear' | 'canary';
  /** Directory of the zips built by scripts/build-lambdas.sh. */
  readonly codeDir: string;
}

type StageValues = Omit<StageConfig, 'stage' | 'account' | 'region' | 'sesSender' | 'sesIdentity' | 'sesSandboxRecipients' | 'opsEmail' | 'codeDir' | 'paymentSecretName'>;

/** `infra/stages.json`: the defaults, and each stage's changes to them (the local runner reads the `local` stage). */
const declared = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'stages.json'), 'utf8')) as {
  defaults: StageValues;
  stages: Record<string, Partial<StageValues>>;
};

export const STAGES: Record<string, StageValues> = Object.fromEntries(
  Object.entries(declared.stages).map(([name, changes]) => [name, { ...declared.defaults, ...changes }]),
);

export type ContextReader = (key: string) => unknown;

/** The configuration of `stage`, with overrides from context (`-c key=value`) and environment. */
export function stageConfig(stage: string, context: ContextReader, env: NodeJS.ProcessEnv = process.env): StageConfig {
  const values = STAGES[stage];
  if (!values) {
    throw new Error(`unknown stage "${stage}"; one of: ${Object.keys(STAGES).join(', ')}`);
  }
  const str = (key: string, envName: string): string | undefined => {
    const v = context(key) ?? env[envName];
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const architecture = (str('architecture', 'SHOP_ARCHITECTURE') ?? values.architecture) as Architecture;
  if (architecture !== 'arm64' && architecture !== 'x86_64') {
    throw new Error(`architecture must be arm64 or x86_64, not ${architecture}`);
  }
  const sesSender = str('sesSender', 'SHOP_SES_SENDER') ?? 'noreply@example.com';
  const senderDomain = sesSender.slice(sesSender.lastIndexOf('@') + 1);
  const sesIdentity = str('sesIdentity', 'SHOP_SES_IDENTITY') ?? senderDomain;
  if (sesIdentity !== senderDomain && sesIdentity !== sesSender) {
    throw new Error(`sesIdentity must verify the sender ${sesSender}: its domain ${senderDomain} or the address itself, not ${sesIdentity}`);
  }
  const cognitoIssuer = (str('cognitoIssuer', 'SHOP_COGNITO_ISSUER') ?? values.cognitoIssuer) as StageConfig['cognitoIssuer'];
  if (cognitoIssuer !== 'ORIGINAL' && cognitoIssuer !== 'UPDATED') {
    throw new Error(`cognitoIssuer must be ORIGINAL or UPDATED, not ${cognitoIssuer}`);
  }
  if (!['all-at-once', 'linear', 'canary'].includes(values.delivery)) {
    throw new Error(`delivery must be all-at-once, linear or canary, not ${values.delivery}`);
  }
  if (values.payments !== 'stripe' && values.payments !== 'none') {
    throw new Error(`payments must be stripe or none, not ${values.payments}`);
  }
  if (values.payments === 'none' && !values.allowUnpaidOrders) {
    throw new Error(`stage ${stage} takes no payments, so it must allow unpaid orders (allowUnpaidOrders)`);
  }
  if (stage === 'prod' && (values.allowUnpaidOrders || values.payments !== 'stripe')) {
    throw new Error('prod must take payments and refuse unpaid orders (allowUnpaidOrders: false, payments: stripe)');
  }
  return {
    ...values,
    stage,
    architecture,
    paymentSecretName: str('paymentSecretName', 'SHOP_PAYMENT_SECRET_NAME') ?? `shop/${stage}/payment-provider`,
    account: env.CDK_DEFAULT_ACCOUNT,
    region: env.CDK_DEFAULT_REGION,
    sesSender,
    sesIdentity,
    sesSandboxRecipients: (str('sesSandboxRecipients', 'SHOP_SES_SANDBOX_RECIPIENTS') ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r.length > 0),
    opsEmail: str('opsEmail', 'SHOP_OPS_EMAIL'),
    corsOrigin: str('corsOrigin', 'SHOP_CORS_ORIGIN') ?? values.corsOrigin,
    cognitoIssuer,
    apiGatewayCloudWatchRole: (str('apiGatewayCloudWatchRole', 'SHOP_API_GATEWAY_CLOUDWATCH_ROLE') ?? String(values.apiGatewayCloudWatchRole)) !== 'false',
    workflowType: (str('workflowType', 'SHOP_WORKFLOW_TYPE') ?? values.workflowType) as 'STANDARD' | 'EXPRESS',
    codeDir: str('codeDir', 'SHOP_CODE_DIR') ?? `target/lambda-zips/${architecture}`,
  };
}

/**
 * The `iss` of the tokens of a pool with the stage's issuer format (Cognito API reference,
 * IssuerConfigurationType): the original regional host, or `issuer-cognito-idp`.
 */
export function cognitoIssuerUrl(config: StageConfig, region: string, userPoolId: string): string {
  const host = config.cognitoIssuer === 'UPDATED' ? 'issuer-cognito-idp' : 'cognito-idp';
  return `https://${host}.${region}.amazonaws.com/${userPoolId}`;
}

/** The CloudWatch namespace of the stage's business metrics (EMF lines of the Rust handlers). */
export function metricsNamespace(config: StageConfig): string {
  return `Shop/${config.stage}`;
}
