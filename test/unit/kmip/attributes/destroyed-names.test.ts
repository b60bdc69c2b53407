/**
 * The Name a destroyed object held: through the real executor (a client may give it to a new
 * object; Locate by Name keeps finding one live object), and across the schema migration that brings
 * the rule to a database written before it, on SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType } from '../../../../server/ttlv/index.js';
import { CryptographicAlgorithm, ObjectType, Operation, ResultReason, ResultStatus, StorageStatusMask } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { serializeAttributes } from '../../../../server/store/attributes-json.js';
import { StoreErrorCode } from '../../../../server/store/errors.js';
import { PostgresStore } from '../../../../server/store/postgres.js';
import { SQLITE_MIGRATIONS } from '../../../../server/store/sql/sqlite-migrations.js';
import { POSTGRES_MIGRATIONS } from '../../../../server/store/sql/postgres-migrations.js';
import { SqliteStore } from '../../../../server/store/sqlite.js';
import type { KeyStore, ObjectRecord } from '../../../../server/store/store.js';
import { enumAttr, intAttr, nameAttr } from '../../../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { freshDatabase, postgresSkipReason } from '../../../support/postgres.js';
import { attr, objectRecord } from '../../../support/store-contract.js';
import { e, i, nameItem, s } from '../../../support/ttlv-builder.js';

describe('a destroyed key’s Name, over KMIP', () => {
  let h: ExecutorHarness;
  beforeAll(async () => {
    h = await executorHarness();
  });
  afterAll(() => h.close());

  const create = async (name: string) => {
    const r = await h.run(
      [{ operation: Operation.Create, payload: { objectType: ObjectType.SymmetricKey, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.AES), intAttr('Cryptographic Length', 256), nameAttr(name)] } } }],
      { version: 14 },
    );
    return r.items[0]!;
  };
  /** A Name already held: 1.x has no reason for it and says Invalid Field, with the cause in the message. */
  const nameTaken = (item: { resultReason?: number | undefined; resultMessage?: string | undefined }) => {
    expect(item.resultReason).toBe(ResultReason.InvalidField);
    expect(item.resultMessage).toMatch(/Name already exists/);
  };
  const locate14 = async (name: string) => {
    const r = await h.run([{ operation: Operation.Locate, payload: { attributes: [nameAttr(name)] } }], { version: 14 });
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    return r.items[0]!.payload!['uniqueIdentifiers'] as string[];
  };
  const locate21 = async (name: string, mask: number) => {
    const r = await h.run([{ operation: Operation.Locate, payload: s(Tag.RequestPayload, [i(Tag.StorageStatusMask, mask), s(Tag.Attributes, [nameItem(name)])]) }], { version: 21 });
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    return r.items[0]!.payload!['uniqueIdentifiers'] as string[];
  };

  it('goes to the next key that asks for it; Locate by Name finds the live holder, and the destroyed one only in destroyed storage', async () => {
    const first = await create('pykmip-reused');
    expect(first.resultStatus).toBe(ResultStatus.Success);
    const firstUid = first.payload!['uniqueIdentifier'] as string;
    nameTaken(await create('pykmip-reused'));

    const destroyed = await h.run([{ operation: Operation.Destroy, payload: { uniqueIdentifier: firstUid } }], { version: 14 });
    expect(destroyed.items[0]!.resultStatus).toBe(ResultStatus.Success);
    const second = await create('pykmip-reused');
    expect(second.resultStatus).toBe(ResultStatus.Success);
    const secondUid = second.payload!['uniqueIdentifier'] as string;

    expect(await locate14('pykmip-reused')).toEqual([secondUid]);
    expect(await locate21('pykmip-reused', StorageStatusMask.OnLineStorage)).toEqual([secondUid]);
    expect(await locate21('pykmip-reused', StorageStatusMask.DestroyedStorage)).toEqual([firstUid]);
    expect(await locate21('pykmip-reused', StorageStatusMask.OnLineStorage | StorageStatusMask.DestroyedStorage)).toEqual([firstUid, secondUid]);
    // The destroyed key still shows the Name it had.
    const attrs = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: firstUid, attributeNames: ['Name'], attributeReferences: [] } }], { version: 14 });
    const name = (attrs.items[0]!.payload!['attributes'] as Array<{ value: Array<{ value: unknown }> }>)[0]!.value[1]!.value as Array<{ value: unknown }>;
    expect(name[0]!.value).toBe('pykmip-reused');
    // While the second key lives, the Name is still its alone.
    nameTaken(await create('pykmip-reused'));
  });

  it('a 2.x Register takes a Name a destroyed key gave up', async () => {
    const first = await create('registered-after');
    await h.run([{ operation: Operation.Destroy, payload: { uniqueIdentifier: first.payload!['uniqueIdentifier'] } }], { version: 14 });
    const r = await h.run(
      [
        {
          operation: Operation.Register,
          payload: s(Tag.RequestPayload, [
            e(Tag.ObjectType, ObjectType.SecretData),
            s(Tag.Attributes, [nameItem('registered-after')]),
            s(Tag.SecretData, [e(Tag.SecretDataType, 1), s(Tag.KeyBlock, [e(Tag.KeyFormatType, 2), s(Tag.KeyValue, [{ tag: Tag.KeyMaterial, type: ItemType.ByteString, value: new Uint8Array(16).fill(7) }])])]),
          ]),
        },
      ],
      { version: 21 },
    );
    expect(r.items[0]!.resultStatus, r.items[0]!.resultMessage).toBe(ResultStatus.Success);
  });
});

const pgSkip = await postgresSkipReason();

/** Two objects as a server before this rule stored them: a live one named "live", a destroyed one named "gone". */
function legacyObjects(tenantId: string): ObjectRecord[] {
  const nameValue = (n: string) => [1, [[0x420055, 7, n]]];
  return [
    objectRecord(tenantId, { state: 2, attributes: [attr('Name', nameValue('live'))] }),
    objectRecord(tenantId, { state: 5, material: null, attributes: [attr('Name', nameValue('gone'))] }),
  ];
}
const named = (tenantId: string, n: string) => objectRecord(tenantId, { attributes: [attr('Name', [1, [[0x420055, 7, n]]])] });

/** What the migration must give a database written before it: the destroyed object's Name free, the live one's still held. */
async function checkMigrated(store: KeyStore, tenantId: string, old: ObjectRecord[]): Promise<void> {
  await store.commit([{ kind: 'insert', object: named(tenantId, 'gone') }]);
  await expect(store.commit([{ kind: 'insert', object: named(tenantId, 'live') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
  expect((await store.getObject(tenantId, old[1]!.uid))!.attributes).toEqual(old[1]!.attributes);
  // The live holder gives its Name up once destroyed, like any object written after the migration.
  await store.commit([{ kind: 'update', object: { ...old[0]!, state: 5, revision: 2, material: null }, expectedRevision: 1 }]);
  await store.commit([{ kind: 'insert', object: named(tenantId, 'live') }]);
}

describe('the migration of a database written before destroyed objects released their Names', () => {
  const row = (o: ObjectRecord) => [o.uid, o.tenantId, o.objectType, o.state, o.revision, o.createdAt, o.updatedAt, o.lastGetAt, serializeAttributes(o.attributes), o.material ? Buffer.from(o.material.ciphertext) : null, o.material?.wrapKind ?? null, o.material?.rootKeyId ?? null, o.material?.rootKeyVersion ?? null];

  it('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmip-names-'));
    const path = join(dir, 'kmip.db');
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    db.exec(SQLITE_MIGRATIONS[0]!.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (1, 0)').run();
    db.prepare("INSERT INTO tenants VALUES ('t1', 'one', 1)").run();
    const old = legacyObjects('t1');
    for (const o of old) {
      const seq = db
        .prepare('INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(...row(o)).lastInsertRowid;
      db.prepare("INSERT INTO object_index (tenant_id, name, value, seq, num) VALUES ('t1', 'Name', ?, ?, NULL)").run(o.attributes[0]!.key, seq);
    }
    db.close();
    const store = new SqliteStore({ path });
    try {
      await checkMigrated(store, 't1', old);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(pgSkip)(`PostgreSQL${pgSkip ? ` (${pgSkip})` : ''}`, async () => {
    const fresh = await freshDatabase();
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    let store: PostgresStore | undefined;
    try {
      await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      await client.query(POSTGRES_MIGRATIONS[0]!.sql);
      await client.query('INSERT INTO schema_migrations VALUES (1, 0)');
      await client.query("INSERT INTO tenants VALUES ('t1', 'one', 1)");
      const old = legacyObjects('t1');
      for (const o of old) {
        const { rows } = await client.query<{ seq: string }>(
          'INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq',
          row(o),
        );
        await client.query("INSERT INTO object_index (tenant_id, name, value, seq, num) VALUES ('t1', 'Name', $1, $2, NULL)", [o.attributes[0]!.key, rows[0]!.seq]);
      }
      await client.end();
      store = await PostgresStore.open({ connectionString: fresh.url, poolSize: 2 });
      await checkMigrated(store, 't1', old);
    } finally {
      await store?.close();
      await client.end().catch(() => undefined);
      await fresh.drop();
    }
  });
});
