/**
 * IAM access tokens for a trusted profile, from the IBM Cloud VPC instance metadata service: no API key
 * on the node. Two calls per token (IBM Cloud docs "Instance identity operations", VPC Identity API,
 * version 2022-03-01; the /instance_identity paths stay valid for versions up to 2025-08-25):
 *
 *   PUT  <endpoint>/instance_identity/v1/token?version=2022-03-01      Metadata-Flavor: ibm
 *        {"expires_in": 300}  →  {access_token, created_at, expires_at, expires_in}   (instance identity token)
 *   POST <endpoint>/instance_identity/v1/iam_token?version=2022-03-01  Authorization: Bearer <identity token>
 *        {"trusted_profile": {"id": "Profile-…"}}  →  {access_token, created_at, expires_at, expires_in}  (IAM token)
 *
 * Errors come as {"errors": [{code, message, more_info, target}], "status_code", "trace"}; a profile not
 * linked to the instance is 400 `profile_not_linked`. The identity token is used once and dropped; the
 * IAM token is cached by CachedTokenSource. No token ever appears in an error message.
 */
import type { Dispatcher } from 'undici';
import { WrapError, WrapErrorCode } from './errors.js';
import { retryableStatus, sendJson, withRetries, type HttpResponse, type RetryPolicy } from './http.js';
import { CachedTokenSource, type FetchedToken } from './token-source.js';

/** The VPC Identity API version whose paths and bodies this client follows. */
export const METADATA_API_VERSION = '2022-03-01';
/** Lifetime asked for the instance identity token (documented range 5–3600 s, default 300): it is used at once. */
export const IDENTITY_TOKEN_SECONDS = 300;
/** On the instance when its metadata_service.protocol is http (https: https://api.metadata.cloud.ibm.com). */
export const DEFAULT_METADATA_ENDPOINT = 'http://169.254.169.254';

export interface TrustedProfileTokenOptions {
  /** Base URL of the metadata service: http://169.254.169.254, or https://api.metadata.cloud.ibm.com. */
  readonly metadataEndpoint: string;
  /** The trusted profile linked to the instance (compute resource identity), e.g. Profile-8dd84246-… */
  readonly profileId: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly now?: () => number;
}

interface VpcError {
  readonly code: string;
  readonly trace: string;
}

/** The documented error body's first code and trace, only when they look like codes (never echoed free text). */
function vpcError(body: unknown): VpcError {
  const doc = body as { errors?: Array<{ code?: unknown }>; trace?: unknown } | undefined;
  const code = doc?.errors?.[0]?.code;
  return {
    code: typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` ${code}` : '',
    trace: typeof doc?.trace === 'string' && /^[\w-]{1,64}$/.test(doc.trace) ? `, trace ${doc.trace}` : '',
  };
}

export class TrustedProfileTokenSource extends CachedTokenSource {
  private readonly base: string;

  constructor(private readonly options: TrustedProfileTokenOptions) {
    super(options.now);
    this.base = options.metadataEndpoint.replace(/\/+$/, '');
  }

  protected async fetchToken(): Promise<FetchedToken> {
    const identity = await withRetries(this.options.retry, () => this.identityToken());
    return withRetries(this.options.retry, () => this.iamToken(identity));
  }

  private async identityToken(): Promise<string> {
    const res = await this.send('PUT', 'token', { 'metadata-flavor': 'ibm' }, { expires_in: IDENTITY_TOKEN_SECONDS });
    if (res.status === 200 || res.status === 201) return tokenOf(res.body, 'instance identity token').accessToken;
    const { code, trace } = vpcError(res.body);
    if (res.status >= 500 || retryableStatus(res.status)) throw this.unavailable(`answered ${res.status}${code} to the instance identity token request${trace}`, res.status);
    throw new WrapError(WrapErrorCode.Auth, `the instance metadata service refused an instance identity token (${res.status}${code}${trace})`, { status: res.status, retryable: false });
  }

  private async iamToken(identity: string): Promise<FetchedToken> {
    const res = await this.send('POST', 'iam_token', { authorization: `Bearer ${identity}`, 'metadata-flavor': 'ibm' }, { trusted_profile: { id: this.options.profileId } });
    if (res.status === 200 || res.status === 201) return tokenOf(res.body, 'IAM token');
    const { code, trace } = vpcError(res.body);
    if (res.status >= 500 || retryableStatus(res.status)) throw this.unavailable(`answered ${res.status}${code} to the IAM token request${trace}`, res.status);
    const why =
      code === ' profile_not_linked'
        ? `trusted profile ${this.options.profileId} is not linked to this virtual server instance`
        : `the instance metadata service refused an IAM token for trusted profile ${this.options.profileId}`;
    throw new WrapError(WrapErrorCode.Auth, `${why} (${res.status}${code}${trace})`, { status: res.status, retryable: false });
  }

  private async send(method: 'PUT' | 'POST', operation: 'token' | 'iam_token', headers: Record<string, string>, body: object): Promise<HttpResponse> {
    const url = `${this.base}/instance_identity/v1/${operation}?version=${METADATA_API_VERSION}`;
    try {
      return await sendJson(this.options.dispatcher, url, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify(body),
        timeoutMs: this.options.timeoutMs,
      });
    } catch (err) {
      if (!(err instanceof WrapError)) throw err;
      // sendJson's message names the failure (ECONNREFUSED, a timeout) but not the service: say which.
      throw new WrapError(err.code, `instance metadata service at ${this.base}: ${err.detail}`, err.details, { cause: err.cause });
    }
  }

  /** The service is unwell: 429 and 5xx are retried, except 501 (IBM's retry guidance). */
  private unavailable(what: string, status: number): WrapError {
    return new WrapError(WrapErrorCode.Unavailable, `instance metadata service at ${this.base} ${what}`, { status, retryable: retryableStatus(status) });
  }
}

function tokenOf(body: unknown, what: string): FetchedToken {
  const doc = body as { access_token?: unknown; expires_in?: unknown } | undefined;
  if (!doc || typeof doc.access_token !== 'string' || doc.access_token.length === 0) {
    throw new WrapError(WrapErrorCode.Unavailable, `instance metadata service answer has no ${what}`, { retryable: true });
  }
  return { accessToken: doc.access_token, expiresInSeconds: typeof doc.expires_in === 'number' ? doc.expires_in : undefined };
}
