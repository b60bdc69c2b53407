/**
 * PostgreSQL for tests: the machine's server on 127.0.0.1:5432 (trust auth, database "test"), a
 * fresh database per suite so each starts empty and suites never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requirement, tcpReachable } from './env.js';

export const PG_ADMIN_URL = process.env['KMIP_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresSkipReason(): Promise<string | undefined> {
  const url = new URL(PG_ADMIN_URL);
  let ok = await tcpReachable(url.hostname, Number(url.port || 5432));
  if (ok) {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    ok = await client.connect().then(
      () => client.end().then(() => true),
      () => false,
    );
  }
  return requirement(`PostgreSQL at ${url.host}`, ok, 'start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
}

/** Creates an empty database; returns its URL and a function that drops it. */
export async function freshDatabase(prefix = 'kmip_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: PG_ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
