/** A read sees the Get times this node recorded but has not flushed yet. */
export function withPendingTouch<T extends { readonly lastGetAt: number | null }>(record: T, pending: number | undefined): T {
  return pending === undefined || (record.lastGetAt ?? 0) >= pending ? record : { ...record, lastGetAt: pending };
}
