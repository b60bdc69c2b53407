/**
 * Opening the store at start while its database may be down. A node that exits on an unreachable
 * database has no /healthz and no /readyz until it returns; instead it retries with a bounded
 * backoff. Only failures that waiting can heal are retried: a refused, reset, timed-out or
 * unroutable connection, a server still starting, a host name that does not resolve yet (a new
 * database's private DNS record can lag behind the instance that boots with it). Wrong credentials, a
 * missing database, a certificate that does not verify or a schema newer than this server never heal
 * by themselves: they end the start, so the operator sees them at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isStoreError, StoreErrorCode, type StoreError } from './errors.js';

/** Socket and resolver errors of a database host that is down, restarting, not routable or not in DNS yet. */
export const NETWORK_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * SQLSTATEs of a server that is there but cannot take a session yet: starting up or shutting down
 * (57P03, 57P01, 57P02), out of connection slots (53300), connection exceptions (class 08, but not
 * 08P01, a protocol violation, nor 08004, a refusal).
 */
const NOT_YET = new Set(['57P03', '57P01', '57P02', '53300', '08000', '08001', '08003', '08006']);

/** node-postgres' own errors (no code) for a connection that timed out or was dropped before it was usable. */
const DROPPED = /^(timeout expired|timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?)$/;

function connectionFailed(cause: unknown): boolean {
  if (!(cause instanceof Error)) return false;
  // Several addresses of one host name (IPv4 and IPv6) fail together as one AggregateError.
  if (cause instanceof AggregateError && cause.errors.length > 0) return cause.errors.every(connectionFailed);
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') return NETWORK_ERRORS.has(code) || NOT_YET.has(code);
  return DROPPED.test(cause.message);
}

/**
 * Whether opening the store failed only because the database cannot be reached yet. A migration
 * counts only when its connection was lost midway; a migration the database refused does not.
 */
export function isTransientOpenFailure(err: unknown): err is StoreError {
  if (!isStoreError(err)) return false;
  if (err.code !== StoreErrorCode.Unavailable && err.code !== StoreErrorCode.Migration) return false;
  return connectionFailed(err.cause);
}

/** Userinfo of a URL (a database password) must never reach a log line or an exit message. */
function withoutCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//');
}

/** The driver's own words for a store failure (the socket error or SQLSTATE), short: for /readyz and logs. */
export function failureCause(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  if (!(cause instanceof Error)) return withoutCredentials(String(cause)).slice(0, 120);
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? code : withoutCredentials(cause.message).slice(0, 120);
}

/** A store failure for an exit message: the stable code and the database's reason (which says what to fix). */
export function describeOpenFailure(err: unknown): string {
  if (!(err instanceof Error)) return withoutCredentials(String(err));
  const cause = err.cause instanceof Error && err.cause.message && !err.message.includes(err.cause.message) ? ` (${err.cause.message})` : '';
  return withoutCredentials(`${err.message}${cause}`).slice(0, 500);
}

export const STORE_RETRY_BASE_MS = 1000;
export const STORE_RETRY_MAX_MS = 15_000;

export interface OpenWhenReachableOptions {
  /** First wait; doubles per attempt up to maxMs. */
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** Aborting stops the retries: the pending wait rejects with an AbortError. */
  readonly signal?: AbortSignal;
  /** Told of each transient failure before its wait; throwing gives up with that error. */
  readonly onRetry?: (err: StoreError, attempt: number, delayMs: number) => void | Promise<void>;
}

/** Calls `open` until it succeeds; a failure that waiting cannot heal is thrown as it is. */
export async function openWhenReachable<T>(open: () => Promise<T>, options: OpenWhenReachableOptions = {}): Promise<T> {
  const base = options.baseMs ?? STORE_RETRY_BASE_MS;
  const max = Math.max(base, options.maxMs ?? STORE_RETRY_MAX_MS);
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await open();
    } catch (err) {
      if (!isTransientOpenFailure(err)) throw err;
      const delayMs = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
      await options.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
