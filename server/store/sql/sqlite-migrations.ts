/** Numbered SQLite schema migrations; applied in order, each once, from an empty database. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ readonly version: number; readonly sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE client_certs (
        fingerprint TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        label TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('pin', 'ca')),
        subject TEXT,
        pem TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX client_certs_tenant ON client_certs(tenant_id);
      CREATE TABLE objects (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        object_type INTEGER NOT NULL,
        state INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_get_at INTEGER,
        attributes TEXT NOT NULL,
        material BLOB,
        wrap_kind TEXT,
        root_key_id TEXT,
        root_key_version TEXT
      );
      CREATE INDEX objects_tenant_type_state ON objects(tenant_id, object_type, state);
      -- One row per distinct (attribute, value) of an object; the row is its own index. Keyed by the
      -- object's increasing seq (not its random uid) so new rows append to the same few pages.
      CREATE TABLE object_index (
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        seq INTEGER NOT NULL,
        num REAL,
        PRIMARY KEY (tenant_id, name, value, seq)
      ) WITHOUT ROWID;
      CREATE INDEX object_index_range ON object_index(tenant_id, name, num) WHERE num IS NOT NULL;
      CREATE UNIQUE INDEX object_index_unique_name ON object_index(tenant_id, value) WHERE name = 'Name';
    `,
  },
  {
    // Destroying an object releases its Names (index-rows.ts): the Name rows of objects Destroyed (5)
    // or Destroyed Compromised (6) are marked released and uniqueness covers the rest. A column with
    // a default, so a schema-1 server still running during a rolling upgrade, whose INSERTs name
    // their columns, writes Name rows the unique index covers.
    version: 2,
    sql: `
      ALTER TABLE object_index ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
      UPDATE object_index SET released = 1
        WHERE name = 'Name' AND seq IN (SELECT seq FROM objects WHERE state IN (5, 6));
      DROP INDEX object_index_unique_name;
      CREATE UNIQUE INDEX object_index_unique_live_name ON object_index(tenant_id, value) WHERE name = 'Name' AND NOT released;
    `,
  },
];
