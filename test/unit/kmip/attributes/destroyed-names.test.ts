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

const nameValue = (n: string) => [1, [[0x420055, 7, n]]];
const nameKey = (n: string) => JSON.stringify(nameValue(n));
/** Two objects as a server before this rule stored them: a live one named "live", a destroyed one named "gone". */
function legacyObjects(tenantId: string): ObjectRecord[] {
  return [
    objectRecord(tenantId, { state: 2, attributes: [attr('Name', nameValue('live'))] }),
    objectRecord(tenantId, { state: 5, material: null, attributes: [attr('Name', nameValue('gone'))] }),
  ];
}
const named = (tenantId: string, n: string) => objectRecord(tenantId, { attributes: [attr('Name', nameValue(n))] });
const LIVE = [1, 2, 3, 4];
const DESTROYED = [5, 6];
const byName = async (store: KeyStore, tenantId: string, n: string, states: number[]) =>
  (await store.locate(tenantId, { attributes: [{ name: 'Name', key: nameKey(n), indexed: true }], states, ranges: [], offset: 0, limit: 10, withTotal: false })).uids;
const objectRow = (o: ObjectRecord) => [o.uid, o.tenantId, o.objectType, o.state, o.revision, o.createdAt, o.updatedAt, o.lastGetAt, serializeAttributes(o.attributes), o.material ? Buffer.from(o.material.ciphertext) : null, o.material?.wrapKind ?? null, o.material?.rootKeyId ?? null, o.material?.rootKeyVersion ?? null];

/**
 * A server of schema 1 on the same database: what it wrote, with its own statements (explicit
 * column lists, no released column), as a node not yet upgraded does during a rolling upgrade.
 */
interface SchemaOneNode {
  /** Its Create: the object row and its index rows, all or nothing. */
  create(o: ObjectRecord): Promise<void>;
  /** Its Modify Attribute of one Name: the object row, then its index diff (one row out, one in). */
  rename(o: ObjectRecord, from: string, to: string): Promise<ObjectRecord>;
  /** Its Destroy: the object row; its attributes (so its index rows) unchanged. */
  destroy(o: ObjectRecord): Promise<ObjectRecord>;
  /** The Name rows of the tenant as stored, with their mark. */
  nameRows(tenantId: string): Promise<Array<{ value: string; released: boolean }>>;
  /** What the driver says of a unique index refusing a row. */
  readonly uniqueViolation: string;
}

/** What the migration must give a database written before it: the destroyed object's Name free, the live one's still held. */
async function checkMigrated(store: () => KeyStore, v1: SchemaOneNode, tenantId: string, old: ObjectRecord[]): Promise<void> {
  expect(await v1.nameRows(tenantId)).toEqual([
    { value: nameKey('gone'), released: true },
    { value: nameKey('live'), released: false },
  ]);
  await store().commit([{ kind: 'insert', object: named(tenantId, 'gone') }]);
  await expect(store().commit([{ kind: 'insert', object: named(tenantId, 'live') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
  expect((await store().getObject(tenantId, old[1]!.uid))!.attributes).toEqual(old[1]!.attributes);
  expect(await byName(store(), tenantId, 'gone', DESTROYED)).toEqual([old[1]!.uid]);
  // The live holder gives its Name up once destroyed, like any object written after the migration.
  await store().commit([{ kind: 'update', object: { ...old[0]!, state: 5, revision: 2, material: null }, expectedRevision: 1 }]);
  await store().commit([{ kind: 'insert', object: named(tenantId, 'live') }]);
}

/**
 * A rolling upgrade: the database migrated, a schema-1 node still writing beside a new one. Its
 * Names stay unique against both, its renames leave nothing held, and its Destroys keep the Name
 * held (the safe side) until a newer node changes the destroyed object.
 */
async function checkSchemaOneNodeAfterMigration(store: () => KeyStore, v1: SchemaOneNode, tenantId: string): Promise<void> {
  const newHolder = named(tenantId, 'held-by-new');
  await store().commit([{ kind: 'insert', object: newHolder }]);
  // A duplicate of a Name the new node holds, and of one the old node holds, is refused by the database.
  await expect(v1.create(named(tenantId, 'held-by-new'))).rejects.toMatchObject({ code: v1.uniqueViolation });
  const oldHolder = named(tenantId, 'held-by-old');
  await v1.create(oldHolder);
  await expect(v1.create(named(tenantId, 'held-by-old'))).rejects.toMatchObject({ code: v1.uniqueViolation });
  await expect(store().commit([{ kind: 'insert', object: named(tenantId, 'held-by-old') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
  expect(await byName(store(), tenantId, 'held-by-old', LIVE)).toEqual([oldHolder.uid]);

  // The old node renames its object: the old Name is free at once, the new one held.
  const renamed = await v1.rename(oldHolder, 'held-by-old', 'renamed-by-old');
  const taker = named(tenantId, 'held-by-old');
  await store().commit([{ kind: 'insert', object: taker }]);
  expect(await byName(store(), tenantId, 'held-by-old', LIVE)).toEqual([taker.uid]);
  await expect(store().commit([{ kind: 'insert', object: named(tenantId, 'renamed-by-old') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
  expect(await byName(store(), tenantId, 'renamed-by-old', LIVE)).toEqual([renamed.uid]);

  // A Name the new node released is the old node's to take too.
  await store().commit([{ kind: 'update', object: { ...newHolder, state: 5, revision: 2, material: null }, expectedRevision: 1 }]);
  const oldTaker = named(tenantId, 'held-by-new');
  await v1.create(oldTaker);
  expect(await byName(store(), tenantId, 'held-by-new', LIVE)).toEqual([oldTaker.uid]);
  expect(await byName(store(), tenantId, 'held-by-new', DESTROYED)).toEqual([newHolder.uid]);

  // The old node's Destroy does not release: the Name stays held, though Locate sees the object destroyed.
  const destroyed = await v1.destroy(renamed);
  await expect(store().commit([{ kind: 'insert', object: named(tenantId, 'renamed-by-old') }])).rejects.toMatchObject({ code: StoreErrorCode.Duplicate });
  expect(await byName(store(), tenantId, 'renamed-by-old', LIVE)).toEqual([]);
  expect(await byName(store(), tenantId, 'renamed-by-old', DESTROYED)).toEqual([renamed.uid]);
  // The new node's next change to that destroyed object lets the Name go.
  const changed = { ...destroyed, revision: destroyed.revision + 1, attributes: [...destroyed.attributes, attr('x-Note', [7, 'after the roll'])] };
  await store().commit([{ kind: 'update', object: changed, expectedRevision: destroyed.revision }]);
  const next = named(tenantId, 'renamed-by-old');
  await store().commit([{ kind: 'insert', object: next }]);
  expect(await byName(store(), tenantId, 'renamed-by-old', LIVE)).toEqual([next.uid]);
  expect(await byName(store(), tenantId, 'renamed-by-old', DESTROYED)).toEqual([renamed.uid]);
}

const SQLITE_V1_INSERT_OBJECT =
  'INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const SQLITE_V1_INSERT_INDEX = 'INSERT INTO object_index (tenant_id, name, value, seq, num) VALUES (?, ?, ?, ?, ?)';
const SQLITE_V1_DELETE_INDEX = 'DELETE FROM object_index WHERE tenant_id = ? AND name = ? AND value = ? AND seq = ?';
const SQLITE_V1_UPDATE_OBJECT = 'UPDATE objects SET state = ?, revision = ?, attributes = ?, material = ? WHERE uid = ? AND tenant_id = ?';

/** A schema-1 SQLite writer. The store holds its file exclusively, so each write closes it, writes, and opens it again. */
function sqliteSchemaOne(path: string, reopen: () => Promise<void>, close: () => Promise<void>): SchemaOneNode {
  const write = async <T>(fn: (db: Database.Database) => T): Promise<T> => {
    await close();
    const db = new Database(path);
    try {
      return db.transaction(() => fn(db))();
    } finally {
      db.close();
      await reopen();
    }
  };
  const seqOf = (db: Database.Database, o: ObjectRecord) => db.prepare<[string], { seq: number }>('SELECT seq FROM objects WHERE uid = ?').get(o.uid)!.seq;
  return {
    uniqueViolation: 'SQLITE_CONSTRAINT_UNIQUE',
    create: (o) =>
      write((db) => {
        const seq = db.prepare(SQLITE_V1_INSERT_OBJECT).run(...objectRow(o)).lastInsertRowid;
        for (const a of o.attributes.filter((x) => x.indexed)) db.prepare(SQLITE_V1_INSERT_INDEX).run(o.tenantId, a.name, a.key, seq, a.num ?? null);
      }),
    rename: (o, from, to) =>
      write((db) => {
        const next = { ...o, revision: o.revision + 1, attributes: o.attributes.map((a) => (a.key === nameKey(from) ? attr('Name', nameValue(to)) : a)) };
        db.prepare(SQLITE_V1_UPDATE_OBJECT).run(next.state, next.revision, serializeAttributes(next.attributes), next.material ? Buffer.from(next.material.ciphertext) : null, o.uid, o.tenantId);
        db.prepare(SQLITE_V1_DELETE_INDEX).run(o.tenantId, 'Name', nameKey(from), seqOf(db, o));
        db.prepare(SQLITE_V1_INSERT_INDEX).run(o.tenantId, 'Name', nameKey(to), seqOf(db, o), null);
        return next;
      }),
    destroy: (o) =>
      write((db) => {
        const next = { ...o, state: 5, revision: o.revision + 1, material: null };
        db.prepare(SQLITE_V1_UPDATE_OBJECT).run(next.state, next.revision, serializeAttributes(next.attributes), null, o.uid, o.tenantId);
        return next;
      }),
    nameRows: (tenantId) =>
      write((db) =>
        db
          .prepare<[string], { value: string; released: number }>("SELECT value, released FROM object_index WHERE tenant_id = ? AND name = 'Name' ORDER BY value")
          .all(tenantId)
          .map((r) => ({ value: r.value, released: r.released === 1 })),
      ),
  };
}

/** A schema-1 PostgreSQL writer, with that version's statements, on its own connection beside the store. */
function postgresSchemaOne(client: pg.Client): SchemaOneNode {
  const inTransaction = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN');
    try {
      const out = await fn();
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  };
  const seqOf = async (o: ObjectRecord) => (await client.query<{ seq: string }>('SELECT seq FROM objects WHERE uid = $1', [o.uid])).rows[0]!.seq;
  const update = (o: ObjectRecord) =>
    client.query('UPDATE objects SET state = $3, revision = $4, attributes = $5, material = $6 WHERE uid = $1 AND tenant_id = $2', [o.uid, o.tenantId, o.state, o.revision, serializeAttributes(o.attributes), o.material ? Buffer.from(o.material.ciphertext) : null]);
  return {
    uniqueViolation: '23505',
    async create(o) {
      const rows = o.attributes.filter((a) => a.indexed);
      // Schema 1's lone Create: object and index rows in one statement.
      await client.query(
        `WITH o AS (
           INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq)
         INSERT INTO object_index (tenant_id, seq, name, value, num)
         SELECT $2, o.seq, a.name, a.value, a.num FROM o, unnest($14::text[], $15::text[], $16::float8[]) AS a(name, value, num)`,
        [...objectRow(o), rows.map((r) => r.name), rows.map((r) => r.key), rows.map((r) => r.num ?? null)],
      );
    },
    rename: (o, from, to) =>
      inTransaction(async () => {
        const next = { ...o, revision: o.revision + 1, attributes: o.attributes.map((a) => (a.key === nameKey(from) ? attr('Name', nameValue(to)) : a)) };
        await update(next);
        const seq = await seqOf(o);
        await client.query(
          `DELETE FROM object_index i USING unnest($3::text[], $4::text[]) AS r(name, value)
           WHERE i.tenant_id = $1 AND i.seq = $2 AND i.name = r.name AND i.value = r.value`,
          [o.tenantId, seq, ['Name'], [nameKey(from)]],
        );
        await client.query(
          `INSERT INTO object_index (tenant_id, seq, name, value, num)
           SELECT $1, $2, a.name, a.value, a.num FROM unnest($3::text[], $4::text[], $5::float8[]) AS a(name, value, num)`,
          [o.tenantId, seq, ['Name'], [nameKey(to)], [null]],
        );
        return next;
      }),
    async destroy(o) {
      const next = { ...o, state: 5, revision: o.revision + 1, material: null };
      await update(next);
      return next;
    },
    async nameRows(tenantId) {
      const { rows } = await client.query<{ value: string; released: boolean }>("SELECT value, released FROM object_index WHERE tenant_id = $1 AND name = 'Name' ORDER BY value", [tenantId]);
      return rows;
    },
  };
}

describe('the migration of a database written before destroyed objects released their Names', () => {
  it('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmip-names-'));
    const path = join(dir, 'kmip.db');
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    db.exec(SQLITE_MIGRATIONS[0]!.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (1, 0)').run();
    db.prepare("INSERT INTO tenants VALUES ('t1', 'one', 1)").run();
    db.prepare("INSERT INTO tenants VALUES ('t2', 'two', 1)").run();
    const old = legacyObjects('t1');
    for (const o of old) {
      const seq = db.prepare(SQLITE_V1_INSERT_OBJECT).run(...objectRow(o)).lastInsertRowid;
      db.prepare(SQLITE_V1_INSERT_INDEX).run('t1', 'Name', o.attributes[0]!.key, seq, null);
    }
    db.close();
    let store: SqliteStore | undefined = new SqliteStore({ path });
    const v1 = sqliteSchemaOne(
      path,
      async () => {
        store = new SqliteStore({ path });
      },
      async () => {
        await store?.close();
        store = undefined;
      },
    );
    try {
      await checkMigrated(() => store!, v1, 't1', old);
      await checkSchemaOneNodeAfterMigration(() => store!, v1, 't2');
    } finally {
      await store?.close();
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
      await client.query("INSERT INTO tenants VALUES ('t1', 'one', 1), ('t2', 'two', 1)");
      const old = legacyObjects('t1');
      for (const o of old) {
        const { rows } = await client.query<{ seq: string }>(
          'INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq',
          objectRow(o),
        );
        await client.query("INSERT INTO object_index (tenant_id, name, value, seq, num) VALUES ('t1', 'Name', $1, $2, NULL)", [o.attributes[0]!.key, rows[0]!.seq]);
      }
      // The old node's connection stays open across the migration, as a running node's pool does.
      store = await PostgresStore.open({ connectionString: fresh.url, poolSize: 2 });
      const v1 = postgresSchemaOne(client);
      await checkMigrated(() => store!, v1, 't1', old);
      await checkSchemaOneNodeAfterMigration(() => store!, v1, 't2');
    } finally {
      await store?.close();
      await client.end().catch(() => undefined);
      await fresh.drop();
    }
  });
});
