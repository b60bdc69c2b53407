/**
 * A Locate that must read many objects runs in slices on SQLite: the same answers as one query
 * (checked against the records themselves), other work served between slices, and it stops when
 * its request is given up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreErrorCode } from '../../../server/store/errors.js';
import { SqliteStore } from '../../../server/store/sqlite.js';
import type { AttributeFilter, LocateQuery, ObjectRecord, RangeFilter } from '../../../server/store/store.js';
import { buildLocateQuery, SQLITE_DIALECT } from '../../../server/store/sql/locate-query.js';
import { attr, objectRecord } from '../../support/store-contract.js';

const OBJECTS = 12_000;
const nameValue = (k: number) => [1, [[0x420055, 7, `n${k}`]]];
const nameFilter = (k: number): AttributeFilter => ({ name: 'Name', key: JSON.stringify(nameValue(k)), indexed: true });

let dir: string;
let store: SqliteStore;
const records: ObjectRecord[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmip-locate-'));
  store = new SqliteStore({ path: join(dir, 'kmip.db') });
  for (const id of ['a', 'b']) await store.createTenant({ id, name: id, createdAt: 1 });
  for (let start = 0; start < OBJECTS; start += 1_000) {
    const batch: ObjectRecord[] = [];
    for (let k = start; k < start + 1_000; k++) {
      // Tenant b's objects are interleaved with a's, so slices of the sequence hold both.
      batch.push(
        objectRecord(k % 5 === 4 ? 'b' : 'a', {
          state: 1 + (k % 3),
          objectType: k % 7 === 0 ? 7 : 2,
          attributes: [
            attr('Cryptographic Length', [2, k % 2 === 0 ? 256 : 128], undefined, 0, false),
            attr('x-Group', [7, `g${k % 4}`]),
            attr('Activation Date', [9, k * 10], k * 10),
            attr('Last Change Date', [9, k], k, 0, false),
            attr('Name', nameValue(k)),
          ],
        }),
      );
    }
    await store.commit(batch.map((object) => ({ kind: 'insert' as const, object })));
    records.push(...batch);
  }
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function expected(tenant: string, q: LocateQuery): { uids: string[]; total: number } {
  const has = (r: ObjectRecord, f: AttributeFilter) => r.attributes.some((a) => a.name === f.name && a.key === f.key);
  const inRange = (r: ObjectRecord, f: RangeFilter) => r.attributes.some((a) => a.name === f.name && a.num !== undefined && a.num >= (f.min ?? -Infinity) && a.num <= (f.max ?? Infinity));
  const all = records
    .filter((r) => r.tenantId === tenant && (q.objectType === undefined || r.objectType === q.objectType) && (!q.states || q.states.includes(r.state)))
    .filter((r) => q.attributes.every((f) => has(r, f)) && q.ranges.every((f) => inRange(r, f)))
    .map((r) => r.uid);
  return { uids: all.slice(q.offset, q.offset + q.limit), total: all.length };
}

const base: LocateQuery = { attributes: [], ranges: [], offset: 0, limit: 1_000_000, withTotal: true };
const length128: AttributeFilter = { name: 'Cryptographic Length', key: JSON.stringify([2, 128]), indexed: false };
const group1: AttributeFilter = { name: 'x-Group', key: JSON.stringify([7, 'g1']), indexed: true };

describe('Locate over many objects on SQLite', () => {
  it('finds exactly what one query over the records finds, in order, with offset, limit and total', async () => {
    const queries: LocateQuery[] = [
      base,
      { ...base, attributes: [length128] },
      { ...base, attributes: [group1] },
      { ...base, attributes: [group1, length128], states: [2, 3] },
      { ...base, objectType: 7, ranges: [{ name: 'Activation Date', min: 20_000, max: 90_000, indexed: true }] },
      { ...base, ranges: [{ name: 'Last Change Date', min: 500, max: 9_000, indexed: false }], attributes: [length128] },
      { ...base, attributes: [length128], offset: 1_500, limit: 700 },
      { ...base, attributes: [length128], offset: 4_000, limit: 10, withTotal: false },
      { ...base, attributes: [{ name: 'Cryptographic Length', key: JSON.stringify([2, 999]), indexed: false }] },
      // A Name drives wherever it stands among the filters (one candidate at most).
      { ...base, attributes: [group1, nameFilter(5)] },
      { ...base, attributes: [group1, nameFilter(6)] },
      { ...base, attributes: [nameFilter(9)] },
      // Among live objects only, the Name's unreleased row drives; asked for other states, every holder's row.
      { ...base, attributes: [nameFilter(12)], states: [1, 2, 3, 4] },
      { ...base, attributes: [nameFilter(13)], states: [5, 6] },
      { ...base, attributes: [nameFilter(14)], states: [2, 5] },
    ];
    for (const q of queries) {
      const want = expected('a', q);
      const got = await store.locate('a', q);
      expect(got.uids, JSON.stringify({ ...q, signal: undefined })).toEqual(want.uids);
      expect(got.total).toBe(q.withTotal ? want.total : undefined);
    }
    expect(expected('a', base).total).toBeGreaterThan(5_000);
    expect(expected('a', { ...base, attributes: [group1, nameFilter(5)] }).total).toBe(1);
    expect(buildLocateQuery('a', { ...base, attributes: [group1, nameFilter(5)] }, SQLITE_DIALECT).select.params.slice(0, 3)).toEqual(['a', 'Name', nameFilter(5).key]);
  });

  it('lets other work run between slices instead of holding the event loop for the whole Locate', async () => {
    const nothing: LocateQuery = { ...base, attributes: [{ name: 'Cryptographic Length', key: JSON.stringify([2, 999]), indexed: false }], ranges: [{ name: 'Last Change Date', max: 1e9, indexed: false }] };
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 1);
    const started = performance.now();
    const result = await store.locate('a', nothing);
    const took = performance.now() - started;
    clearInterval(timer);
    expect(result).toEqual({ uids: [], total: 0 });
    // Timers ran during the Locate, and no gap between them came near the Locate's whole length.
    expect(ticks).toBeGreaterThan(3);
    expect(longestGap).toBeLessThan(Math.max(40, took / 3));
  });

  it('stops when its request is given up', async () => {
    const controller = new AbortController();
    const pending = store.locate('a', { ...base, attributes: [length128], signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: StoreErrorCode.Cancelled });
    // The store goes on serving.
    expect((await store.locate('a', { ...base, attributes: [group1], limit: 3, withTotal: false })).uids).toHaveLength(3);
  });
});
