/** The one declaration of functions, routes and triggers (lambdas/services.json), shared with the local runner. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export type AuthKind = 'none' | 'user' | 'admin';

export interface HttpRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly auth: AuthKind;
  /** `strict`: the stage's stricter throttling (authRateLimit / authBurstLimit). */
  readonly limit?: 'strict';
}

export interface FunctionDecl {
  readonly name: string;
  readonly http?: HttpRoute;
  readonly s3?: { bucket: string };
  readonly sqs?: { queue: string };
  readonly schedule?: { every: string };
  /** A DynamoDB table's change stream: the event names delivered (a filter), the retries before a failing batch is bisected. */
  readonly stream?: { table: string; events?: string[]; retryAttempts?: number };
  /** A trigger of the user pool (`CustomMessage`): built in the shared stack, beside the pool. */
  readonly cognito?: { trigger: string };
  /** The function's timeout in seconds (default 10: `rust-function.ts`); the local runner applies the same. */
  readonly timeoutSeconds?: number;
}

export interface ServiceDecl {
  readonly name: string;
  readonly prefix: string;
  /** The API Gateway API in front of the routes: `http` (default) or `rest` (`rest-api.ts`: a WAF can front it). */
  readonly api?: 'http' | 'rest';
  readonly functions: FunctionDecl[];
}

export function loadDeclaration(): ServiceDecl[] {
  const raw = JSON.parse(readFileSync(join(REPO_ROOT, 'lambdas', 'services.json'), 'utf8'));
  return raw.services as ServiceDecl[];
}

export function service(name: string): ServiceDecl {
  const s = loadDeclaration().find((x) => x.name === name);
  if (!s) throw new Error(`service ${name} is not declared in lambdas/services.json`);
  return s;
}

/**
 * The binary (and zip) of a service: `shop-<service>`. It serves every function of the service;
 * each function's Lambda handler setting (its declared name, `_HANDLER` at run time) picks one.
 */
export function binaryName(svc: ServiceDecl): string {
  return `shop-${svc.name}`;
}
