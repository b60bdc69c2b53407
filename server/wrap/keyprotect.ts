/**
 * The Key Protect root-key provider (API v2 over undici 7): every object's material is wrapped by
 * the customer's root key with the object's Unique Identifier as AAD, so a disabled or deleted root
 * key stops key release (within the unwrap cache's time to live). Calls carry a correlation-id
 * that goes to our log too; connections are pooled and kept alive, so concurrent KMIP requests
 * never wait on one another's HTTP call. Retries follow IBM's guidance and never outlive the
 * request's deadline.
 */
import { randomUUID } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { WrapError, WrapErrorCode } from './errors.js';
import { createTokenSource, type KeyProtectAuth } from './credentials.js';
import { backoffDelay, retryableStatus, sendJson, sleep, type RetryPolicy } from './http.js';
import type { TokenSource } from './token-source.js';
import { UnwrapCache } from './unwrap-cache.js';
import type { KeyWrapper, UnwrapResult, WrappedKey } from './wrapper.js';
import { keyProtectReasonCode } from './kp-reason.js';
import { deadlineOf } from '../util/deadline.js';

export interface KeyProtectOptions {
  readonly region: string;
  readonly instanceId: string;
  readonly rootKeyId: string;
  /** "private", "public", or a base URL (Hyper Protect Crypto Services, tests). */
  readonly endpoint: string;
  /** Where IAM tokens come from: an API key at IAM, or the instance's trusted profile. */
  readonly auth?: KeyProtectAuth;
  /** The API-key form without `auth` (kept for existing callers): `apiKey`, and IAM at `iamEndpoint`. */
  readonly apiKey?: string;
  readonly iamEndpoint?: string;
  /** Unwrapped material is reused for this long; 0 turns the cache off. */
  readonly cacheSeconds: number;
  readonly cacheMaxEntries?: number;
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
  readonly dispatcher?: Dispatcher;
  readonly now?: () => number;
  /** Told about every call (for the log and metrics); never given secrets. */
  readonly onCall?: (event: KeyProtectCall) => void;
}

export interface KeyProtectCall {
  readonly action: 'wrap' | 'unwrap' | 'rewrap' | 'metadata';
  readonly status: number;
  readonly correlationId: string;
  readonly attempt: number;
  readonly ms: number;
  readonly code?: string | undefined;
}

export function keyProtectBaseUrl(region: string, endpoint: string): string {
  if (endpoint === 'private') return `https://private.${region}.kms.cloud.ibm.com`;
  if (endpoint === 'public') return `https://${region}.kms.cloud.ibm.com`;
  return endpoint.replace(/\/+$/, '');
}

const CONTENT_TYPE: Record<KeyProtectCall['action'], string> = {
  wrap: 'application/vnd.ibm.kms.key_action_wrap+json',
  unwrap: 'application/vnd.ibm.kms.key_action_unwrap+json',
  rewrap: 'application/vnd.ibm.kms.key_action_rewrap+json',
  metadata: 'application/json',
};

/** Exactly one credential source: `auth`, or the older `apiKey` (+ `iamEndpoint`). */
function credentials(options: KeyProtectOptions): KeyProtectAuth {
  if (options.auth && options.apiKey !== undefined) throw new WrapError(WrapErrorCode.Config, 'give either auth or apiKey, not both');
  if (options.auth) return options.auth;
  if (options.apiKey !== undefined) return { kind: 'apiKey', apiKey: options.apiKey, iamEndpoint: options.iamEndpoint ?? 'https://iam.cloud.ibm.com' };
  throw new WrapError(WrapErrorCode.Config, 'no credentials for Key Protect: auth or apiKey is required');
}


/** Key Protect's answer as our error: the root key's state, access, or the service being unwell. */
function kpFailure(status: number, body: unknown, correlationId: string): WrapError {
  const code = keyProtectReasonCode(body);
  const details = { status, correlationId, retryable: retryableStatus(status) };
  const detail = `Key Protect answered ${status}${code ? ` ${code}` : ''}`;
  if (status === 401 || status === 403) return new WrapError(WrapErrorCode.Auth, `${detail}: no access to the root key`, details);
  if (status === 404) return new WrapError(WrapErrorCode.RootKeyUnusable, `${detail}: root key not found`, details);
  if (status === 410) return new WrapError(WrapErrorCode.RootKeyUnusable, `${detail}: root key deleted`, details);
  if (status === 409 && code === 'KEY_ACTION_INVALID_STATE_ERR') return new WrapError(WrapErrorCode.RootKeyUnusable, `${detail}: root key is not active`, details);
  if (status === 409 && code === 'REQ_TOO_EARLY_ERR') return new WrapError(WrapErrorCode.Unavailable, detail, { ...details, retryable: true });
  if (status === 400 && code === 'KEY_ROOT_REQ_ERR') return new WrapError(WrapErrorCode.Config, `${detail}: the configured key is not a root key`, details);
  if (status === 422) return new WrapError(WrapErrorCode.Rejected, `${detail}: ciphertext does not unwrap for this object`, details);
  if (status >= 500 || details.retryable) return new WrapError(WrapErrorCode.Unavailable, detail, details);
  return new WrapError(WrapErrorCode.Rejected, detail, details);
}

export class KeyProtectWrapper implements KeyWrapper {
  readonly kind = 'keyprotect';
  private readonly base: string;
  private readonly tokens: TokenSource;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly cache: UnwrapCache;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;

  constructor(private readonly options: KeyProtectOptions) {
    const auth = credentials(options);
    this.base = `${keyProtectBaseUrl(options.region, options.endpoint)}/api/v2/keys/${encodeURIComponent(options.rootKeyId)}`;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ connections: 64, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 300_000, connect: { timeout: options.requestTimeoutMs } });
    this.retry = { maxAttempts: options.maxAttempts, baseDelayMs: 100, maxDelayMs: 2000 };
    this.now = options.now ?? Date.now;
    this.tokens = createTokenSource(auth, { dispatcher: this.dispatcher, timeoutMs: options.requestTimeoutMs, retry: this.retry, now: this.now });
    this.cache = new UnwrapCache(options.cacheSeconds * 1000, options.cacheMaxEntries ?? 10_000, this.now);
  }

  private async call(action: KeyProtectCall['action'], body: object | undefined, signal?: AbortSignal): Promise<unknown> {
    const perAttempt = this.options.requestTimeoutMs;
    const ownDeadline = this.now() + perAttempt * this.options.maxAttempts;
    // The KMIP request's deadline (set by the listener a margin before its timeout): every attempt,
    // the token wait included, ends by then, and a retry starts only when a whole attempt still fits.
    const requestEpoch = deadlineOf(signal);
    const requestDeadline = requestEpoch === undefined ? undefined : this.now() + (requestEpoch - Date.now());
    const deadline = requestDeadline === undefined ? ownDeadline : Math.min(ownDeadline, requestDeadline);
    let refreshedToken = false;
    for (let attempt = 0; ; attempt++) {
      const correlationId = randomUUID();
      const started = this.now();
      let failure: WrapError;
      let gotToken = false;
      try {
        if (deadline - started <= 0) throw new WrapError(WrapErrorCode.Timeout, 'no time left before the request deadline', { retryable: false });
        const token = await this.tokens.token(signal);
        gotToken = true;
        const res = await sendJson(this.dispatcher, action === 'metadata' ? `${this.base}/metadata` : `${this.base}/actions/${action}`, {
          method: action === 'metadata' ? 'GET' : 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'bluemix-instance': this.options.instanceId,
            'correlation-id': correlationId,
            accept: 'application/json',
            ...(body ? { 'content-type': CONTENT_TYPE[action] } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
          timeoutMs: Math.max(1, Math.min(perAttempt, deadline - this.now())),
          signal,
        });
        this.options.onCall?.({ action, status: res.status, correlationId, attempt, ms: this.now() - started, code: keyProtectReasonCode(res.body) });
        if (res.status === 200) return res.body;
        if (res.status === 401 && !refreshedToken) {
          // An expired or revoked token: one fresh token, one more try.
          refreshedToken = true;
          this.tokens.invalidate(token);
          attempt--;
          continue;
        }
        failure = kpFailure(res.status, res.body, correlationId);
      } catch (err) {
        if (!(err instanceof WrapError)) throw err;
        failure = err.details.correlationId ? err : new WrapError(err.code, err.detail, { ...err.details, correlationId }, { cause: err.cause });
        if (failure.code !== WrapErrorCode.Auth) this.options.onCall?.({ action, status: 0, correlationId, attempt, ms: this.now() - started, code: failure.code });
      }
      const wait = backoffDelay(this.retry, attempt);
      // A token source that failed has retried with backoff already: no second round on top of its own.
      const retryAt = this.now() + wait;
      if (!gotToken || !failure.details.retryable || attempt + 1 >= this.retry.maxAttempts || retryAt >= ownDeadline || signal?.aborted) throw failure;
      if (requestDeadline !== undefined && retryAt + perAttempt > requestDeadline) throw failure;
      await sleep(wait, signal);
    }
  }

  async wrap(plaintext: Uint8Array, aad: string, signal?: AbortSignal): Promise<WrappedKey> {
    const res = (await this.call('wrap', { plaintext: Buffer.from(plaintext).toString('base64'), aad: [aad] }, signal)) as {
      ciphertext?: unknown;
      keyVersion?: { id?: unknown };
    };
    if (typeof res?.ciphertext !== 'string' || typeof res.keyVersion?.id !== 'string') {
      throw new WrapError(WrapErrorCode.Unavailable, 'Key Protect wrap response is incomplete', { retryable: false });
    }
    return this.wrapped(res.ciphertext, res.keyVersion.id);
  }

  private wrapped(ciphertext: string, version: string): WrappedKey {
    return { ciphertext: new Uint8Array(Buffer.from(ciphertext, 'utf8')), wrapKind: this.kind, rootKeyId: this.options.rootKeyId, rootKeyVersion: version };
  }

  private checkOwnership(wrapped: WrappedKey): void {
    if (wrapped.wrapKind !== this.kind || wrapped.rootKeyId !== this.options.rootKeyId) {
      throw new WrapError(WrapErrorCode.RootKeyUnusable, `object is wrapped by another root key (${wrapped.wrapKind} ${wrapped.rootKeyId})`);
    }
  }

  async unwrap(wrapped: WrappedKey, aad: string, signal?: AbortSignal): Promise<UnwrapResult> {
    this.checkOwnership(wrapped);
    const key = UnwrapCache.key(wrapped.ciphertext, aad);
    const cached = this.cache.get(key);
    if (cached) return { plaintext: cached };
    const res = (await this.call('unwrap', { ciphertext: Buffer.from(wrapped.ciphertext).toString('utf8'), aad: [aad] }, signal)) as {
      plaintext?: unknown;
      ciphertext?: unknown;
      rewrappedKeyVersion?: { id?: unknown };
    };
    if (typeof res?.plaintext !== 'string') throw new WrapError(WrapErrorCode.Unavailable, 'Key Protect unwrap response has no plaintext', { retryable: false });
    const plaintext = new Uint8Array(Buffer.from(res.plaintext, 'base64'));
    this.cache.set(key, plaintext);
    const rewrapped =
      typeof res.ciphertext === 'string' && typeof res.rewrappedKeyVersion?.id === 'string' ? this.wrapped(res.ciphertext, res.rewrappedKeyVersion.id) : undefined;
    return { plaintext, rewrapped };
  }

  async rewrap(wrapped: WrappedKey, aad: string, signal?: AbortSignal): Promise<WrappedKey> {
    this.checkOwnership(wrapped);
    const res = (await this.call('rewrap', { ciphertext: Buffer.from(wrapped.ciphertext).toString('utf8'), aad: [aad] }, signal)) as {
      ciphertext?: unknown;
      rewrappedKeyVersion?: { id?: unknown };
    };
    if (typeof res?.ciphertext !== 'string' || typeof res.rewrappedKeyVersion?.id !== 'string') {
      throw new WrapError(WrapErrorCode.Unavailable, 'Key Protect rewrap response is incomplete', { retryable: false });
    }
    if (res.rewrappedKeyVersion.id === wrapped.rootKeyVersion) return wrapped;
    return this.wrapped(res.ciphertext, res.rewrappedKeyVersion.id);
  }

  async currentVersion(signal?: AbortSignal): Promise<string> {
    const res = (await this.call('metadata', undefined, signal)) as { resources?: Array<{ keyVersion?: { id?: unknown } }> };
    const id = res?.resources?.[0]?.keyVersion?.id;
    if (typeof id !== 'string') throw new WrapError(WrapErrorCode.Unavailable, 'Key Protect metadata has no key version', { retryable: false });
    return id;
  }

  /** Ready when the root key exists and is active. */
  async check(signal?: AbortSignal): Promise<void> {
    const res = (await this.call('metadata', undefined, signal)) as { resources?: Array<{ state?: unknown; extractable?: unknown }> };
    const key = res?.resources?.[0];
    if (key?.extractable === true) throw new WrapError(WrapErrorCode.Config, 'the configured key is a standard key, not a root key');
    if (key?.state !== 1) throw new WrapError(WrapErrorCode.RootKeyUnusable, `root key is not active (state ${String(key?.state)})`);
  }

  async close(): Promise<void> {
    this.cache.clear();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
