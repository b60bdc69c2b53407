import type { PeerCertificate } from 'node:tls';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectionOptions, PostgresStore } from '../../../server/store/postgres.js';
import { StoreErrorCode } from '../../../server/store/errors.js';
import { POSTGRES_MIGRATIONS } from '../../../server/store/sql/postgres-migrations.js';
import { freshDatabase, postgresSkipReason } from '../../support/postgres.js';
import { storeContract } from '../../support/store-contract.js';

const skip = await postgresSkipReason();

describe.skipIf(skip)('PostgreSQL store', () => {
  let db: { url: string; drop: () => Promise<void> } | undefined;
  storeContract('PostgreSQL', {
    async create() {
      db = await freshDatabase();
      return PostgresStore.open({ connectionString: db.url, poolSize: 8 });
    },
    async reopen() {
      return PostgresStore.open({ connectionString: db!.url });
    },
    async cleanup() {
      await db?.drop();
    },
  });

  it('migrates once from empty even when several nodes start together', async () => {
    const fresh = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresStore.open({ connectionString: fresh.url, poolSize: 2 })));
    await Promise.all(stores.map((s) => s.close()));
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
    await client.end();
    await fresh.drop();
  });

  it('refuses a database written by a newer server', async () => {
    const fresh = await freshDatabase();
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL); INSERT INTO schema_migrations VALUES (999, 0)');
    await client.end();
    await expect(PostgresStore.open({ connectionString: fresh.url })).rejects.toMatchObject({ code: StoreErrorCode.Migration });
    await fresh.drop();
  });

  it('fails fast and clearly when the database is unreachable', async () => {
    const started = Date.now();
    await expect(PostgresStore.open({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500 })).rejects.toMatchObject({
      code: expect.stringMatching(/STORE_ERR_(UNAVAILABLE|MIGRATION)/),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('PostgreSQL connection options', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('keeps the CA file when the URL carries sslmode (node-postgres would otherwise drop it)', () => {
    const url = 'postgres://admin:secret@db.example:31000/ibmclouddb?sslmode=verify-full&application_name=kmip';
    const naive = new pg.Client({ connectionString: url, ssl: { ca: CA, rejectUnauthorized: true } });
    // The problem this guards against: the URL's sslmode wins over the ssl option.
    expect((naive as unknown as { connectionParameters: { ssl: { ca?: string } } }).connectionParameters.ssl.ca).toBeUndefined();
    const fixed = new pg.Client(connectionOptions(url, CA));
    const ssl = (fixed as unknown as { connectionParameters: { ssl: { ca?: string; rejectUnauthorized?: boolean } } }).connectionParameters.ssl;
    expect(ssl).toMatchObject({ ca: CA, rejectUnauthorized: true });
    expect(connectionOptions(url, CA).connectionString).toBe('postgres://admin:secret@db.example:31000/ibmclouddb?application_name=kmip');
  });

  it('checks a host given as an IP address against the certificate’s IP names, not "localhost" (node-postgres names no host to TLS for an address)', () => {
    const check = connectionOptions('postgres://u@127.0.0.1:5432/db?sslmode=verify-full', CA).ssl!.checkServerIdentity!;
    const cert = (subjectaltname: string) => ({ subject: { CN: 'db' }, subjectaltname }) as unknown as PeerCertificate;
    // Node calls it with "localhost" when no host was named: the URL's address is what counts.
    expect(check('localhost', cert('IP Address:127.0.0.1'))).toBeUndefined();
    expect(check('localhost', cert('DNS:localhost'))).toBeInstanceOf(Error);
    expect(check('localhost', cert('IP Address:127.0.0.2'))).toBeInstanceOf(Error);
    expect(connectionOptions('postgres://u@[::1]:5432/db', CA).ssl!.checkServerIdentity!('localhost', cert('IP Address:0:0:0:0:0:0:0:1'))).toBeUndefined();
    // A host name is named to TLS by node-postgres (servername), so Node's own check applies.
    expect(connectionOptions('postgres://u@db.example:5432/db', CA).ssl!.checkServerIdentity).toBeUndefined();
  });

  it('leaves the URL alone without a CA file', () => {
    expect(connectionOptions('postgres://u@h/db?sslmode=require', undefined)).toEqual({ connectionString: 'postgres://u@h/db?sslmode=require' });
  });
});
