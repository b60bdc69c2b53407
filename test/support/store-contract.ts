/**
 * One contract suite for every KeyStore backend: the same assertions run unchanged against SQLite
 * and PostgreSQL, so both behave alike.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore, ObjectRecord, StoredAttribute } from '../../server/store/store.js';
import { StoreErrorCode } from '../../server/store/errors.js';

export interface StoreFactory {
  /** A store on an empty database. */
  create(): Promise<KeyStore>;
  /** The same database opened again (a restart). */
  reopen?(): Promise<KeyStore>;
  cleanup?(): Promise<void>;
}

export const attr = (name: string, value: unknown, num?: number, index = 0, indexed = true): StoredAttribute => ({
  name,
  index,
  value,
  key: JSON.stringify(value),
  num,
  indexed,
});

export function objectRecord(tenantId: string, overrides: Partial<ObjectRecord> = {}): ObjectRecord {
  const now = Date.now();
  return {
    uid: randomUUID(),
    tenantId,
    objectType: 2,
    state: 1,
    revision: 1,
    createdAt: now,
    updatedAt: now,
    lastGetAt: null,
    attributes: [attr('Cryptographic Length', [2, 256], 256), attr('x-Tag', [7, 'a'])],
    material: { ciphertext: new Uint8Array([1, 2, 3, 250]), wrapKind: 'local', rootKeyId: 'rk', rootKeyVersion: '1' },
    ...overrides,
  };
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name} store contract`, () => {
    let store: KeyStore;
    let tenant: string;
    let other: string;

    beforeEach(async () => {
      store = await factory.create();
      tenant = randomUUID();
      other = randomUUID();
      await store.createTenant({ id: tenant, name: `t-${tenant}`, createdAt: 1 });
      await store.createTenant({ id: other, name: `o-${other}`, createdAt: 2 });
    });
    afterEach(async () => {
      await store.close();
      await factory.cleanup?.();
    });

    it('round-trips an object, its attributes and its wrapped material', async () => {
      const o = objectRecord(tenant);
      await store.commit([{ kind: 'insert', object: o }]);
      expect(await store.getObject(tenant, o.uid)).toEqual(o);
    });

    it('scopes objects to their tenant', async () => {
      const o = objectRecord(tenant);
      await store.commit([{ kind: 'insert', object: o }]);
      expect(await store.getObject(other, o.uid)).toBeUndefined();
      expect(await store.getObject(tenant, 'no-such-uid')).toBeUndefined();
    });

    it('applies an update that names the revision it read, and refuses a stale one, changing nothing', async () => {
      const o = objectRecord(tenant);
      await store.commit([{ kind: 'insert', object: o }]);
      const updated = { ...o, state: 2, revision: 2, attributes: [...o.attributes, attr('x-New', [7, 'b'])] };
      await store.commit([{ kind: 'update', object: updated, expectedRevision: 1 }]);
      expect(await store.getObject(tenant, o.uid)).toEqual(updated);
      const stale = { ...o, state: 3, revision: 2 };
      await expect(store.commit([{ kind: 'update', object: stale, expectedRevision: 1 }])).rejects.toMatchObject({ code: StoreErrorCode.Conflict });
      expect(await store.getObject(tenant, o.uid)).toEqual(updated);
    });

    it('commits a change set all or nothing', async () => {
      const a = objectRecord(tenant);
      await store.commit([{ kind: 'insert', object: a }]);
      const b = objectRecord(tenant);
      await expect(
        store.commit([
          { kind: 'insert', object: b },
          { kind: 'update', object: { ...a, state: 5, revision: 9 }, expectedRevision: 7 },
        ]),
      ).rejects.toMatchObject({ code: StoreErrorCode.Conflict });
      expect(await store.getObject(tenant, b.uid)).toBeUndefined();
      expect((await store.getObject(tenant, a.uid))!.state).toBe(1);
    });

    it('keeps concurrent change sets apart: each succeeds or fails on its own', async () => {
      const objects = Array.from({ length: 50 }, () => objectRecord(tenant));
      await Promise.all(objects.map((o) => store.commit([{ kind: 'insert', object: o }])));
      const results = await Promise.allSettled(
        objects.flatMap((o) => [
          store.commit([{ kind: 'update', object: { ...o, state: 2, revision: 2 }, expectedRevision: 1 }]),
          store.commit([{ kind: 'update', object: { ...o, state: 3, revision: 2 }, expectedRevision: 1 }]),
        ]),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
      for (const o of objects) expect([2, 3]).toContain((await store.getObject(tenant, o.uid))!.state);
    });

    it('a change set refused within a group commit leaves the sets around it whole, index rows included', async () => {
      const named = (n: string) => objectRecord(tenant, { attributes: [attr('Name', [1, [[0x420055, 7, n]]])] });
      await store.commit([{ kind: 'insert', object: named('taken') }]);
      const before = [named('g-1'), named('g-2')];
      const after = [named('g-3'), named('g-4')];
      // Issued together, so a backend that groups commits puts them in one transaction.
      const results = await Promise.allSettled([
        ...before.map((o) => store.commit([{ kind: 'insert', object: o }])),
        store.commit([{ kind: 'insert', object: named('g-x') }, { kind: 'insert', object: named('taken') }]),
        ...after.map((o) => store.commit([{ kind: 'insert', object: o }])),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: StoreErrorCode.Duplicate });
      for (const o of [...before, ...after]) expect(await store.getObject(tenant, o.uid)).toBeDefined();
      const byName = async (n: string) =>
        (await store.locate(tenant, { attributes: [{ name: 'Name', key: named(n).attributes[0]!.key, indexed: true }], ranges: [], offset: 0, limit: 10, withTotal: false })).uids;
      expect(await byName('g-1')).toEqual([before[0]!.uid]);
      expect(await byName('g-4')).toEqual([after[1]!.uid]);
      expect(await byName('g-x')).toEqual([]);
    });

    it('keeps Names unique within a tenant, not across tenants', async () => {
      const named = (t: string, n: string) => objectRecord(t, { attributes: [attr('Name', [1, [[0x420055, 7, n]]])] });
      await store.commit([{ kind: 'insert', object: named(tenant, 'k1') }]);
      await expect(store.commit([{ kind: 'insert', object: named(tenant, 'k1') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
      await store.commit([{ kind: 'insert', object: named(other, 'k1') }]);
      await store.commit([{ kind: 'insert', object: named(tenant, 'k2') }]);
    });

    it('releases the Names of destroyed objects: a new object may take one, and Names stay unique among the rest', async () => {
      const nameValue = (n: string) => [1, [[0x420055, 7, n]]];
      const named = (n: string, state = 1) => objectRecord(tenant, { state, attributes: [attr('Name', nameValue(n)), attr('x-Tag', [7, n])] });
      const byName = async (n: string, states: number[]) =>
        (await store.locate(tenant, { attributes: [{ name: 'Name', key: JSON.stringify(nameValue(n)), indexed: true }], states, ranges: [], offset: 0, limit: 10, withTotal: false })).uids;
      const LIVE = [1, 2, 3, 4];
      const DESTROYED = [5, 6];

      const first = named('reused');
      await store.commit([{ kind: 'insert', object: first }]);
      await expect(store.commit([{ kind: 'insert', object: named('reused') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
      const firstDestroyed = { ...first, state: 5, revision: 2, material: null };
      await store.commit([{ kind: 'update', object: firstDestroyed, expectedRevision: 1 }]);
      const second = named('reused');
      await store.commit([{ kind: 'insert', object: second }]);
      // The destroyed object keeps its Name; among live objects the Name names one.
      expect((await store.getObject(tenant, first.uid))!.attributes).toEqual(first.attributes);
      expect(await byName('reused', LIVE)).toEqual([second.uid]);
      expect(await byName('reused', DESTROYED)).toEqual([first.uid]);
      await expect(store.commit([{ kind: 'insert', object: named('reused') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
      // Changing the destroyed holder does not take the Name back from the live one.
      const firstChanged = { ...firstDestroyed, revision: 3, attributes: [...first.attributes, attr('x-New', [7, 'b'])] };
      await store.commit([{ kind: 'update', object: firstChanged, expectedRevision: 2 }]);

      // Destroyed Compromised releases it too, even reached from Compromised in one change set with the next holder.
      await store.commit([{ kind: 'update', object: { ...second, state: 4, revision: 2 }, expectedRevision: 1 }]);
      const third = named('reused');
      await store.commit([
        { kind: 'update', object: { ...second, state: 6, revision: 3, material: null }, expectedRevision: 2 },
        { kind: 'insert', object: third },
      ]);
      expect(await byName('reused', LIVE)).toEqual([third.uid]);
      expect(await byName('reused', DESTROYED)).toEqual([first.uid, second.uid]);
      // An object that arrives destroyed (a restore) holds no Name; a live one still cannot take it.
      const arrivedDestroyed = named('reused', 5);
      await store.commit([{ kind: 'insert', object: arrivedDestroyed }]);
      await expect(store.commit([{ kind: 'insert', object: named('reused') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
      // Every holder, live and destroyed, in creation order, when both are asked for.
      const all = await store.locate(tenant, { attributes: [{ name: 'Name', key: JSON.stringify(nameValue('reused')), indexed: true }], states: [...LIVE, ...DESTROYED], ranges: [], offset: 0, limit: 10, withTotal: true });
      expect(all).toEqual({ uids: [first.uid, second.uid, third.uid, arrivedDestroyed.uid], total: 4 });
      // A Name given to an object already destroyed is released from the start; one it gives up is free.
      const late = { ...firstChanged, revision: 4, attributes: [...firstChanged.attributes.filter((a) => a.name !== 'Name'), attr('Name', nameValue('late'))] };
      await store.commit([{ kind: 'update', object: late, expectedRevision: 3 }]);
      const lateTaker = named('late');
      await store.commit([{ kind: 'insert', object: lateTaker }]);
      expect(await byName('late', LIVE)).toEqual([lateTaker.uid]);
      expect(await byName('late', DESTROYED)).toEqual([first.uid]);
      expect(await byName('reused', DESTROYED)).toEqual([second.uid, arrivedDestroyed.uid]);
      // Another tenant's Names are its own.
      await store.commit([{ kind: 'insert', object: objectRecord(other, { attributes: [attr('Name', nameValue('reused'))] }) }]);
    });

    it('locates by attribute equality, state, type, date range, with offset, limit and total, in creation order', async () => {
      const make = (i: number, tag: string, state: number) =>
        objectRecord(tenant, {
          state,
          createdAt: 1000 + i,
          attributes: [
            attr('x-Tag', [7, tag]),
            attr('Activation Date', [9, String(100 * i)], 100 * i),
            attr('x-Seq', [2, i], i),
            // Not in the attribute index: found through the stored attributes.
            attr('Cryptographic Length', [2, i % 2 ? 128 : 256], undefined, 0, false),
            attr('Last Change Date', [9, String(10 * i)], 10 * i, 0, false),
          ],
        });
      const objects = [make(0, 'a', 1), make(1, 'b', 2), make(2, 'a', 2), make(3, 'a', 3), make(4, 'a', 2)];
      for (const o of objects) await store.commit([{ kind: 'insert', object: o }]);
      await store.commit([{ kind: 'insert', object: objectRecord(other, { attributes: [attr('x-Tag', [7, 'a'])] }) }]);
      const q = { attributes: [], ranges: [], offset: 0, limit: 100, withTotal: false };
      const uids = (idx: number[]) => idx.map((i) => objects[i]!.uid);
      const key = JSON.stringify([7, 'a']);
      const tagA = { name: 'x-Tag', key, indexed: true };
      expect((await store.locate(tenant, { ...q, attributes: [tagA] })).uids).toEqual(uids([0, 2, 3, 4]));
      expect((await store.locate(tenant, { ...q, attributes: [tagA], states: [2] })).uids).toEqual(uids([2, 4]));
      expect((await store.locate(tenant, { ...q, attributes: [tagA, { name: 'x-Seq', key: JSON.stringify([2, 3]), indexed: true }] })).uids).toEqual(uids([3]));
      expect((await store.locate(tenant, { ...q, ranges: [{ name: 'Activation Date', min: 100, max: 300, indexed: true }] })).uids).toEqual(uids([1, 2, 3]));
      expect((await store.locate(tenant, { ...q, objectType: 3 })).uids).toEqual([]);
      const page = await store.locate(tenant, { ...q, attributes: [tagA], offset: 1, limit: 2, withTotal: true });
      expect(page).toEqual({ uids: uids([2, 3]), total: 4 });
      // Filters on attributes outside the index, alone and combined with indexed ones.
      const len128 = { name: 'Cryptographic Length', key: JSON.stringify([2, 128]), indexed: false };
      expect((await store.locate(tenant, { ...q, attributes: [len128] })).uids).toEqual(uids([1, 3]));
      expect((await store.locate(tenant, { ...q, attributes: [tagA, len128] })).uids).toEqual(uids([3]));
      expect((await store.locate(tenant, { ...q, ranges: [{ name: 'Last Change Date', min: 15, max: 35, indexed: false }] })).uids).toEqual(uids([2, 3]));
      expect((await store.locate(tenant, { ...q, attributes: [len128], withTotal: true, limit: 1 })).total).toBe(2);
    });

    it('locates archived objects (those with an Archive Date) apart from on-line ones', async () => {
      const make = (archiveDate: number | undefined) =>
        objectRecord(tenant, { attributes: [attr('x-Archive', [7, 'z']), ...(archiveDate === undefined ? [] : [attr('Archive Date', [9, String(archiveDate)], archiveDate)])] });
      const [online, archived] = [make(undefined), make(500)];
      for (const o of [online, archived]) await store.commit([{ kind: 'insert', object: o }]);
      // Another tenant's archived object under the same attribute is never found.
      await store.commit([{ kind: 'insert', object: objectRecord(other, { attributes: [attr('x-Archive', [7, 'z']), attr('Archive Date', [9, '500'], 500)] }) }]);
      const q = { attributes: [{ name: 'x-Archive', key: JSON.stringify([7, 'z']), indexed: true }], ranges: [], offset: 0, limit: 100, withTotal: false };
      expect((await store.locate(tenant, { ...q, archived: false })).uids).toEqual([online.uid]);
      expect((await store.locate(tenant, { ...q, archived: true })).uids).toEqual([archived.uid]);
      expect((await store.locate(tenant, q)).uids).toEqual([online.uid, archived.uid]);
      expect((await store.locate(tenant, { ...q, attributes: [], objectType: online.objectType, archived: true })).uids).toEqual([archived.uid]);
      expect((await store.locate(tenant, { ...q, excludedObjectTypes: [online.objectType] })).uids).toEqual([]);
      expect((await store.locate(tenant, { ...q, excludedObjectTypes: [online.objectType + 1] })).uids).toEqual([online.uid, archived.uid]);
    });

    it('tells whether an identifier is in use by any tenant', async () => {
      const mine = objectRecord(tenant, {});
      const theirs = objectRecord(other, {});
      for (const o of [mine, theirs]) await store.commit([{ kind: 'insert', object: o }]);
      expect(await store.uidInUse(mine.uid)).toBe(true);
      expect(await store.uidInUse(theirs.uid)).toBe(true);
      expect(await store.uidInUse(randomUUID())).toBe(false);
    });

    it('manages tenants and client certificates; a certificate fingerprint is unique', async () => {
      await expect(store.createTenant({ id: randomUUID(), name: `t-${tenant}`, createdAt: 3 })).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
      expect((await store.getTenantByName(`t-${tenant}`))?.id).toBe(tenant);
      const cert = { fingerprint: 'ab'.repeat(32), tenantId: tenant, label: 'vc', kind: 'pin' as const, subject: null, pem: 'PEM', createdAt: 5 };
      await store.addClientCert(cert);
      await expect(store.addClientCert({ ...cert, tenantId: other })).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
      expect(await store.getClientCert(cert.fingerprint)).toEqual(cert);
      expect(await store.listClientCerts(tenant)).toEqual([cert]);
      expect(await store.listClientCerts(other)).toEqual([]);
      expect(await store.removeClientCert(cert.fingerprint)).toBe(true);
      expect(await store.removeClientCert(cert.fingerprint)).toBe(false);
      expect(await store.getClientCert(cert.fingerprint)).toBeUndefined();
    });

    it('counts objects per tenant and state, lists them in pages, and deletes a tenant with everything it owns', async () => {
      for (const state of [1, 2, 2, 5]) await store.commit([{ kind: 'insert', object: objectRecord(tenant, { state }) }]);
      expect(await store.countObjectsByState(tenant)).toEqual([
        { tenantId: tenant, state: 1, count: 1 },
        { tenantId: tenant, state: 2, count: 2 },
        { tenantId: tenant, state: 5, count: 1 },
      ]);
      const first = await store.listObjects({ tenantId: tenant, limit: 3 });
      const rest = await store.listObjects({ tenantId: tenant, limit: 3, afterUid: first[2]!.uid });
      expect(first).toHaveLength(3);
      expect(rest).toHaveLength(1);
      expect((await store.listObjects({ tenantId: tenant, states: [2], limit: 10 })).map((o) => o.state)).toEqual([2, 2]);
      await store.deleteTenant(tenant);
      expect(await store.getTenant(tenant)).toBeUndefined();
      expect(await store.countObjectsByState(tenant)).toEqual([]);
    });

    it('exports a snapshot as of its first item: later commits and updates are not in it', async () => {
      const cert = { fingerprint: 'cd'.repeat(32), tenantId: tenant, label: 'vc', kind: 'pin' as const, subject: null, pem: 'PEM', createdAt: 5 };
      await store.addClientCert(cert);
      const before = [objectRecord(tenant), objectRecord(other, { state: 5, material: null }), objectRecord(tenant, { lastGetAt: 77 })];
      for (const o of before) await store.commit([{ kind: 'insert', object: o }]);
      await store.touch([before[0]!.uid], 99);

      const iterator = store.exportSnapshot()[Symbol.asyncIterator]();
      const first = await iterator.next();
      await store.commit([{ kind: 'insert', object: objectRecord(tenant) }]);
      await store.commit([{ kind: 'update', object: { ...before[2]!, state: 2, revision: 2 }, expectedRevision: 1 }]);
      const items = [first.value];
      for (let n = await iterator.next(); !n.done; n = await iterator.next()) items.push(n.value);

      expect(items.filter((i) => i.kind === 'tenant').map((i) => i.tenant.id)).toEqual([tenant, other]);
      expect(items.filter((i) => i.kind === 'cert').map((i) => i.cert)).toEqual([cert]);
      const objects = items.flatMap((i) => (i.kind === 'object' ? [i.object] : []));
      // In creation order, exactly as committed before the export began (the pending Get time included).
      expect(objects).toEqual([{ ...before[0]!, lastGetAt: 99 }, before[1], before[2]]);
    });

    it('stops an export cleanly when the reader leaves early, and can export again', async () => {
      for (let i = 0; i < 3; i++) await store.commit([{ kind: 'insert', object: objectRecord(tenant) }]);
      for await (const item of store.exportSnapshot()) if (item.kind === 'cert' || item.kind === 'object') break;
      let objects = 0;
      for await (const item of store.exportSnapshot()) if (item.kind === 'object') objects++;
      expect(objects).toBe(3);
      await store.commit([{ kind: 'insert', object: objectRecord(tenant) }]);
    });

    it('deletes chosen objects of a tenant, index rows included, and nothing else', async () => {
      const nameValue = (name: string) => [1, [[0x420055, 7, name]]];
      const named = (name: string) => objectRecord(tenant, { attributes: [attr('Name', nameValue(name))] });
      const objects = [named('a'), named('b'), named('c')];
      for (const o of objects) await store.commit([{ kind: 'insert', object: o }]);
      expect(await store.deleteObjects(other, [objects[0]!.uid])).toBe(0);
      expect(await store.deleteObjects(tenant, [objects[0]!.uid, objects[1]!.uid])).toBe(2);
      expect(await store.getObject(tenant, objects[0]!.uid)).toBeUndefined();
      expect(await store.getObject(tenant, objects[2]!.uid)).toBeDefined();
      const byName = { name: 'Name', key: JSON.stringify(nameValue('a')), indexed: true };
      expect((await store.locate(tenant, { attributes: [byName], ranges: [], offset: 0, limit: 10, withTotal: false })).uids).toEqual([]);
      // The Name is free again: its index row went with the object.
      await store.commit([{ kind: 'insert', object: named('a') }]);
    });

    it('records last Get times (best effort, visible after a flush)', async () => {
      const o = objectRecord(tenant);
      await store.commit([{ kind: 'insert', object: o }]);
      await store.touch([o.uid], 123_456);
      await store.close();
      if (!factory.reopen) return;
      store = await factory.reopen();
      expect((await store.getObject(tenant, o.uid))!.lastGetAt).toBe(123_456);
    });

    it('answers ping while open and refuses work once closed', async () => {
      await store.ping();
      await store.close();
      await expect(store.ping()).rejects.toMatchObject({ code: StoreErrorCode.Unavailable });
      store = await factory.create();
    });
  });
}
