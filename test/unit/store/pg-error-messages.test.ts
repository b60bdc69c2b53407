/**
 * The PostgreSQL store's errors an operator fixes name where it looked and what to do: a database that
 * does not exist ("database error 3D000" before), against the real PostgreSQL on 127.0.0.1:5432, and a
 * port nobody listens on ("database is unreachable" with no host, before), which needs no PostgreSQL.
 * The URL's password never appears.
 */
import { describe, expect, it } from 'vitest';
import { describeOpenFailure } from '../../../server/store/open-when-reachable.js';
import { pgTarget } from '../../../server/store/pg-target.js';
import { PostgresStore } from '../../../server/store/postgres.js';
import { freePort } from '../../support/free-port.js';
import { PG_ADMIN_URL, postgresSkipReason } from '../../support/postgres.js';

const SECRET = 'pw-Never-Printed-7f3a';
const skip = await postgresSkipReason();

/** The admin URL with a password that PostgreSQL (trust auth) ignores and another database name. */
function urlFor(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.password = SECRET;
  url.pathname = `/${database}`;
  return url.toString();
}

async function openFailure(connectionString: string): Promise<Error & { code: string }> {
  try {
    const store = await PostgresStore.open({ connectionString, connectTimeoutMs: 3000 });
    await store.close();
  } catch (err) {
    return err as Error & { code: string };
  }
  throw new Error('the store opened');
}

describe('PostgreSQL store errors that need no PostgreSQL: where it looked and what to check', () => {
  it('a closed port: "unreachable at HOST:PORT (database NAME, ECONNREFUSED)" and what to check', async () => {
    // A port just freed on this host, not PG_ADMIN_URL's host: the test must not depend on where PostgreSQL runs.
    const closed = await freePort();
    const err = await openFailure(`postgres://postgres:${SECRET}@127.0.0.1:${closed}/kmip`);
    expect(err.code).toBe('STORE_ERR_UNAVAILABLE');
    const text = describeOpenFailure(err);
    expect(text).toMatch(new RegExp(`^STORE_ERR_UNAVAILABLE: database is unreachable at 127\\.0\\.0\\.1:${closed} \\(database kmip, ECONNREFUSED\\): check that PostgreSQL runs there and that store\\.url names its host and port`));
    expect(text).not.toContain(SECRET);
  });

  it('reads the target as node-postgres does, never keeping the password', () => {
    expect(pgTarget('postgres://kmip:s3cret@db.example:31000/ibmclouddb?sslmode=verify-full', {})).toEqual({ host: 'db.example', port: 31000, database: 'ibmclouddb', user: 'kmip' });
    expect(pgTarget('postgres://kmip@[::1]/', { PGDATABASE: 'fromenv' })).toEqual({ host: '::1', port: 5432, database: 'fromenv', user: 'kmip' });
    expect(pgTarget('postgresql:///kmip?host=/run/postgresql', { USER: 'ops' })).toEqual({ host: '/run/postgresql', port: 5432, database: 'kmip', user: 'ops' });
    expect(JSON.stringify(pgTarget('postgres://kmip:s3cret@db.example/x', {}))).not.toContain('s3cret');
    expect(pgTarget('not a url', {})).toBeUndefined();
  });
});

describe.skipIf(skip)('PostgreSQL store errors name the host, port and database, and the fix', () => {
  const admin = new URL(PG_ADMIN_URL);
  const host = admin.hostname;
  const port = Number(admin.port || 5432);

  it('a database that does not exist: its name, where, and createdb', async () => {
    const err = await openFailure(urlFor('kmip_no_such_db_19'));
    expect(err.code).toBe('STORE_ERR_UNAVAILABLE');
    const text = describeOpenFailure(err);
    expect(text).toContain('database error 3D000 (database "kmip_no_such_db_19" does not exist)');
    expect(text).toContain(`on PostgreSQL at ${host}:${port}`);
    expect(text).toContain(`createdb -h ${host} -p ${port} -U ${decodeURIComponent(admin.username)} kmip_no_such_db_19`);
    expect(text).toMatch(/correct the database name in store\.url/);
    expect(text).not.toContain(SECRET);
  });
});
