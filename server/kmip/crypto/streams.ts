/**
 * State of streamed cryptographic operations (Init Indicator / Correlation Value / Final Indicator),
 * held in this node's memory and bounded: a few per tenant, a ceiling overall, an idle expiry, and a
 * cap on the bytes an operation may buffer. A correlation value is only good on the node that issued
 * it, for the tenant that opened it, for the same operation; anything else is an Invalid Correlation Value.
 */
import { randomBytesPooled } from '../../util/random-pool.js';
import { KmipError } from '../errors.js';
import { ResultReason } from '../generated/enums.js';

export const STREAM_LIMITS = Object.freeze({
  perTenant: 16,
  total: 1024,
  idleMs: 5 * 60_000,
  /** Bytes an operation that cannot work incrementally (CMAC, signatures) may gather. */
  maxBufferedBytes: 1 << 20,
});

/** What bounds a table: entries per tenant, entries on this node, and how long an untouched entry lives. */
export interface TableLimits {
  readonly perTenant: number;
  readonly total: number;
  readonly idleMs: number;
}

interface Entry {
  readonly tenantId: string;
  readonly operation: number;
  readonly state: unknown;
  expiresAt: number;
}

export function invalidCorrelation(): KmipError {
  return new KmipError(ResultReason.InvalidCorrelationValue, 'unknown or expired Correlation Value', { legacyReason: ResultReason.InvalidMessage });
}

export function streamLimitReached(what: string): KmipError {
  return new KmipError(ResultReason.ServerLimitExceeded, what, { legacyReason: ResultReason.PermissionDenied });
}

/** Server-held state named by a random Correlation Value; the PKCS#11 operation keeps its library instances in one too. */
export class StreamTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limits: TableLimits = STREAM_LIMITS) {}

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }

  /** Whether this tenant may open one more entry now (neither its cap nor the node's is reached). */
  hasRoom(tenantId: string, now: number): boolean {
    this.sweep(now);
    let mine = 0;
    for (const e of this.entries.values()) if (e.tenantId === tenantId) mine++;
    return mine < this.limits.perTenant && this.entries.size < this.limits.total;
  }

  /** Keeps an operation's state and returns the Correlation Value that continues it. */
  open(tenantId: string, operation: number, state: unknown, now: number): Uint8Array {
    if (!this.hasRoom(tenantId, now)) throw streamLimitReached('too many streamed operations are open');
    const value = randomBytesPooled(16);
    this.entries.set(value.toString('hex'), { tenantId, operation, state, expiresAt: now + this.limits.idleMs });
    return new Uint8Array(value);
  }

  /** Whether the value names a live entry of this tenant for this operation (asking changes nothing). */
  holds(tenantId: string, operation: number, correlation: Uint8Array, now: number): boolean {
    this.sweep(now);
    const e = this.entries.get(Buffer.from(correlation).toString('hex'));
    return e !== undefined && e.tenantId === tenantId && e.operation === operation;
  }

  /** Takes an operation's state out of the table (put it back with `keep` unless it ended). */
  take(tenantId: string, operation: number, correlation: Uint8Array, now: number): unknown {
    if (!this.holds(tenantId, operation, correlation, now)) throw invalidCorrelation();
    const key = Buffer.from(correlation).toString('hex');
    const e = this.entries.get(key)!;
    this.entries.delete(key);
    return e.state;
  }

  keep(tenantId: string, operation: number, correlation: Uint8Array, state: unknown, now: number): void {
    this.entries.set(Buffer.from(correlation).toString('hex'), { tenantId, operation, state, expiresAt: now + this.limits.idleMs });
  }
}

/** The node's table of streamed cryptographic operations: they live as long as the process. */
export const STREAMS = new StreamTable();
