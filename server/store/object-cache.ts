/**
 * Object records as last read by this process, for a store that is their only writer (SQLite, locked
 * exclusively): a Get then needs neither the row read nor the attribute JSON parsed, which were a
 * seventh of its cost. Bounded in count and in stored bytes (attribute JSON plus wrapped material, as
 * the row holds them), the oldest entry leaving first; a record larger than a typical key's is not
 * kept at all, so a client registering large objects cannot fill the memory with them. Records hold
 * wrapped material only, never plaintext. Every write to an object drops its entry before the write
 * is acknowledged; a whole-store change (restore, a tenant removed) drops them all.
 */
import type { ObjectRecord, StoredAttribute } from './store.js';

export interface ObjectCacheLimits {
  readonly maxEntries: number;
  /** Stored bytes of all cached records together. */
  readonly maxBytes: number;
  /** A record with more stored bytes than this is never cached. */
  readonly maxRecordBytes: number;
}

/** Records are shared by every reader: frozen, so a caller that tried to change one would fail loudly. */
function frozen(record: ObjectRecord): ObjectRecord {
  for (const a of record.attributes) Object.freeze(a as StoredAttribute);
  Object.freeze(record.attributes);
  if (record.material) Object.freeze(record.material);
  return Object.freeze(record);
}

/** A cached record, its row's sequence number (what the attribute index rows point to) and its stored size. */
export interface CachedObject {
  readonly record: ObjectRecord;
  readonly seq: number;
  readonly bytes: number;
}

export class ObjectCache {
  private readonly records = new Map<string, CachedObject>();
  private bytes = 0;

  constructor(private readonly limits: ObjectCacheLimits) {}

  /** The cached record of `uid` if it belongs to `tenantId`; undefined also for another tenant's (the caller reads the store). */
  get(tenantId: string, uid: string): ObjectRecord | undefined {
    const r = this.records.get(uid)?.record;
    return r && r.tenantId === tenantId ? r : undefined;
  }

  /** The cached record and row of `uid`, whichever tenant's (for the store's own writes). */
  entry(uid: string): CachedObject | undefined {
    return this.records.get(uid);
  }

  /**
   * Keeps a record just read from the store, `bytes` its stored size; returns the record to hand out
   * (frozen when kept).
   */
  remember(record: ObjectRecord, seq: number, bytes: number): ObjectRecord {
    this.forget(record.uid);
    if (this.limits.maxEntries <= 0 || bytes > this.limits.maxRecordBytes || bytes > this.limits.maxBytes) return record;
    while (this.records.size >= this.limits.maxEntries || this.bytes + bytes > this.limits.maxBytes) this.forget(this.records.keys().next().value!);
    const r = frozen(record);
    this.records.set(record.uid, { record: r, seq, bytes });
    this.bytes += bytes;
    return r;
  }

  /** A last-Get time written to the store: the cached record follows it. */
  touched(uid: string, at: number): void {
    const e = this.records.get(uid);
    if (e && (e.record.lastGetAt ?? 0) < at) this.records.set(uid, { ...e, record: Object.freeze({ ...e.record, lastGetAt: at }) });
  }

  forget(uid: string): void {
    const e = this.records.get(uid);
    if (!e) return;
    this.records.delete(uid);
    this.bytes -= e.bytes;
  }

  clear(): void {
    this.records.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.records.size;
  }

  /** Stored bytes of the cached records. */
  get storedBytes(): number {
    return this.bytes;
  }
}
