import type { ObjectRecord } from './store.js';

/** A read sees the Get times this node recorded but has not flushed yet. */
export function withPendingTouch(record: ObjectRecord, pending: number | undefined): ObjectRecord {
  return pending === undefined || (record.lastGetAt ?? 0) >= pending ? record : { ...record, lastGetAt: pending };
}
