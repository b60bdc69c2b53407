/**
 * Key Protect import tokens (API v2), for secure import of customer root key material:
 *
 *   POST /api/v2/import_token  {"expiration": seconds, "maxAllowedRetrievals": n}
 *        → 200 {creationDate, expirationDate, maxAllowedRetrievals, remainingRetrievals}
 *   GET  /api/v2/import_token
 *        → 200 {…the same…, payload: base64 of the PEM public key, nonce: base64}
 *
 * Headers as for every Key Protect call: `authorization: Bearer <IAM token>`, `bluemix-instance: <instance GUID>`,
 * a `correlation-id`, and `content-type: application/json` on the POST (Key Protect docs `create-import-tokens.md`;
 * IBM/keyprotect-nodejs-client `postImportToken` / `getImportToken`). An instance has one import token at a time:
 * creating one replaces the previous. `expiration` is 300–86400 s (default 600), `maxAllowedRetrievals` 1–500
 * (default 1); every GET uses one retrieval, and an expired token answers 409 `IMPORT_TOKEN_EXPIRED_ERR`
 * (docs `error-messages.md`).
 *
 * So a GET is never retried on its own (a lost answer would have spent the retrieval): `freshImportToken`
 * retries create-then-get as a pair, each try replacing the token. Errors are WrapErrors, as everywhere in this
 * layer; no token, API key or key byte ever appears in one.
 */
import { randomUUID } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { createTokenSource, type KeyProtectAuth } from './credentials.js';
import { WrapError, WrapErrorCode } from './errors.js';
import { backoffDelay, retryableStatus, sendJson, sleep, type HttpResponse, type RetryPolicy } from './http.js';
import type { ImportTokenKeys } from './keyprotect-import-crypto.js';
import { keyProtectBaseUrl } from './keyprotect.js';
import type { TokenSource } from './token-source.js';
import { keyProtectReasonCode } from './kp-reason.js';

export const IMPORT_TOKEN_MIN_SECONDS = 300;
export const IMPORT_TOKEN_MAX_SECONDS = 86_400;
export const IMPORT_TOKEN_MAX_RETRIEVALS = 500;

export interface KeyProtectImportOptions {
  /** Needed when `endpoint` is "public" or "private". */
  readonly region?: string | undefined;
  /** The Key Protect instance GUID (the `bluemix-instance` header). */
  readonly instanceId: string;
  /** "public", "private", or a base URL (tests). */
  readonly endpoint: string;
  readonly auth: KeyProtectAuth;
  /** Per HTTP request. @default 30000 (IBM's Go client's default) */
  readonly requestTimeoutMs?: number;
  /** @default 4 (IBM's RetryMax) */
  readonly maxAttempts?: number;
  readonly dispatcher?: Dispatcher;
  readonly now?: () => number;
}

export interface ImportTokenPolicy {
  /** Seconds the token (its public key) stays valid: 300–86400. */
  readonly expirationSeconds: number;
  /** How many times the token may be retrieved: 1–500. */
  readonly maxAllowedRetrievals: number;
}

export interface ImportTokenMetadata {
  readonly creationDate?: string | undefined;
  /** RFC 3339. */
  readonly expirationDate: string;
  readonly maxAllowedRetrievals?: number | undefined;
  readonly remainingRetrievals?: number | undefined;
}

/** A retrieved import token: its metadata, the public key and the nonce as Key Protect sent them (base64). */
export interface ImportToken extends ImportTokenMetadata, ImportTokenKeys {}


function checkPolicy(policy: ImportTokenPolicy): void {
  const { expirationSeconds: e, maxAllowedRetrievals: m } = policy;
  if (!Number.isInteger(e) || e < IMPORT_TOKEN_MIN_SECONDS || e > IMPORT_TOKEN_MAX_SECONDS) {
    throw new WrapError(WrapErrorCode.Config, `an import token lives ${IMPORT_TOKEN_MIN_SECONDS} to ${IMPORT_TOKEN_MAX_SECONDS} seconds, not ${String(e)}`);
  }
  if (!Number.isInteger(m) || m < 1 || m > IMPORT_TOKEN_MAX_RETRIEVALS) {
    throw new WrapError(WrapErrorCode.Config, `an import token allows 1 to ${IMPORT_TOKEN_MAX_RETRIEVALS} retrievals, not ${String(m)}`);
  }
}

function metadataOf(body: unknown, what: string): ImportTokenMetadata {
  const doc = body as Record<string, unknown> | undefined;
  const expirationDate = doc?.['expirationDate'];
  if (typeof expirationDate !== 'string' || Number.isNaN(Date.parse(expirationDate))) {
    throw new WrapError(WrapErrorCode.Unavailable, `Key Protect's ${what} answer has no expirationDate`, { retryable: false });
  }
  const num = (k: string) => (typeof doc?.[k] === 'number' ? (doc[k] as number) : undefined);
  return {
    expirationDate,
    creationDate: typeof doc?.['creationDate'] === 'string' ? (doc['creationDate'] as string) : undefined,
    maxAllowedRetrievals: num('maxAllowedRetrievals'),
    remainingRetrievals: num('remainingRetrievals'),
  };
}

export class KeyProtectImportClient {
  private readonly url: string;
  private readonly tokens: TokenSource;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: KeyProtectImportOptions) {
    if ((options.endpoint === 'public' || options.endpoint === 'private') && !options.region) {
      throw new WrapError(WrapErrorCode.Config, `the ${options.endpoint} Key Protect endpoint needs a region`);
    }
    this.url = `${keyProtectBaseUrl(options.region ?? '', options.endpoint)}/api/v2/import_token`;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.retry = { maxAttempts: options.maxAttempts ?? 4, baseDelayMs: 200, maxDelayMs: 5_000 };
    this.now = options.now ?? Date.now;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ connections: 2, connect: { timeout: this.timeoutMs } });
    this.tokens = createTokenSource(options.auth, { dispatcher: this.dispatcher, timeoutMs: this.timeoutMs, retry: this.retry, now: this.now });
  }

  /** Creates the instance's import token (replacing any other). */
  async createImportToken(policy: ImportTokenPolicy, signal?: AbortSignal): Promise<ImportTokenMetadata> {
    checkPolicy(policy);
    return this.retried(() => this.create(policy, signal), signal);
  }

  /** Retrieves the import token once (one retrieval spent): never retried, see the file comment. */
  async getImportToken(signal?: AbortSignal): Promise<ImportToken> {
    const body = await this.once('GET', undefined, signal);
    const doc = body as { payload?: unknown; nonce?: unknown } | undefined;
    if (typeof doc?.payload !== 'string' || typeof doc.nonce !== 'string') {
      throw new WrapError(WrapErrorCode.Unavailable, "Key Protect's import token answer has no public key or nonce", { retryable: false });
    }
    return { ...metadataOf(body, 'import token'), publicKey: doc.payload, nonce: doc.nonce };
  }

  /** A new import token, retrieved: create and get as one step, retried as a pair. */
  async freshImportToken(policy: ImportTokenPolicy, signal?: AbortSignal): Promise<ImportToken> {
    checkPolicy(policy);
    return this.retried(async () => {
      await this.create(policy, signal);
      return this.getImportToken(signal);
    }, signal);
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async create(policy: ImportTokenPolicy, signal?: AbortSignal): Promise<ImportTokenMetadata> {
    return metadataOf(await this.once('POST', { expiration: policy.expirationSeconds, maxAllowedRetrievals: policy.maxAllowedRetrievals }, signal), 'create import token');
  }

  private async retried<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = this.now() + this.timeoutMs * this.retry.maxAttempts;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (!(err instanceof WrapError)) throw err;
        const wait = backoffDelay(this.retry, attempt);
        if (!err.details.retryable || attempt + 1 >= this.retry.maxAttempts || this.now() + wait >= deadline || signal?.aborted) throw err;
        await sleep(wait, signal);
      }
    }
  }

  /** One exchange with Key Protect; a 401 gets one fresh IAM token and one more try. */
  private async once(method: 'GET' | 'POST', body: object | undefined, signal?: AbortSignal): Promise<unknown> {
    for (let refreshed = false; ; refreshed = true) {
      let token: string;
      try {
        token = await this.tokens.token(signal);
      } catch (err) {
        // The token source has retried already: its failure is final here.
        if (err instanceof WrapError) {
          const detail = /IAM|metadata service/.test(err.detail) ? err.detail : `getting an IAM token: ${err.detail}`;
          throw new WrapError(err.code, detail, { ...err.details, retryable: false }, { cause: err.cause });
        }
        throw err;
      }
      const correlationId = randomUUID();
      let res: HttpResponse;
      try {
        res = await sendJson(this.dispatcher, this.url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'bluemix-instance': this.options.instanceId,
            'correlation-id': correlationId,
            accept: 'application/json',
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
          timeoutMs: this.timeoutMs,
          signal,
        });
      } catch (err) {
        if (err instanceof WrapError) throw new WrapError(err.code, `Key Protect at ${new URL(this.url).origin}: ${err.detail}`, { ...err.details, correlationId }, { cause: err.cause });
        throw err;
      }
      if (res.status === 200 || res.status === 201) return res.body;
      if (res.status === 401 && !refreshed) {
        this.tokens.invalidate(token);
        continue;
      }
      throw this.failure(method, res.status, res.body, correlationId);
    }
  }

  private failure(method: 'GET' | 'POST', status: number, body: unknown, correlationId: string): WrapError {
    const code = keyProtectReasonCode(body);
    const details = { status, correlationId, retryable: retryableStatus(status) };
    const what = method === 'POST' ? 'creating the import token' : 'retrieving the import token';
    const detail = `Key Protect answered ${status}${code ? ` ${code}` : ''} to ${what} (correlation-id ${correlationId})`;
    if (status === 401 || status === 403) {
      return new WrapError(WrapErrorCode.Auth, `${detail}: no access to import tokens of instance ${this.options.instanceId} (needs the Writer or Manager service role)`, details);
    }
    if (status === 409 && code === 'IMPORT_TOKEN_EXPIRED_ERR') return new WrapError(WrapErrorCode.Rejected, `${detail}: the import token has expired`, details);
    if (status === 409) return new WrapError(WrapErrorCode.Rejected, `${detail}: the import token is used up or expired`, details);
    if (status === 404) return new WrapError(WrapErrorCode.Rejected, `${detail}: no such instance or import token`, details);
    if (status >= 500 || details.retryable) return new WrapError(WrapErrorCode.Unavailable, detail, details);
    return new WrapError(WrapErrorCode.Rejected, detail, details);
  }
}
