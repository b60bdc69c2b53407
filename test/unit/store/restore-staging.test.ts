/**
 * A restore's staging (issue 18, finding 4), on both backends: nothing staged is visible until the
 * publish, which lands everything (index rows included) in one transaction or nothing; the publish
 * is refused, publishing nothing, when the store gained a key meanwhile; a restore cut off by a
 * restart leaves nothing behind and the next one works.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreErrorCode } from '../../../server/store/errors.js';
import { PostgresStore } from '../../../server/store/postgres.js';
import { SqliteStore } from '../../../server/store/sqlite.js';
import type { KeyStore } from '../../../server/store/store.js';
import { freshDatabase, postgresSkipReason } from '../../support/postgres.js';
import { attr, objectRecord } from '../../support/store-contract.js';

const pgSkip = await postgresSkipReason();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Backend {
  open(): Promise<KeyStore>;
  drop(): Promise<void>;
}

async function sqlite(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-restore-stage-'));
  dirs.push(dir);
  return { open: async () => new SqliteStore({ path: join(dir, 'kmip.db') }), drop: async () => undefined };
}
async function postgres(): Promise<Backend> {
  const db = await freshDatabase('kmip_restore_stage');
  return { open: () => PostgresStore.open({ connectionString: db.url, poolSize: 4 }), drop: db.drop };
}

for (const [label, backend, skip] of [
  ['SQLite', sqlite, undefined],
  ['PostgreSQL', postgres, pgSkip],
] as const) {
  describe.skipIf(skip)(`restore staging (${label})`, () => {
    it('shows nothing until the publish, then everything, index rows included', async () => {
      const b = await backend();
      const store = await b.open();
      try {
        const tenant = { id: randomUUID(), name: 'restored', createdAt: 1 };
        const fp = 'ab'.repeat(32);
        const objects = Array.from({ length: 620 }, (_, i) => objectRecord(tenant.id, { attributes: [attr('x-Tag', [7, `t${i % 3}`])] }));
        const staging = await store.beginRestore();
        await staging.addTenant(tenant);
        await staging.addCert({ fingerprint: fp, tenantId: tenant.id, label: 'c', kind: 'pin', subject: null, pem: 'pem', createdAt: 1 });
        for (let i = 0; i < objects.length; i += 200) await staging.addObjects(objects.slice(i, i + 200));
        expect(await store.getTenantByName('restored')).toBeUndefined();
        expect(await store.getClientCert(fp)).toBeUndefined();
        expect(await store.getObject(tenant.id, objects[0]!.uid)).toBeUndefined();
        expect(await store.countObjectsByState()).toEqual([]);
        await staging.publish();
        expect(await store.getTenantByName('restored')).toMatchObject({ id: tenant.id });
        expect((await store.getClientCert(fp))?.tenantId).toBe(tenant.id);
        expect((await store.countObjectsByState()).reduce((s, c) => s + c.count, 0)).toBe(620);
        expect(await store.getObject(tenant.id, objects[619]!.uid)).toMatchObject({ uid: objects[619]!.uid, material: objects[619]!.material });
        const found = await store.locate(tenant.id, { attributes: [{ name: 'x-Tag', key: JSON.stringify([7, 't1']), indexed: true }], ranges: [], offset: 0, limit: 1000, withTotal: true });
        expect(found.total).toBe(207);
      } finally {
        await store.close();
        await b.drop();
      }
    });

    it('refuses to publish into a store that gained a key meanwhile, publishing nothing; a second restore waits its turn', async () => {
      const b = await backend();
      const store = await b.open();
      try {
        const tenant = { id: randomUUID(), name: 'restored', createdAt: 1 };
        const staging = await store.beginRestore();
        if (label === 'SQLite') await expect(store.beginRestore()).rejects.toMatchObject({ code: StoreErrorCode.Conflict });
        await staging.addTenant(tenant);
        await staging.addObjects([objectRecord(tenant.id)]);
        const other = { id: randomUUID(), name: 'live', createdAt: 1 };
        await store.createTenant(other);
        await store.commit([{ kind: 'insert', object: objectRecord(other.id) }]);
        await expect(staging.publish()).rejects.toMatchObject({ code: StoreErrorCode.Conflict });
        await staging.abort();
        expect(await store.getTenantByName('restored')).toBeUndefined();
        expect((await store.countObjectsByState()).map((c) => c.tenantId)).toEqual([other.id]);
        // The store is usable and a new restore can start.
        await (await store.beginRestore()).abort();
      } finally {
        await store.close();
        await b.drop();
      }
    });

    it('a restore cut off by a restart leaves nothing, and the next one publishes', async () => {
      const b = await backend();
      let store = await b.open();
      const tenant = { id: randomUUID(), name: 'restored', createdAt: 1 };
      try {
        const staging = await store.beginRestore();
        await staging.addTenant(tenant);
        await staging.addObjects([objectRecord(tenant.id), objectRecord(tenant.id)]);
        await store.close(); // no publish, no abort: as a crash would leave it
        store = await b.open();
        expect(await store.getTenantByName('restored')).toBeUndefined();
        expect(await store.countObjectsByState()).toEqual([]);
        const again = await store.beginRestore();
        await again.addTenant(tenant);
        await again.addObjects([objectRecord(tenant.id)]);
        await again.publish();
        expect((await store.countObjectsByState()).reduce((s, c) => s + c.count, 0)).toBe(1);
      } finally {
        await store.close();
        await b.drop();
      }
    });
  });
}
