/**
 * PostgreSQL backend (node-postgres pool) for regions: every node of a cluster shares it. Updates
 * name the revision they read (a concurrent change on another node makes them fail as a conflict,
 * never a lost update); a change set is one transaction; COMMIT returns only when it is durable
 * (synchronous_commit on). Migrations run under an advisory lock, so nodes starting together apply
 * each one once. Every wait is bounded: connection, statement and query timeouts.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import pg from 'pg';
import { StoreError, StoreErrorCode } from './errors.js';
import { NETWORK_ERRORS } from './open-when-reachable.js';
import { hostPort, pgTarget, type PgTarget } from './pg-target.js';
import { parseAttributes, serializeAttributes } from './attributes-json.js';
import { certFromRow, objectFromRow, tenantFromRow, type CertRow, type ObjectRow, type TenantRow } from './rows.js';
import { withPendingTouch } from './touches.js';
import { indexDiff, indexRows, releaseChange, type IndexRow } from './index-rows.js';
import { buildLocateQuery, POSTGRES_DIALECT } from './sql/locate-query.js';
import { POSTGRES_MIGRATIONS } from './sql/postgres-migrations.js';
import { answerBudgetMs } from '../util/deadline.js';
import { shellWord } from '../util/shell.js';
import type {
  ClientCertRecord,
  KeyStore,
  LocateQuery,
  LocateResult,
  ObjectChange,
  ObjectRecord,
  ObjectSummary,
  RestoreStaging,
  SnapshotItem,
  TenantRecord,
} from './store.js';

export interface PostgresStoreOptions {
  readonly connectionString: string;
  readonly caFile?: string | undefined;
  readonly poolSize?: number;
  readonly statementTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly touchFlushMs?: number;
  /**
   * The KMIP request timeout: a store call (waiting for a pooled connection, then its query) must
   * fail within a request's deadline so the request is answered ("key storage is unavailable")
   * rather than its connection closed; longer configured timeouts are cut to fit.
   */
  readonly requestTimeoutMs?: number;
  /** Told about connection errors of idle pool clients (a restarting database), which are otherwise silent. */
  readonly onPoolError?: (err: Error) => void;
}

const URL_TLS_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslcrl', 'sslpassword', 'uselibpqcompat'];

export interface StoreTlsOptions {
  readonly ca: string;
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity?: (hostname: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * With a CA file, TLS is ours to set: node-postgres lets any ssl* parameter in the URL replace the
 * `ssl` option wholesale (dropping our CA), so those parameters are removed and verification is
 * always on. Without one, the URL decides, as libpq users expect.
 *
 * A host given as an IP address is checked against the certificate's IP names here: node-postgres
 * names the host to TLS only when it is not an address (SNI cannot carry one), and Node then checks
 * the certificate against "localhost", which would refuse a certificate naming the address and
 * accept any certificate of the CA naming "localhost".
 */
export function connectionOptions(url: string, ca: string | undefined): { connectionString: string; ssl?: StoreTlsOptions } {
  if (ca === undefined) return { connectionString: url };
  const parsed = new URL(url);
  for (const p of URL_TLS_PARAMETERS) parsed.searchParams.delete(p);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const byAddress = isIP(host) !== 0 ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert) } : {};
  return { connectionString: parsed.toString(), ssl: { ca, rejectUnauthorized: true, ...byAddress } };
}

const INSERT_TENANT = 'INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)';
const INSERT_CERT = 'INSERT INTO client_certs (fingerprint, tenant_id, label, kind, subject, pem, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)';
const certParams = (c: ClientCertRecord) => [c.fingerprint, c.tenantId, c.label, c.kind, c.subject, c.pem, c.createdAt];

/** Arbitrary, fixed: the advisory lock id under which migrations run. */
const MIGRATION_LOCK = 560_969_600;

/** The socket or SQLSTATE code; a host name with several addresses fails as one AggregateError. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const inner = err instanceof AggregateError ? (err.errors[0] as { code?: unknown } | undefined)?.code : undefined;
  return typeof inner === 'string' ? inner : '';
}

/**
 * A driver error as a StoreError. With the target known, the failures an operator fixes (no such
 * database, refused credentials, nothing listening) name the host, port and database and the fix;
 * "database error <SQLSTATE> (driver's reason)" stays the start of the message for those that had it.
 */
export function mapPgError(err: unknown, target?: PgTarget): StoreError {
  if (err instanceof StoreError) return err;
  const code = errorCode(err);
  const reason = ((err as Error).message ?? '').trim();
  if (code === '23505') return new StoreError(StoreErrorCode.Duplicate, 'a unique value is already taken', { cause: err });
  if (code === '40001' || code === '40P01') return new StoreError(StoreErrorCode.Conflict, 'concurrent update', { cause: err });
  if (code === '57014') return new StoreError(StoreErrorCode.Unavailable, 'database statement timed out', { cause: err });
  const where = target ? ` on PostgreSQL at ${hostPort(target)}` : '';
  if (NETWORK_ERRORS.has(code) || /timeout|terminated|Connection/i.test(reason)) {
    const what = target ? ` at ${hostPort(target)} (database ${target.database}${code ? `, ${code}` : ''})` : '';
    const fix =
      code === 'ENOTFOUND' ? `: the host name ${target?.host ?? ''} does not resolve; check the host in store.url` : target ? ': check that PostgreSQL runs there and that store.url names its host and port' : '';
    return new StoreError(StoreErrorCode.Unavailable, `database is unreachable${what}${fix}`, { cause: err });
  }
  if (target && code === '3D000') {
    const cmd = ['createdb', '-h', target.host, '-p', String(target.port), ...(target.user ? ['-U', target.user] : []), target.database].map((w) => shellWord(w)).join(' ');
    return new StoreError(StoreErrorCode.Unavailable, `database error 3D000 (${reason})${where}: create it (${cmd}, or CREATE DATABASE as an administrator) or correct the database name in store.url`, { cause: err });
  }
  if (target && (code === '28P01' || code === '28000')) {
    return new StoreError(
      StoreErrorCode.Unavailable,
      `database error ${code} (${reason})${where} for user ${target.user ?? '(none)'} and database ${target.database}: check the user and password in store.url, and that pg_hba.conf admits this host`,
      { cause: err },
    );
  }
  return new StoreError(StoreErrorCode.Unavailable, `database error ${code || 'unknown'}${where}`, { cause: err });
}

/**
 * The pool's timeouts: the configured ones, cut so that one store call (a pooled connection, then
 * its query) ends within a KMIP request's budget (the request timeout less the margin for the
 * answer), each step taking at most half of it; the server's statement timeout fires before the
 * client's own so the database cancels the statement itself.
 */
export function storeTimeouts(
  statementTimeoutMs: number,
  connectTimeoutMs: number,
  requestTimeoutMs: number | undefined,
): { connectTimeoutMs: number; queryTimeoutMs: number; statementTimeoutMs: number } {
  const half = requestTimeoutMs === undefined ? Infinity : Math.max(50, Math.floor(answerBudgetMs(requestTimeoutMs) / 2));
  const query = Math.min(statementTimeoutMs + 1000, half);
  return {
    connectTimeoutMs: Math.min(connectTimeoutMs, half),
    queryTimeoutMs: query,
    statementTimeoutMs: Math.max(1, Math.min(statementTimeoutMs, query - Math.min(1000, Math.ceil(query / 5)))),
  };
}

/** BIGINT columns hold milliseconds and counts: well inside a JS number. */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
};

export class PostgresStore implements KeyStore {
  readonly kind = 'postgres';
  private readonly touches = new Map<string, number>();
  private readonly touchTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    touchFlushMs: number,
    /** Named in errors an operator fixes (no host, no database, refused user); never the password. */
    private readonly target: PgTarget | undefined,
  ) {
    this.touchTimer = setInterval(() => void this.flushTouches(), touchFlushMs);
    this.touchTimer.unref();
  }

  /** Connects and migrates; nodes starting together serialize on the migration lock. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const configured = options.statementTimeoutMs ?? 10_000;
    const { connectTimeoutMs, queryTimeoutMs, statementTimeoutMs } = storeTimeouts(configured, options.connectTimeoutMs ?? 5000, options.requestTimeoutMs);
    const pool = new pg.Pool({
      ...connectionOptions(options.connectionString, options.caFile ? readFileSync(options.caFile, 'utf8') : undefined),
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: statementTimeoutMs,
      query_timeout: queryTimeoutMs,
      idle_in_transaction_session_timeout: configured * 2,
      idleTimeoutMillis: 30_000,
      types,
    });
    // A client losing its connection must not crash the process. The pool only guards idle clients;
    // one checked out between two queries (a transaction) emits 'error' itself, so every client
    // gets a handler; the failing query rejects on its own and the pool replaces the client.
    const report = (err: Error) => options.onPoolError?.(err);
    pool.on('error', report);
    pool.on('connect', (client) => client.on('error', report));
    const store = new PostgresStore(pool, options.touchFlushMs ?? 1000, pgTarget(options.connectionString));
    try {
      await store.migrate(configured);
    } catch (err) {
      await store.close();
      throw err instanceof StoreError ? err : new StoreError(StoreErrorCode.Migration, 'migration failed', { cause: err });
    }
    return store;
  }

  /** Runs at start, outside any request: with the configured statement timeout, not one cut to a request's deadline. */
  private async migrate(statementTimeoutMs: number): Promise<void> {
    const raw = await this.connect();
    const client = {
      query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
        raw.query<R>({ text, ...(values ? { values } : {}), query_timeout: statementTimeoutMs + 1000 } as pg.QueryConfig),
      release: () => raw.release(),
    };
    try {
      await client.query(`SET statement_timeout = ${Math.trunc(statementTimeoutMs)}`);
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
        const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
        const newest = Math.max(0, ...POSTGRES_MIGRATIONS.map((m) => m.version));
        if ([...applied].some((v) => v > newest)) {
          throw new StoreError(StoreErrorCode.Migration, `database schema is newer (${Math.max(...applied)}) than this server knows (${newest})`);
        }
        for (const m of POSTGRES_MIGRATIONS) {
          if (applied.has(m.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      await raw.query('RESET statement_timeout').catch(() => undefined);
      client.release();
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new StoreError(StoreErrorCode.Unavailable, 'store is closed');
    try {
      return await this.pool.connect();
    } catch (err) {
      throw mapPgError(err, this.target);
    }
  }

  /** `name` makes it a prepared statement on each pooled connection: hot queries skip parsing and planning. */
  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], name?: string): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StoreError(StoreErrorCode.Unavailable, 'store is closed');
    try {
      return await this.pool.query<R>(name ? { name, text: sql, values: params } : { text: sql, values: params });
    } catch (err) {
      throw mapPgError(err, this.target);
    }
  }

  async getObject(tenantId: string, uid: string): Promise<ObjectRecord | undefined> {
    const { rows } = await this.query<ObjectRow>('SELECT * FROM objects WHERE tenant_id = $1 AND uid = $2', [tenantId, uid], 'get-object');
    return rows[0] ? withPendingTouch(objectFromRow(rows[0]), this.touches.get(uid)) : undefined;
  }

  async uidInUse(uid: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM objects WHERE uid = $1', [uid], 'uid-in-use')).rows.length > 0;
  }

  async locate(tenantId: string, q: LocateQuery): Promise<LocateResult> {
    const { select, count } = buildLocateQuery(tenantId, q, POSTGRES_DIALECT);
    const rows = (await this.query<{ uid: string }>(select.sql, select.params)).rows;
    const total = q.withTotal ? (await this.query<{ n: number }>(count.sql, count.params)).rows[0]?.n : undefined;
    return { uids: rows.map((r) => r.uid), total };
  }

  async commit(changes: readonly ObjectChange[]): Promise<void> {
    if (changes.length === 1 && changes[0]!.kind === 'insert') return this.insertAlone(changes[0]!.object);
    const client = await this.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      for (const change of changes) await this.apply(client, change);
      await client.query('COMMIT');
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone; do not return it to the pool
      }
      throw mapPgError(err, this.target);
    } finally {
      client.release(broken);
    }
  }

  /**
   * A lone Create is one statement, object row and index rows together: atomic without BEGIN and
   * COMMIT, so one round trip instead of four.
   */
  private async insertAlone(o: ObjectChange['object']): Promise<void> {
    const rows = [...indexRows(o).values()];
    await this.query(
      `WITH o AS (
         INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq)
       INSERT INTO object_index (tenant_id, seq, name, value, num, released)
       SELECT $2, o.seq, a.name, a.value, a.num, a.released FROM o, unnest($14::text[], $15::text[], $16::float8[], $17::boolean[]) AS a(name, value, num, released)`,
      [...objectValues(o), rows.map((r) => r.name), rows.map((r) => r.key), rows.map((r) => r.num), rows.map((r) => r.released)],
      'insert-object-alone',
    );
  }

  private async apply(client: pg.PoolClient, change: ObjectChange): Promise<void> {
    const o = change.object;
    if (change.kind === 'insert') {
      const inserted = await client.query<{ seq: number }>({
        name: 'insert-object',
        text: `INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq`,
        values: objectValues(o),
      });
      await insertIndexRows(client, o.tenantId, inserted.rows[0]!.seq, [...indexRows(o).values()]);
      return;
    }
    // The row lock makes the revision check and the index diff one step: another node's change
    // to this object waits for us, then finds the revision moved and fails as a conflict.
    const current = await client.query<{ seq: number; revision: number; state: number; attributes: string }>({
      name: 'lock-object',
      text: 'SELECT seq, revision, state, attributes FROM objects WHERE uid = $1 AND tenant_id = $2 FOR UPDATE',
      values: [o.uid, o.tenantId],
    });
    const row = current.rows[0];
    if (!row || row.revision !== change.expectedRevision) throw new StoreError(StoreErrorCode.Conflict, 'object changed concurrently');
    const attributes = serializeAttributes(o.attributes);
    const material = o.material ? Buffer.from(o.material.ciphertext) : null;
    const [wrapKind, rootKeyId, rootKeyVersion] = [o.material?.wrapKind ?? null, o.material?.rootKeyId ?? null, o.material?.rootKeyVersion ?? null];
    await client.query({
      name: 'update-object',
      text: `UPDATE objects SET state = $3, revision = $4, updated_at = $5, attributes = $6, material = $7, wrap_kind = $8, root_key_id = $9, root_key_version = $10
       WHERE uid = $1 AND tenant_id = $2`,
      values: [o.uid, o.tenantId, o.state, o.revision, o.updatedAt, attributes, material, wrapKind, rootKeyId, rootKeyVersion],
    });
    const before = { attributes: parseAttributes(row.attributes), state: row.state };
    const { removed, added } = indexDiff(before, o);
    if (removed.length > 0) {
      await client.query(
        `DELETE FROM object_index i USING unnest($3::text[], $4::text[]) AS r(name, value)
         WHERE i.tenant_id = $1 AND i.seq = $2 AND i.name = r.name AND i.value = r.value`,
        [o.tenantId, row.seq, removed.map((r) => r.name), removed.map((r) => r.key)],
      );
    }
    await insertIndexRows(client, o.tenantId, row.seq, added);
    const mark = releaseChange(before, o);
    if (mark) {
      await client.query({
        name: 'mark-names',
        text: "UPDATE object_index SET released = $3 WHERE tenant_id = $1 AND name = 'Name' AND value = ANY($4::text[]) AND seq = $2",
        values: [o.tenantId, row.seq, mark.released, mark.keys],
      });
    }
  }

  async touch(uids: readonly string[], at: number): Promise<void> {
    for (const uid of uids) this.touches.set(uid, at);
  }

  private async flushTouches(): Promise<void> {
    if (this.touches.size === 0 || this.closed) return;
    const entries = [...this.touches];
    this.touches.clear();
    try {
      await this.pool.query(
        `UPDATE objects o SET last_get_at = GREATEST(COALESCE(o.last_get_at, 0), v.at)
         FROM unnest($1::text[], $2::bigint[]) AS v(uid, at) WHERE o.uid = v.uid`,
        [entries.map((e) => e[0]), entries.map((e) => e[1])],
      );
    } catch {
      // Best effort by contract: last-Get times are advisory and recorded again on the next Get.
    }
  }

  async createTenant(t: TenantRecord): Promise<void> {
    await this.query(INSERT_TENANT, [t.id, t.name, t.createdAt]);
  }
  async getTenantByName(name: string): Promise<TenantRecord | undefined> {
    const r = (await this.query<{ id: string; name: string; created_at: number }>('SELECT * FROM tenants WHERE name = $1', [name])).rows[0];
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }
  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const r = (await this.query<{ id: string; name: string; created_at: number }>('SELECT * FROM tenants WHERE id = $1', [id])).rows[0];
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }
  async listTenants(): Promise<TenantRecord[]> {
    return (await this.query<{ id: string; name: string; created_at: number }>('SELECT * FROM tenants ORDER BY name')).rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: r.created_at,
    }));
  }
  async deleteTenant(id: string): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      for (const sql of ['DELETE FROM object_index WHERE tenant_id = $1', 'DELETE FROM objects WHERE tenant_id = $1', 'DELETE FROM client_certs WHERE tenant_id = $1', 'DELETE FROM tenants WHERE id = $1']) {
        await client.query(sql, [id]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw mapPgError(err, this.target);
    } finally {
      client.release();
    }
  }

  async addClientCert(c: ClientCertRecord): Promise<void> {
    await this.query(INSERT_CERT, certParams(c));
  }
  async removeClientCert(fingerprint: string): Promise<boolean> {
    return ((await this.query('DELETE FROM client_certs WHERE fingerprint = $1', [fingerprint])).rowCount ?? 0) > 0;
  }
  async getClientCert(fingerprint: string): Promise<ClientCertRecord | undefined> {
    const r = (await this.query<CertRow>('SELECT * FROM client_certs WHERE fingerprint = $1', [fingerprint])).rows[0];
    return r && certFromRow(r);
  }
  async listClientCerts(tenantId?: string): Promise<ClientCertRecord[]> {
    const rows = tenantId
      ? (await this.query<CertRow>('SELECT * FROM client_certs WHERE tenant_id = $1 ORDER BY created_at, fingerprint', [tenantId])).rows
      : (await this.query<CertRow>('SELECT * FROM client_certs ORDER BY created_at, fingerprint')).rows;
    return rows.map(certFromRow);
  }

  async listObjects(f: { tenantId?: string; states?: readonly number[]; afterUid?: string; limit: number }): Promise<ObjectSummary[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.tenantId) where.push(`tenant_id = ${p(f.tenantId)}`);
    if (f.states && f.states.length) where.push(`state IN (${f.states.map((s) => p(s)).join(', ')})`);
    if (f.afterUid) where.push(`seq > (SELECT seq FROM objects WHERE uid = ${p(f.afterUid)})`);
    const sql = `SELECT uid, tenant_id, object_type, state, created_at, last_get_at FROM objects ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${p(f.limit)}`;
    const rows = (await this.query<{ uid: string; tenant_id: string; object_type: number; state: number; created_at: number; last_get_at: number | null }>(sql, params)).rows;
    return rows.map((r) =>
      withPendingTouch({ uid: r.uid, tenantId: r.tenant_id, objectType: r.object_type, state: r.state, createdAt: r.created_at, lastGetAt: r.last_get_at }, this.touches.get(r.uid)),
    );
  }

  async deleteObjects(tenantId: string, uids: readonly string[]): Promise<number> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM object_index WHERE tenant_id = $1 AND seq IN (SELECT seq FROM objects WHERE tenant_id = $1 AND uid = ANY($2::text[]))', [tenantId, uids]);
      const r = await client.query('DELETE FROM objects WHERE tenant_id = $1 AND uid = ANY($2::text[])', [tenantId, uids]);
      await client.query('COMMIT');
      return r.rowCount ?? 0;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw mapPgError(err, this.target);
    } finally {
      client.release();
    }
  }

  /** One REPEATABLE READ transaction: every page comes from the snapshot its first query took. */
  async *exportSnapshot(): AsyncGenerator<SnapshotItem> {
    await this.flushTouches();
    const client = await this.connect();
    let finished = false;
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The reader may pause between pages (a slow disk on the other end); give it time.
      await client.query("SET LOCAL idle_in_transaction_session_timeout = '10min'");
      for (const r of (await client.query<TenantRow>('SELECT * FROM tenants ORDER BY created_at, id')).rows) yield { kind: 'tenant', tenant: tenantFromRow(r) };
      for (const r of (await client.query<CertRow>('SELECT * FROM client_certs ORDER BY created_at, fingerprint')).rows) yield { kind: 'cert', cert: certFromRow(r) };
      let after = 0;
      for (;;) {
        const { rows } = await client.query<ObjectRow & { seq: number }>('SELECT * FROM objects WHERE seq > $1 ORDER BY seq LIMIT 500', [after]);
        if (rows.length === 0) break;
        for (const r of rows) yield { kind: 'object', object: objectFromRow(r) };
        after = rows.at(-1)!.seq;
      }
      await client.query('COMMIT');
      finished = true;
    } catch (err) {
      throw mapPgError(err, this.target);
    } finally {
      if (!finished) await client.query('ROLLBACK').catch(() => (broken = true));
      client.release(broken);
    }
  }

  /** Restores not yet published or aborted: closing the store rolls them back (the pool waits for their connections). */
  private readonly openRestores = new Set<() => Promise<void>>();

  /**
   * A restore is one transaction on a connection of its own: nothing it writes is visible, on this
   * node or another, until COMMIT, and a crash (the connection closes) rolls all of it back. The
   * publish locks out concurrent writers of keys and checks, in that transaction, that the only
   * keys are the ones it brings.
   */
  async beginRestore(): Promise<RestoreStaging> {
    const client = await this.connect();
    let open = true;
    let inserted = 0;
    const end = async (sql: 'COMMIT' | 'ROLLBACK') => {
      open = false;
      this.openRestores.delete(rollback);
      let broken = false;
      try {
        await client.query(sql);
      } catch (err) {
        broken = true;
        if (sql === 'COMMIT') throw err;
      } finally {
        client.release(broken);
      }
    };
    const step = async <T>(fn: () => Promise<T>): Promise<T> => {
      if (!open) throw new StoreError(StoreErrorCode.Unavailable, 'this restore is over');
      try {
        return await fn();
      } catch (err) {
        if (open) await end('ROLLBACK');
        throw mapPgError(err, this.target);
      }
    };
    const rollback = () => end('ROLLBACK').catch(() => undefined);
    this.openRestores.add(rollback);
    try {
      await client.query('BEGIN');
      // The upload may pause between batches (a slow link, a root-key check); give it time.
      await client.query("SET LOCAL idle_in_transaction_session_timeout = '10min'");
    } catch (err) {
      await rollback();
      throw mapPgError(err, this.target);
    }
    return {
      addTenant: (t) =>
        step(async () => {
          await client.query(INSERT_TENANT, [t.id, t.name, t.createdAt]);
        }),
      addCert: (c) =>
        step(async () => {
          await client.query(INSERT_CERT, certParams(c));
        }),
      addObjects: (objects) =>
        step(async () => {
          for (const object of objects) await this.apply(client, { kind: 'insert', object });
          inserted += objects.length;
        }),
      publish: () =>
        step(async () => {
          await client.query('LOCK TABLE objects IN SHARE ROW EXCLUSIVE MODE');
          const held = (await client.query<{ n: number }>('SELECT COUNT(*)::bigint AS n FROM objects')).rows[0]!.n;
          if (held !== inserted) throw new StoreError(StoreErrorCode.Conflict, `the store holds ${held - inserted} keys`);
          await end('COMMIT');
        }),
      abort: async () => {
        if (open) await rollback();
      },
    };
  }

  async countObjectsByState(tenantId?: string): Promise<Array<{ tenantId: string; state: number; count: number }>> {
    const rows = tenantId
      ? (await this.query<{ tenant_id: string; state: number; count: number }>('SELECT tenant_id, state, COUNT(*) AS count FROM objects WHERE tenant_id = $1 GROUP BY tenant_id, state ORDER BY tenant_id, state', [tenantId])).rows
      : (await this.query<{ tenant_id: string; state: number; count: number }>('SELECT tenant_id, state, COUNT(*) AS count FROM objects GROUP BY tenant_id, state ORDER BY tenant_id, state')).rows;
    return rows.map((r) => ({ tenantId: r.tenant_id, state: r.state, count: r.count }));
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.touchTimer);
    await this.flushTouches();
    this.closed = true;
    await Promise.all([...this.openRestores].map((rollback) => rollback()));
    await this.pool.end();
  }
}

async function insertIndexRows(client: pg.PoolClient, tenantId: string, seq: number, rows: readonly IndexRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query({
    name: 'insert-index',
    text: `INSERT INTO object_index (tenant_id, seq, name, value, num, released)
     SELECT $1, $2, a.name, a.value, a.num, a.released FROM unnest($3::text[], $4::text[], $5::float8[], $6::boolean[]) AS a(name, value, num, released)`,
    values: [tenantId, seq, rows.map((r) => r.name), rows.map((r) => r.key), rows.map((r) => r.num), rows.map((r) => r.released)],
  });
}

/** The thirteen column values of an objects row, in INSERT order. */
function objectValues(o: ObjectChange['object']): unknown[] {
  return [
    o.uid,
    o.tenantId,
    o.objectType,
    o.state,
    o.revision,
    o.createdAt,
    o.updatedAt,
    o.lastGetAt,
    serializeAttributes(o.attributes),
    o.material ? Buffer.from(o.material.ciphertext) : null,
    o.material?.wrapKind ?? null,
    o.material?.rootKeyId ?? null,
    o.material?.rootKeyVersion ?? null,
  ];
}
