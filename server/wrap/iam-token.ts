/**
 * IBM Cloud IAM access tokens for an API key: cached, refreshed in the background once 80% of the
 * lifetime has passed, refreshed in line when expired or when Key Protect answers 401, with one
 * refresh in flight at a time. Neither the API key nor a token ever appears in an error message.
 */
import type { Dispatcher } from 'undici';
import { WrapError, WrapErrorCode } from './errors.js';
import { backoffDelay, retryableStatus, sendJson, sleep, unlessAbandoned, type RetryPolicy } from './http.js';

export interface IamTokenOptions {
  /** Base URL, e.g. https://iam.cloud.ibm.com (a trailing /identity/token is accepted). */
  readonly url: string;
  readonly apiKey: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly now?: () => number;
}

interface Cached {
  readonly token: string;
  /** Epoch ms after which a background refresh starts. */
  readonly refreshAt: number;
  /** Epoch ms after which the token is not used any more. */
  readonly expiresAt: number;
}

function claims(token: string): { iat?: number; exp?: number } {
  try {
    const payload = token.split('.')[1];
    return payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: number; exp?: number }) : {};
  } catch {
    return {};
  }
}

export class IamTokenSource {
  private cached: Cached | undefined;
  private inFlight: Promise<Cached> | undefined;
  private readonly endpoint: string;
  private readonly now: () => number;

  constructor(private readonly options: IamTokenOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, '').replace(/\/identity\/token$/, '')}/identity/token`;
    this.now = options.now ?? Date.now;
  }

  async token(signal?: AbortSignal): Promise<string> {
    const now = this.now();
    const c = this.cached;
    if (c && now < c.expiresAt) {
      if (now >= c.refreshAt) void this.refresh().catch(() => undefined);
      return c.token;
    }
    // The fetch is shared by every caller waiting for a token: one caller giving up must not fail the others.
    return (await unlessAbandoned(this.refresh(), signal)).token;
  }

  /** Forgets a token Key Protect refused, so the next call fetches a new one. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private refresh(): Promise<Cached> {
    this.inFlight ??= this.fetch().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Bounded by the request timeout and the retry policy, whoever waits for it. */
  private async fetch(): Promise<Cached> {
    const body = new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.options.apiKey, response_type: 'cloud_iam' }).toString();
    for (let attempt = 0; ; attempt++) {
      let failure: WrapError;
      try {
        const res = await sendJson(this.options.dispatcher, this.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
          timeoutMs: this.options.timeoutMs,
        });
        if (res.status === 200) return this.accept(res.body);
        const errorCode = (res.body as { errorCode?: unknown } | undefined)?.errorCode;
        const code = typeof errorCode === 'string' ? ` ${errorCode}` : '';
        failure = retryableStatus(res.status)
          ? new WrapError(WrapErrorCode.Unavailable, `IAM token endpoint answered ${res.status}${code}`, { status: res.status, retryable: true })
          : new WrapError(WrapErrorCode.Auth, `IAM refused the API key (${res.status}${code})`, { status: res.status, retryable: false });
      } catch (err) {
        if (!(err instanceof WrapError)) throw err;
        failure = err;
      }
      if (!failure.details.retryable || attempt + 1 >= this.options.retry.maxAttempts) throw failure;
      await sleep(backoffDelay(this.options.retry, attempt));
    }
  }

  private accept(body: unknown): Cached {
    const doc = body as { access_token?: unknown; expires_in?: unknown; token_type?: unknown } | undefined;
    if (!doc || typeof doc.access_token !== 'string' || doc.access_token.length === 0) {
      throw new WrapError(WrapErrorCode.Unavailable, 'IAM token response has no access_token', { retryable: true });
    }
    const now = this.now();
    const { iat, exp } = claims(doc.access_token);
    const issued = typeof iat === 'number' ? iat * 1000 : now;
    const expires = typeof exp === 'number' ? exp * 1000 : now + (typeof doc.expires_in === 'number' ? doc.expires_in : 3600) * 1000;
    const lifetime = Math.max(0, expires - issued);
    const cached: Cached = { token: doc.access_token, refreshAt: issued + lifetime * 0.8, expiresAt: expires - 10_000 };
    this.cached = cached;
    return cached;
  }
}
