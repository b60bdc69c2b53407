/**
 * The SQLite store's object cache (store/object-cache.ts): reads are served from memory, and every
 * way the store changes an object (update, last-Get time, removal, a tenant removed) is seen by the
 * next read; another tenant never gets a cached record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreErrorCode } from '../../../server/store/errors.js';
import { ObjectCache } from '../../../server/store/object-cache.js';
import { SqliteStore } from '../../../server/store/sqlite.js';
import type { ObjectRecord } from '../../../server/store/store.js';
import { attr, objectRecord } from '../../support/store-contract.js';

let dir: string;
let store: SqliteStore;
const A = 'tenant-a';
const B = 'tenant-b';

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmip-cache-'));
  store = new SqliteStore({ path: join(dir, 'kmip.db'), touchFlushMs: 20 });
  await store.createTenant({ id: A, name: A, createdAt: 1 });
  await store.createTenant({ id: B, name: B, createdAt: 1 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function stored(tenant = A): Promise<ObjectRecord> {
  const r = objectRecord(tenant);
  await store.commit([{ kind: 'insert', object: r }]);
  return r;
}

describe('SQLite object cache', () => {
  it('serves a second read from memory, as a record no caller can change', async () => {
    const r = await stored();
    const first = await store.getObject(A, r.uid);
    const second = await store.getObject(A, r.uid);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first!.material)).toBe(true);
    expect(() => (first!.attributes as unknown as unknown[]).push({})).toThrow(TypeError);
    expect(() => ((first as { state: number }).state = 9)).toThrow(TypeError);
  });

  it('reads the store every time when it is turned off', async () => {
    const uncached = new SqliteStore({ path: ':memory:', objectCache: { maxEntries: 0, maxBytes: 1 << 20, maxRecordBytes: 1 << 16 } });
    await uncached.createTenant({ id: A, name: A, createdAt: 1 });
    const r = objectRecord(A);
    await uncached.commit([{ kind: 'insert', object: r }]);
    const first = await uncached.getObject(A, r.uid);
    expect(await uncached.getObject(A, r.uid)).not.toBe(first);
    expect(await uncached.getObject(A, r.uid)).toEqual(first);
    await uncached.close();
  });

  it('never answers another tenant from the cache', async () => {
    const r = await stored();
    expect(await store.getObject(A, r.uid)).toBeDefined();
    expect(await store.getObject(B, r.uid)).toBeUndefined();
  });

  it('sees an update committed after the record was cached', async () => {
    const r = await stored();
    await store.getObject(A, r.uid);
    await store.commit([{ kind: 'update', object: { ...r, state: 2, revision: 2, attributes: [...r.attributes.slice(0, 1)] }, expectedRevision: 1 }]);
    const after = await store.getObject(A, r.uid);
    expect(after?.state).toBe(2);
    expect(after?.revision).toBe(2);
    expect(after?.attributes.map((a) => a.name)).toEqual(['Cryptographic Length']);
  });

  it('moves the attribute index with an update made from the cached record', async () => {
    const r = await stored();
    const byTag = async (value: string) =>
      (await store.locate(A, { attributes: [{ name: 'x-Tag', key: JSON.stringify([7, value]), indexed: true }], ranges: [], offset: 0, limit: 10, withTotal: false })).uids;
    expect(await byTag('a')).toEqual([r.uid]);
    // Read first, as an operation does: the update's index difference starts from the cached record.
    await store.getObject(A, r.uid);
    await store.commit([{ kind: 'update', object: { ...r, revision: 2, attributes: [r.attributes[0]!, attr('x-Tag', [7, 'b'])] }, expectedRevision: 1 }]);
    expect(await byTag('a')).toEqual([]);
    expect(await byTag('b')).toEqual([r.uid]);
    // And again from a record read after that write (the write dropped the cached one).
    await store.getObject(A, r.uid);
    await store.commit([{ kind: 'update', object: { ...r, revision: 3, attributes: [r.attributes[0]!, attr('x-Tag', [7, 'c'])] }, expectedRevision: 2 }]);
    expect(await byTag('b')).toEqual([]);
    expect(await byTag('c')).toEqual([r.uid]);
    expect((await store.getObject(A, r.uid))?.revision).toBe(3);
  });

  it('refuses an update from a stale revision whether or not the record is cached', async () => {
    const r = await stored();
    await store.getObject(A, r.uid);
    await store.commit([{ kind: 'update', object: { ...r, revision: 2 }, expectedRevision: 1 }]);
    await store.getObject(A, r.uid);
    await expect(store.commit([{ kind: 'update', object: { ...r, revision: 2 }, expectedRevision: 1 }])).rejects.toMatchObject({ code: StoreErrorCode.Conflict });
    await expect(store.commit([{ kind: 'update', object: { ...r, revision: 2 }, expectedRevision: 1 }])).rejects.toMatchObject({ code: StoreErrorCode.Conflict });
  });

  it('sees a failed update leave the record as it was', async () => {
    const r = await stored();
    await store.getObject(A, r.uid);
    await expect(store.commit([{ kind: 'update', object: { ...r, state: 3, revision: 5 }, expectedRevision: 4 }])).rejects.toBeDefined();
    expect((await store.getObject(A, r.uid))?.state).toBe(r.state);
  });

  it('keeps the last-Get time once it is written to the store', async () => {
    const r = await stored();
    await store.getObject(A, r.uid);
    await store.touch([r.uid], 1234);
    expect((await store.getObject(A, r.uid))?.lastGetAt).toBe(1234);
    await new Promise((resolve) => setTimeout(resolve, 80)); // flushed (touchFlushMs 20)
    expect((await store.getObject(A, r.uid))?.lastGetAt).toBe(1234);
  });

  it('forgets removed objects and the objects of a removed tenant', async () => {
    const r = await stored();
    const s = await stored(B);
    await store.getObject(A, r.uid);
    await store.getObject(B, s.uid);
    expect(await store.deleteObjects(A, [r.uid])).toBe(1);
    expect(await store.getObject(A, r.uid)).toBeUndefined();
    await store.deleteTenant(B);
    expect(await store.getObject(B, s.uid)).toBeUndefined();
  });

  it('holds at most its count, the oldest entry leaving first', () => {
    const cache = new ObjectCache({ maxEntries: 2, maxBytes: 1 << 20, maxRecordBytes: 1 << 10 });
    const [x, y, z] = [objectRecord(A), objectRecord(A), objectRecord(A)];
    [x, y, z].forEach((r, seq) => cache.remember(r, seq, 100));
    expect(cache.size).toBe(2);
    expect(cache.storedBytes).toBe(200);
    expect(cache.get(A, x.uid)).toBeUndefined();
    expect(cache.get(A, z.uid)?.uid).toBe(z.uid);
    expect(cache.get(B, z.uid)).toBeUndefined();
  });

  it('holds at most its bytes, and never a record larger than its record bound', () => {
    const cache = new ObjectCache({ maxEntries: 100, maxBytes: 1000, maxRecordBytes: 600 });
    const [x, y, z, big] = [objectRecord(A), objectRecord(A), objectRecord(A), objectRecord(A)];
    cache.remember(x, 1, 400);
    cache.remember(y, 2, 400);
    expect(cache.storedBytes).toBe(800);
    cache.remember(z, 3, 400); // x leaves to make room
    expect([x, y, z].map((r) => cache.get(A, r.uid) !== undefined)).toEqual([false, true, true]);
    expect(cache.storedBytes).toBe(800);
    const handedOut = cache.remember(big, 4, 601);
    expect(handedOut).toBe(big);
    expect(Object.isFrozen(handedOut)).toBe(false);
    expect(cache.get(A, big.uid)).toBeUndefined();
    cache.forget(y.uid);
    expect(cache.storedBytes).toBe(400);
    cache.clear();
    expect([cache.size, cache.storedBytes]).toEqual([0, 0]);
  });

  it('reads a record too large to keep from the store each time', async () => {
    const small = new SqliteStore({ path: ':memory:', objectCache: { maxEntries: 10, maxBytes: 1 << 20, maxRecordBytes: 2048 } });
    await small.createTenant({ id: A, name: A, createdAt: 1 });
    const big = objectRecord(A, { material: { ciphertext: new Uint8Array(4096), wrapKind: 'local', rootKeyId: 'rk', rootKeyVersion: '1' } });
    const usual = objectRecord(A);
    await small.commit([{ kind: 'insert', object: big }, { kind: 'insert', object: usual }]);
    expect(await small.getObject(A, big.uid)).not.toBe(await small.getObject(A, big.uid));
    expect(await small.getObject(A, usual.uid)).toBe(await small.getObject(A, usual.uid));
    await small.close();
  });
});
