/**
 * Locate on SQLite without holding the event loop. better-sqlite3 runs a query to its end on the
 * calling thread, and a Locate whose filters the indexes cannot answer reads every object of the
 * tenant: with 100,000 objects that held every other client for seconds (the fuzzer found a 7 s
 * Locate). Such a Locate runs in slices of the object sequence, each sized to a few milliseconds
 * of work, with other requests served in between. Small ones run as one query, as before.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import { buildCandidateCount, buildLocateQuery, buildWindowedLocate, drivenByUniqueAttribute, SQLITE_DIALECT } from './sql/locate-query.js';
import type { LocateQuery, LocateResult } from './store.js';

/** Up to this many candidate objects, one query: it costs at most a few milliseconds. */
const ONE_QUERY_CANDIDATES = 2_000;
/** Work per slice before the event loop gets a turn. */
const SLICE_TARGET_MS = 4;
const MIN_SLICE = 64;
const MAX_SLICE = 1 << 20;

export interface LocateDeps {
  prepare<R>(sql: string): Database.Statement<unknown[], R>;
  /** Runs a store call, mapping driver errors (and a closed store) to StoreError. */
  run<T>(fn: () => T): T;
}

export async function locateOnSqlite(deps: LocateDeps, tenantId: string, q: LocateQuery): Promise<LocateResult> {
  if (drivenByUniqueAttribute(q) || countCandidates(deps, tenantId, q) <= ONE_QUERY_CANDIDATES) {
    const { select, count } = buildLocateQuery(tenantId, q, SQLITE_DIALECT);
    const rows = deps.run(() => deps.prepare<{ uid: string }>(select.sql).all(...select.params));
    const total = q.withTotal ? deps.run(() => deps.prepare<{ n: number }>(count.sql).get(...count.params))?.n : undefined;
    return { uids: rows.map((r) => r.uid), total };
  }
  return locateInSlices(deps, tenantId, q);
}

function countCandidates(deps: LocateDeps, tenantId: string, q: LocateQuery): number {
  const candidates = buildCandidateCount(tenantId, q, SQLITE_DIALECT);
  return deps.run(() => deps.prepare<{ n: number }>(candidates.sql).get(...candidates.params))?.n ?? 0;
}

async function locateInSlices(deps: LocateDeps, tenantId: string, q: LocateQuery): Promise<LocateResult> {
  const bounds = deps.run(() => deps.prepare<{ lo: number | null; hi: number | null }>('SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM objects WHERE tenant_id = ?').get(tenantId));
  if (!bounds || bounds.lo === null || bounds.hi === null) return { uids: [], total: q.withTotal ? 0 : undefined };
  const query = buildWindowedLocate(tenantId, q);
  const statement = deps.prepare<{ uid: string }>(query.sql);
  const params = [...query.params];
  const uids: string[] = [];
  let matched = 0;
  let width = 1_024;
  // Objects created after the Locate began are not looked for: Locate sees the store as it was.
  for (let after = bounds.lo - 1; after < bounds.hi; ) {
    if (q.signal?.aborted) throw new StoreError(StoreErrorCode.Cancelled, 'Locate given up: its request was cancelled');
    params[0] = after;
    params[1] = Math.min(bounds.hi, after + width);
    const started = performance.now();
    const rows = deps.run(() => statement.all(...params));
    const ms = performance.now() - started;
    for (const row of rows) {
      if (matched >= q.offset && uids.length < q.limit) uids.push(row.uid);
      matched++;
    }
    after = params[1] as number;
    if (uids.length >= q.limit && !q.withTotal) break;
    if (ms < SLICE_TARGET_MS / 2) width = Math.min(MAX_SLICE, width * 2);
    else if (ms > SLICE_TARGET_MS * 2) width = Math.max(MIN_SLICE, Math.floor(width / 2));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { uids, total: q.withTotal ? matched : undefined };
}
