/**
 * A typed client of the shop's API. The types are generated from `openapi.yaml`
 * (`npm run generate`, committed in `schema.d.ts`); requests go through openapi-fetch, so every
 * path, body and answer is checked by the compiler. The helpers cover what is awkward raw:
 *
 * - {@link Shop.signIn} keeps the tokens; a request answered with API Gateway's 401 refreshes
 *   them once and is sent again ({@link Session}).
 * - {@link Shop.placeOrder} sends an `Idempotency-Key` (a new one per cart unless given), so a
 *   retried request can never place a second order or move money twice.
 * - {@link pages} walks `nextToken` (a body field) and {@link headerPages} the `x-next-token`
 *   header, both as async iterators.
 *
 * Every error answer is typed: the handlers' `{"error", "code"}` and API Gateway's own
 * `{"message"}` ({@link isGatewayAnswer}), which the client must handle too.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
export type Schemas = components['schemas'];
export type Order = Schemas['Order'];
export type ApiError = Schemas['Error'];
export type GatewayMessage = Schemas['GatewayMessage'];
export type Tokens = Schemas['TokensBody']['tokens'];

/** An answer API Gateway made itself (`{"message"}`: 401, 404 for an unknown route, 413, 429, 500). */
export function isGatewayAnswer(body: unknown): body is GatewayMessage {
  return typeof body === 'object' && body !== null && 'message' in body && !('code' in body);
}

/** The tokens of a signed-in user, refreshed when API Gateway's authorizer refuses the ID token. */
export class Session {
  constructor(public tokens: Tokens) {}
  get idToken(): string {
    return this.tokens.IdToken;
  }
}

export interface ShopOptions {
  /** The API's base URL: the local runner (`http://127.0.0.1:3000`) serves every service under its prefix. */
  baseUrl: string;
  /** A fetch of your own (a test's mock, a browser's). */
  fetch?: typeof fetch;
}

/** A cart line. */
export interface Line {
  id: string;
  quantity: number;
}

export class Shop {
  readonly api: Client<paths>;
  session?: Session;
  private refreshing?: Promise<boolean>;

  constructor(options: ShopOptions) {
    this.api = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
    this.api.use(this.auth());
  }

  /** Signs in and keeps the tokens; `undefined` tokens mean a TOTP challenge (answer it at `/auth/mfa/sign-in`). */
  async signIn(email: string, password: string) {
    const answer = await this.api.POST('/auth/sign-in', { body: { email, password } });
    if (answer.data && 'tokens' in answer.data) this.session = new Session(answer.data.tokens);
    return answer;
  }

  /**
   * Places a cart (optionally paid with a Stripe PaymentMethod id) under an `Idempotency-Key`:
   * send the same key again after a network error and you get the same order, never a second one.
   */
  async placeOrder(lines: Line[], options: { paymentMethod?: string; idempotencyKey?: string } = {}) {
    const key = options.idempotencyKey ?? crypto.randomUUID();
    const body = { items: lines, ...(options.paymentMethod ? { paymentMethod: options.paymentMethod } : {}) };
    const answer = await this.api.POST('/order/create-order', { body, params: { header: { 'Idempotency-Key': key } } });
    return { ...answer, idempotencyKey: key };
  }

  /** Adds the ID token; on API Gateway's 401, refreshes once and sends the request again. */
  private auth(): Middleware {
    return {
      onRequest: ({ request }) => {
        if (this.session && !request.headers.has('authorization')) {
          request.headers.set('authorization', `Bearer ${this.session.idToken}`);
        }
        return request;
      },
      onResponse: async ({ request, response }) => {
        if (response.status !== 401 || !this.session || request.url.includes('/auth/')) return response;
        const body: unknown = await response.clone().json().catch(() => null);
        if (!isGatewayAnswer(body)) return response;
        if (!(await this.refresh())) return response;
        const again = new Request(request, { headers: new Headers(request.headers) });
        again.headers.set('authorization', `Bearer ${this.session.idToken}`);
        return fetch(again);
      },
    };
  }

  /** New ID and access tokens from the refresh token; one refresh at a time. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      const refreshToken = this.session?.tokens.RefreshToken;
      if (!refreshToken) return false;
      const { data } = await this.api.POST('/auth/refresh-token', { body: { refreshToken } });
      if (!data) return false;
      this.session = new Session({ ...data.tokens, RefreshToken: refreshToken });
      return true;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}

/**
 * Every item of a listing that pages with a `nextToken` field: `fetchPage(token)` answers one page,
 * `items(page)` its items.
 */
export async function* pages<P extends { nextToken?: string | null }, T>(
  fetchPage: (nextToken?: string) => Promise<{ data?: P }>,
  items: (page: P) => T[],
): AsyncGenerator<T> {
  let token: string | undefined;
  do {
    const { data } = await fetchPage(token);
    if (!data) return;
    yield* items(data);
    token = data.nextToken ?? undefined;
  } while (token);
}

/** Every item of a listing that pages with the `x-next-token` response header (the original's bare arrays). */
export async function* headerPages<T>(
  fetchPage: (nextToken?: string) => Promise<{ data?: T[]; response: Response }>,
): AsyncGenerator<T> {
  let token: string | undefined;
  do {
    const { data, response } = await fetchPage(token);
    if (!data) return;
    yield* data;
    token = response.headers.get('x-next-token') ?? undefined;
  } while (token);
}
