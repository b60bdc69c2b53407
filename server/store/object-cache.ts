/**
 * Object records as last read or written by this process, for a store that is their only writer
 * (SQLite, locked exclusively): a Get then needs neither the row read nor the attribute JSON parsed,
 * which were a seventh of its cost. Bounded in count; the oldest entry leaves first. Records hold
 * wrapped material only, never plaintext. Every write to an object drops its entry, before the
 * write is acknowledged; a whole-store change (restore, a tenant removed) drops them all.
 */
import type { ObjectRecord, StoredAttribute } from './store.js';

/** Records are shared by every reader: frozen, so a caller that tried to change one would fail loudly. */
function frozen(record: ObjectRecord): ObjectRecord {
  for (const a of record.attributes) Object.freeze(a as StoredAttribute);
  Object.freeze(record.attributes);
  return Object.freeze(record);
}

/** A cached record and its row's sequence number (what the attribute index rows point to). */
export interface CachedObject {
  readonly record: ObjectRecord;
  readonly seq: number;
}

export class ObjectCache {
  private readonly records = new Map<string, CachedObject>();

  constructor(private readonly maxEntries: number) {}

  /** The cached record of `uid` if it belongs to `tenantId`; undefined also for another tenant's (the caller reads the store). */
  get(tenantId: string, uid: string): ObjectRecord | undefined {
    const r = this.records.get(uid)?.record;
    return r && r.tenantId === tenantId ? r : undefined;
  }

  /** The cached record and row of `uid`, whichever tenant's (for the store's own writes). */
  entry(uid: string): CachedObject | undefined {
    return this.records.get(uid);
  }

  /** Keeps a record just read from the store; returns the (frozen) record to hand out. */
  remember(record: ObjectRecord, seq: number): ObjectRecord {
    if (this.maxEntries <= 0) return record;
    this.records.delete(record.uid);
    if (this.records.size >= this.maxEntries) this.records.delete(this.records.keys().next().value!);
    const r = frozen(record);
    this.records.set(record.uid, { record: r, seq });
    return r;
  }

  /** A last-Get time written to the store: the cached record follows it. */
  touched(uid: string, at: number): void {
    const e = this.records.get(uid);
    if (e && (e.record.lastGetAt ?? 0) < at) this.records.set(uid, { record: Object.freeze({ ...e.record, lastGetAt: at }), seq: e.seq });
  }

  forget(uid: string): void {
    this.records.delete(uid);
  }

  clear(): void {
    this.records.clear();
  }

  get size(): number {
    return this.records.size;
  }
}
