/** Numbered PostgreSQL schema migrations; applied in order, each once, under an advisory lock. */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ readonly version: number; readonly sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE client_certs (
        fingerprint TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        label TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('pin', 'ca')),
        subject TEXT,
        pem TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX client_certs_tenant ON client_certs(tenant_id);
      CREATE TABLE objects (
        seq BIGSERIAL PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        object_type INTEGER NOT NULL,
        state INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_get_at BIGINT,
        attributes TEXT NOT NULL,
        material BYTEA,
        wrap_kind TEXT,
        root_key_id TEXT,
        root_key_version TEXT
      );
      CREATE INDEX objects_tenant_type_state ON objects(tenant_id, object_type, state);
      -- One row per distinct (attribute, value) of an object, keyed by the object's increasing seq.
      CREATE TABLE object_index (
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        seq BIGINT NOT NULL,
        num DOUBLE PRECISION,
        PRIMARY KEY (tenant_id, name, value, seq)
      );
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
      ALTER TABLE object_index ADD COLUMN released BOOLEAN NOT NULL DEFAULT FALSE;
      UPDATE object_index SET released = TRUE
        WHERE name = 'Name' AND seq IN (SELECT seq FROM objects WHERE state IN (5, 6));
      DROP INDEX object_index_unique_name;
      CREATE UNIQUE INDEX object_index_unique_live_name ON object_index(tenant_id, value) WHERE name = 'Name' AND NOT released;
    `,
  },
];
