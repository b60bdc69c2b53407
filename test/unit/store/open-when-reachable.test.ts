/**
 * Which store failures at start are worth waiting for, and the bounded retry around them. The
 * errors are the driver's real ones where they are cheap to provoke (a closed port, a missing
 * database, an unknown role on the shared server); the rest carry the codes the driver gives them.
 */
import { describe, expect, it } from 'vitest';
import { StoreError, StoreErrorCode } from '../../../server/store/errors.js';
import { describeOpenFailure, failureCause, isTransientOpenFailure, openWhenReachable } from '../../../server/store/open-when-reachable.js';
import { PostgresStore } from '../../../server/store/postgres.js';
import { freePort } from '../../support/free-port.js';
import { PG_ADMIN_URL, postgresSkipReason } from '../../support/postgres.js';

const skipPg = await postgresSkipReason();

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
const unavailable = (cause: unknown) => new StoreError(StoreErrorCode.Unavailable, 'database is unreachable', { cause });


async function openFailure(url: string): Promise<unknown> {
  return PostgresStore.open({ connectionString: url, connectTimeoutMs: 1000 }).then(
    async (s) => {
      await s.close();
      throw new Error(`opened ${url}`);
    },
    (err: unknown) => err,
  );
}

describe('store failures at start', () => {
  it('a database nobody listens for is transient, and nothing of the URL\'s password shows', async () => {
    const err = await openFailure(`postgres://kmip:Pw-for-open-test@127.0.0.1:${await freePort()}/kmip`);
    expect(isTransientOpenFailure(err)).toBe(true);
    expect(failureCause(err)).toBe('ECONNREFUSED');
    expect(describeOpenFailure(err)).toMatch(/^STORE_ERR_UNAVAILABLE: database is unreachable at 127\.0\.0\.1:\d+ \(database kmip, ECONNREFUSED\): check that PostgreSQL runs there .*\(connect ECONNREFUSED/);
    expect(JSON.stringify([failureCause(err), describeOpenFailure(err)])).not.toContain('Pw-for-open-test');
  });

  it.skipIf(skipPg)('a missing database or an unknown role is not transient, and the exit message says which', async () => {
    const missingDb = new URL(PG_ADMIN_URL);
    missingDb.pathname = '/kmip_no_such_database';
    const db = await openFailure(missingDb.toString());
    expect(isTransientOpenFailure(db)).toBe(false);
    expect(describeOpenFailure(db)).toMatch(/^STORE_ERR_UNAVAILABLE: database error 3D000 \(database "kmip_no_such_database" does not exist\) on PostgreSQL at \S+:\d+: create it \(createdb /);
    const noRole = new URL(PG_ADMIN_URL);
    noRole.username = 'kmip_no_such_role';
    const role = await openFailure(noRole.toString());
    expect(isTransientOpenFailure(role)).toBe(false);
    expect(describeOpenFailure(role)).toContain('28000');
  });

  it('connection failures and a server still starting are transient; credentials, certificates, names and schemas are not', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', '57P03', '53300', '08006']) {
      expect(isTransientOpenFailure(unavailable(withCode(code))), code).toBe(true);
    }
    for (const message of ['timeout expired', 'Connection terminated unexpectedly', 'Connection terminated due to connection timeout', 'timeout exceeded when trying to connect']) {
      expect(isTransientOpenFailure(unavailable(new Error(message))), message).toBe(true);
    }
    expect(isTransientOpenFailure(unavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ENETUNREACH')])))).toBe(true);
    for (const code of ['28P01', '28000', '3D000', '42501', '08P01', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']) {
      expect(isTransientOpenFailure(unavailable(withCode(code))), code).toBe(false);
    }
    expect(isTransientOpenFailure(unavailable(new Error('The server does not support SSL connections')))).toBe(false);
    expect(isTransientOpenFailure(new StoreError(StoreErrorCode.Migration, 'database schema is newer (9) than this server knows (4)'))).toBe(false);
    expect(isTransientOpenFailure(new StoreError(StoreErrorCode.Migration, 'migration failed', { cause: withCode('42501') }))).toBe(false);
    // A migration whose connection dropped midway is retried like any other lost connection.
    expect(isTransientOpenFailure(new StoreError(StoreErrorCode.Migration, 'migration failed', { cause: new Error('Connection terminated unexpectedly') }))).toBe(true);
    expect(isTransientOpenFailure(new StoreError(StoreErrorCode.Unavailable, 'store is closed'))).toBe(false);
    expect(isTransientOpenFailure(withCode('ECONNREFUSED'))).toBe(false);
  });

  it('never repeats a URL\'s credentials in an exit message', () => {
    const err = unavailable(new Error('cannot parse postgres://kmip:Sekr3t@db:5432/kmip'));
    expect(describeOpenFailure(err)).not.toContain('Sekr3t');
    expect(failureCause(err)).not.toContain('Sekr3t');
  });
});

describe('openWhenReachable', () => {
  it('retries transient failures with a doubling, bounded wait, then returns what opened', async () => {
    const waits: number[] = [];
    let calls = 0;
    const value = await openWhenReachable(
      async () => {
        if (++calls < 6) throw unavailable(withCode('ECONNREFUSED'));
        return 'open';
      },
      { baseMs: 5, maxMs: 30, onRetry: (_err, attempt, delayMs) => void waits.push(attempt, delayMs) },
    );
    expect(value).toBe('open');
    expect(waits).toEqual([1, 5, 2, 10, 3, 20, 4, 30, 5, 30]);
  });

  it('throws a failure that waiting cannot heal at once, without retrying', async () => {
    let calls = 0;
    const refused = unavailable(withCode('28P01', 'password authentication failed'));
    await expect(
      openWhenReachable(async () => {
        calls++;
        throw refused;
      }, { baseMs: 5 }),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const opening = openWhenReachable(
      async () => {
        throw unavailable(withCode('ECONNREFUSED'));
      },
      { baseMs: 60_000, signal: controller.signal, onRetry: () => void setTimeout(() => controller.abort(), 20) },
    );
    await expect(opening).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
