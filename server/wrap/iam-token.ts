/**
 * IBM Cloud IAM access tokens for an API key (grant type urn:ibm:params:oauth:grant-type:apikey).
 * Caching and refresh are CachedTokenSource's; this file only exchanges the key. Neither the API key
 * nor a token ever appears in an error message.
 */
import type { Dispatcher } from 'undici';
import { WrapError, WrapErrorCode } from './errors.js';
import { retryableStatus, sendJson, withRetries, type RetryPolicy } from './http.js';
import { CachedTokenSource, type FetchedToken } from './token-source.js';

export interface IamTokenOptions {
  /** Base URL, e.g. https://iam.cloud.ibm.com (a trailing /identity/token is accepted). */
  readonly url: string;
  readonly apiKey: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly now?: () => number;
}

export class IamTokenSource extends CachedTokenSource {
  private readonly endpoint: string;

  constructor(private readonly options: IamTokenOptions) {
    super(options.now);
    this.endpoint = `${options.url.replace(/\/+$/, '').replace(/\/identity\/token$/, '')}/identity/token`;
  }

  /** Bounded by the request timeout and the retry policy, whoever waits for it. */
  protected fetchToken(): Promise<FetchedToken> {
    const body = new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.options.apiKey, response_type: 'cloud_iam' }).toString();
    return withRetries(this.options.retry, async () => {
      const res = await sendJson(this.options.dispatcher, this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        timeoutMs: this.options.timeoutMs,
      });
      if (res.status === 200) return accept(res.body);
      const errorCode = (res.body as { errorCode?: unknown } | undefined)?.errorCode;
      const code = typeof errorCode === 'string' && /^[A-Z0-9]{1,16}$/.test(errorCode) ? ` ${errorCode}` : '';
      throw retryableStatus(res.status)
        ? new WrapError(WrapErrorCode.Unavailable, `IAM token endpoint answered ${res.status}${code}`, { status: res.status, retryable: true })
        : new WrapError(WrapErrorCode.Auth, `IAM refused the API key (${res.status}${code})`, { status: res.status, retryable: false });
    });
  }
}

function accept(body: unknown): FetchedToken {
  const doc = body as { access_token?: unknown; expires_in?: unknown } | undefined;
  if (!doc || typeof doc.access_token !== 'string' || doc.access_token.length === 0) {
    throw new WrapError(WrapErrorCode.Unavailable, 'IAM token response has no access_token', { retryable: true });
  }
  return { accessToken: doc.access_token, expiresInSeconds: typeof doc.expires_in === 'number' ? doc.expires_in : undefined };
}
