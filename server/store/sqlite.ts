/**
 * SQLite backend (better-sqlite3, WAL). Writes are group-committed: change sets that arrive in the
 * same event-loop turn share one transaction, each in its own savepoint so one conflict fails only
 * its own request.
 *
 * Durability without blocking: SQLite commits with synchronous=NORMAL (WAL frames reach the OS, no
 * fsync, so the event loop never waits on the disk), then we fdatasync the WAL file on the libuv
 * thread pool and resolve the commit only after that returns. A checkpoint syncs the WAL before it
 * copies frames and the database after, so an acknowledged commit is on disk, in the WAL or in the
 * database, whatever happens next. Nothing is acknowledged before it is durable.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { chmodSync, closeSync, fdatasync, lstatSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAttributes, serializeAttributes } from './attributes-json.js';
import { ObjectCache, type ObjectCacheLimits } from './object-cache.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { certFromRow, objectFromRow, type CertRow, type ObjectRow } from './rows.js';
import { readSnapshotCopy } from './sqlite-snapshot.js';
import { withPendingTouch } from './touches.js';
import { indexDiff, indexRows, releaseChange } from './index-rows.js';
import { locateOnSqlite } from './sqlite-locate.js';
import { SQLITE_MIGRATIONS } from './sql/sqlite-migrations.js';
import type {
  ClientCertRecord,
  KeyStore,
  LocateQuery,
  LocateResult,
  ObjectChange,
  ObjectRecord,
  ObjectSummary,
  RestoreStaging,
  StoredAttribute,
  SnapshotItem,
  TenantRecord,
} from './store.js';

/**
 * Where a restore stages what it brings until it is published in one transaction: ordinary tables
 * (so a large restore is bounded by the disk, not memory), read by nothing that serves requests,
 * dropped when published, aborted, or found at start (left by a crash).
 */
const STAGING_TABLES = ['restore_stage_tenants', 'restore_stage_certs', 'restore_stage_objects'] as const;
const CREATE_STAGING = `
  CREATE TABLE restore_stage_tenants (id TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE restore_stage_certs (fingerprint TEXT NOT NULL, tenant_id TEXT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT, pem TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE restore_stage_objects (
    stage_seq INTEGER PRIMARY KEY, uid TEXT NOT NULL, tenant_id TEXT NOT NULL, object_type INTEGER NOT NULL, state INTEGER NOT NULL,
    revision INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_get_at INTEGER, attributes TEXT NOT NULL,
    material BLOB, wrap_kind TEXT, root_key_id TEXT, root_key_version TEXT);`;
const DROP_STAGING = STAGING_TABLES.map((t) => `DROP TABLE IF EXISTS ${t};`).join('\n');

/**
 * The native driver, loaded when a SQLite store is opened: bundles for region nodes (PostgreSQL)
 * carry no native module, and this keeps them from needing one.
 */
function driver(): typeof Database {
  return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
}

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  readonly path: string;
  /** How often coalesced last-Get times are written, in milliseconds. */
  readonly touchFlushMs?: number;
  readonly busyTimeoutMs?: number;
  /** How the WAL is made durable before commits are acknowledged; fs.fdatasync unless a test watches it. */
  readonly syncWal?: (fd: number, done: (err: Error | null) => void) => void;
  /** Bounds of the object records kept in memory for reads (default OBJECT_CACHE; maxEntries 0: none). */
  readonly objectCache?: ObjectCacheLimits;
}

/**
 * Bounds of the object cache (object-cache.ts). A key as vCenter keeps it is 1-2 KB stored (attribute
 * JSON and wrapped material), so 4,096 of them fit in the byte bound; parsed, they take a few times
 * that in the heap (tens of MB at most). Larger records (big Secret Data, certificate chains) are read
 * from SQLite each time.
 */
export const OBJECT_CACHE: ObjectCacheLimits = { maxEntries: 4096, maxBytes: 8 * 1024 * 1024, maxRecordBytes: 16 * 1024 };


/**
 * SQLite's own page cache. Pages it does not hold come from the operating system's cache, which
 * keeps the file anyway. Over 100,000 objects, 4 MiB instead of the driver's 16 MiB took 16 MB off
 * the server's memory and made Locate no slower (A/B runs: 6.0-6.2k → 6.7k Locates/s).
 */
export const PAGE_CACHE_KIB = 4096;

interface PendingCommit {
  readonly changes: readonly ObjectChange[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export function mapSqliteError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreError(StoreErrorCode.Duplicate, 'a unique value is already taken', { cause: err });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StoreError(StoreErrorCode.Corrupt, 'database file is corrupt', { cause: err });
  }
  return new StoreError(StoreErrorCode.Unavailable, `database error ${code || 'unknown'}`, { cause: err });
}

export class SqliteStore implements KeyStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private queue: PendingCommit[] = [];
  private flushScheduled = false;
  private readonly touches = new Map<string, number>();
  private readonly touchTimer: NodeJS.Timeout;
  private closed = false;
  private readonly stmt;
  /** Our own descriptor of the WAL file, for fdatasync; opened once the WAL exists. */
  private walFd: number | undefined;
  private readonly walPath: string | undefined;
  private readonly syncWal: (fd: number, done: (err: Error | null) => void) => void;
  private readonly syncing = new Set<Promise<void>>();
  private readonly path: string;
  /** Only this process writes the file (exclusive lock), so what it cached stays true until it writes. */
  private readonly cache: ObjectCache;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    if (options.path !== ':memory:') {
      mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
      SqliteStore.ownerOnlyFiles(options.path);
    }
    this.db = SqliteStore.openDatabase(options);
    this.walPath = options.path === ':memory:' ? undefined : `${options.path}-wal`;
    this.syncWal = options.syncWal ?? fdatasync;
    this.cache = new ObjectCache(options.objectCache ?? OBJECT_CACHE);
    const db = this.db;
    this.stmt = {
      getObject: db.prepare<[string, string], ObjectRow>('SELECT * FROM objects WHERE tenant_id = ? AND uid = ?'),
      uidInUse: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM objects WHERE uid = ?'),
      insertObject: db.prepare(
        `INSERT INTO objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version)
         VALUES (@uid, @tenantId, @objectType, @state, @revision, @createdAt, @updatedAt, @lastGetAt, @attributes, @material, @wrapKind, @rootKeyId, @rootKeyVersion)`,
      ),
      updateObject: db.prepare(
        `UPDATE objects SET state = @state, revision = @revision, updated_at = @updatedAt, attributes = @attributes, material = @material,
           wrap_kind = @wrapKind, root_key_id = @rootKeyId, root_key_version = @rootKeyVersion
         WHERE uid = @uid AND tenant_id = @tenantId AND revision = @expectedRevision`,
      ),
      currentAttributes: db.prepare<[string, string], { seq: number; revision: number; state: number; attributes: string }>(
        'SELECT seq, revision, state, attributes FROM objects WHERE uid = ? AND tenant_id = ?',
      ),
      deleteIndex: db.prepare('DELETE FROM object_index WHERE tenant_id = ? AND name = ? AND value = ? AND seq = ?'),
      insertIndex: db.prepare('INSERT INTO object_index (tenant_id, name, value, seq, num, released) VALUES (?, ?, ?, ?, ?, ?)'),
      markName: db.prepare("UPDATE object_index SET released = ? WHERE tenant_id = ? AND name = 'Name' AND value = ? AND seq = ?"),
      touch: db.prepare('UPDATE objects SET last_get_at = MAX(COALESCE(last_get_at, 0), ?) WHERE uid = ?'),
      createTenant: db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (@id, @name, @createdAt)'),
      tenantByName: db.prepare<[string], { id: string; name: string; created_at: number }>('SELECT * FROM tenants WHERE name = ?'),
      tenantById: db.prepare<[string], { id: string; name: string; created_at: number }>('SELECT * FROM tenants WHERE id = ?'),
      listTenants: db.prepare<[], { id: string; name: string; created_at: number }>('SELECT * FROM tenants ORDER BY name'),
      deleteTenantIndex: db.prepare('DELETE FROM object_index WHERE tenant_id = ?'),
      deleteTenantObjects: db.prepare('DELETE FROM objects WHERE tenant_id = ?'),
      deleteTenantCerts: db.prepare('DELETE FROM client_certs WHERE tenant_id = ?'),
      deleteTenant: db.prepare('DELETE FROM tenants WHERE id = ?'),
      addCert: db.prepare(
        'INSERT INTO client_certs (fingerprint, tenant_id, label, kind, subject, pem, created_at) VALUES (@fingerprint, @tenantId, @label, @kind, @subject, @pem, @createdAt)',
      ),
      removeCert: db.prepare('DELETE FROM client_certs WHERE fingerprint = ?'),
      getCert: db.prepare<[string], CertRow>('SELECT * FROM client_certs WHERE fingerprint = ?'),
      listCerts: db.prepare<[], CertRow>('SELECT * FROM client_certs ORDER BY created_at, fingerprint'),
      listCertsOfTenant: db.prepare<[string], CertRow>('SELECT * FROM client_certs WHERE tenant_id = ? ORDER BY created_at, fingerprint'),
      countByState: db.prepare<[], { tenant_id: string; state: number; count: number }>(
        'SELECT tenant_id, state, COUNT(*) AS count FROM objects GROUP BY tenant_id, state ORDER BY tenant_id, state',
      ),
      ping: db.prepare('SELECT 1'),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT change_set'),
      release: db.prepare('RELEASE change_set'),
      rollbackTo: db.prepare('ROLLBACK TO change_set'),
    };
    this.touchTimer = setInterval(() => this.flushTouches(), options.touchFlushMs ?? 1000);
    this.touchTimer.unref();
  }

  /**
   * The database holds wrapped material and every object's metadata: its files are the owner's only
   * (0600), whatever the folder's mode or the umask. The database file is created 0600 before SQLite
   * opens it (SQLite gives the WAL, shared-memory and journal files the database file's mode), and
   * files an earlier version left readable by others are tightened; a file we may not tighten is refused.
   */
  private static ownerOnlyFiles(path: string): void {
    closeSync(openSync(path, 'a', 0o600));
    for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
      let mode: number;
      try {
        const st = lstatSync(file);
        if (!st.isFile()) continue;
        mode = st.mode & 0o777;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if ((mode & 0o077) === 0) continue;
      try {
        chmodSync(file, mode & 0o700);
      } catch (err) {
        throw new StoreError(StoreErrorCode.Unavailable, `database file ${file} is readable by others (mode ${mode.toString(8)}) and cannot be made owner-only: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  private static openDatabase(options: SqliteStoreOptions): Database.Database {
    let db: Database.Database | undefined;
    try {
      db = new (driver())(options.path);
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      db.pragma('journal_mode = WAL');
      // Durability comes from our own fdatasync of the WAL before a commit is acknowledged (see above).
      db.pragma(options.path === ':memory:' ? 'synchronous = FULL' : 'synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Savepoint journals in memory, not in a temporary file: twice the write throughput.
      db.pragma('temp_store = MEMORY');
      db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      if (options.path !== ':memory:') {
        // This process owns the file: a second server (or a stray sqlite3 shell) cannot open it and
        // corrupt our view of it, and reads skip the shared-memory locking of every statement (2x).
        db.pragma('locking_mode = EXCLUSIVE');
        db.exec('BEGIN IMMEDIATE; COMMIT');
      }
      SqliteStore.migrate(db);
      // A restore that was cut off (crash, kill) left its staging behind: it was never published.
      db.exec(DROP_STAGING);
      return db;
    } catch (err) {
      db?.close();
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw new StoreError(StoreErrorCode.Unavailable, `database ${options.path} is in use by another process`, { cause: err });
      }
      throw err instanceof StoreError ? err : mapSqliteError(err);
    }
  }

  private static migrate(db: Database.Database): void {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all().map((r) => r.version));
    const newest = Math.max(0, ...SQLITE_MIGRATIONS.map((m) => m.version));
    if ([...applied].some((v) => v > newest)) {
      throw new StoreError(StoreErrorCode.Migration, `database schema is newer (${Math.max(...applied)}) than this server knows (${newest})`);
    }
    for (const m of SQLITE_MIGRATIONS) {
      if (applied.has(m.version)) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      }).immediate();
    }
  }

  async getObject(tenantId: string, uid: string): Promise<ObjectRecord | undefined> {
    let record = this.cache.get(tenantId, uid);
    if (!record) {
      const row = this.run(() => this.stmt.getObject.get(tenantId, uid));
      if (!row) return undefined;
      record = this.cache.remember(objectFromRow(row), row.seq, row.attributes.length + (row.material?.length ?? 0));
    }
    return withPendingTouch(record, this.touches.get(uid));
  }

  async uidInUse(uid: string): Promise<boolean> {
    return this.run(() => this.stmt.uidInUse.get(uid)) !== undefined;
  }

  locate(tenantId: string, q: LocateQuery): Promise<LocateResult> {
    return locateOnSqlite({ prepare: (sql) => this.cachedStatement(sql), run: (fn) => this.run(fn) }, tenantId, q);
  }

  commit(changes: readonly ObjectChange[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError(StoreErrorCode.Unavailable, 'store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ changes, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushCommits());
      }
    });
  }

  private flushCommits(): void {
    const batch = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    if (batch.length === 0) return;
    let outcomes: Array<StoreError | undefined>;
    const { begin, commit, rollback } = this.stmt;
    try {
      begin.run();
      outcomes = this.applyGroup(batch);
      commit.run();
    } catch (err) {
      if (this.db.inTransaction) {
        try {
          rollback.run();
        } catch {
          // The connection is already out of the transaction; nothing to undo.
        }
      }
      const failure = mapSqliteError(err);
      for (const entry of batch) entry.reject(failure);
      return;
    }
    this.syncCommitted((syncError) =>
      batch.forEach((entry, i) => {
        const failure = syncError ? unsynced(syncError) : outcomes[i];
        if (failure) entry.reject(failure);
        else entry.resolve();
      }),
    );
  }

  /**
   * Syncs the WAL, so everything committed so far is on disk, then calls `done` (at once when there
   * is no WAL file to sync). `close` waits for the sync: the descriptor must outlive it.
   */
  private syncCommitted(done: (err: Error | null) => void): void {
    const fd = this.walDescriptor();
    if (fd === undefined) {
      done(null);
      return;
    }
    const synced = new Promise<void>((resolve) =>
      this.syncWal(fd, (err) => {
        done(err);
        resolve();
      }),
    );
    this.syncing.add(synced);
    void synced.then(() => this.syncing.delete(synced));
  }

  /**
   * Every change set of a group commit, in the open transaction. A savepoint around each set (so a
   * refused one leaves the others whole) costs two statements per set, a tenth of a Create's CPU,
   * so the sets are first applied without them; only when one fails is the transaction rolled back
   * and replayed set by set under savepoints. Refusals (a stale revision, a taken Name) are rare.
   */
  private applyGroup(batch: readonly PendingCommit[]): Array<StoreError | undefined> {
    try {
      for (const entry of batch) this.apply(entry.changes);
      return batch.map(() => undefined);
    } catch {
      this.stmt.rollback.run();
      this.stmt.begin.run();
      return this.applyEach(batch);
    }
  }

  private applyEach(batch: readonly PendingCommit[]): Array<StoreError | undefined> {
    const { savepoint, release, rollbackTo } = this.stmt;
    return batch.map((entry) => {
      savepoint.run();
      try {
        this.apply(entry.changes);
        release.run();
        return undefined;
      } catch (err) {
        rollbackTo.run();
        release.run();
        return mapSqliteError(err);
      }
    });
  }

  private walDescriptor(): number | undefined {
    if (this.walPath === undefined) return undefined;
    this.walFd ??= openSync(this.walPath, 'r');
    return this.walFd;
  }

  private apply(changes: readonly ObjectChange[]): void {
    for (const change of changes) {
      const o = change.object;
      const cached = this.cache.entry(o.uid);
      this.cache.forget(o.uid);
      const row = objectParams(o);
      if (change.kind === 'insert') {
        const seq = this.stmt.insertObject.run(row).lastInsertRowid;
        for (const r of indexRows(o).values()) this.stmt.insertIndex.run(o.tenantId, r.name, r.key, seq, r.num, r.released ? 1 : 0);
        continue;
      }
      // The record this process read is the row as it stands (only this process writes it): its
      // attributes need not be read and parsed again for the index difference.
      const current =
        cached && cached.record.tenantId === o.tenantId
          ? { seq: cached.seq, revision: cached.record.revision, state: cached.record.state, attributes: cached.record.attributes }
          : this.currentRow(o.uid, o.tenantId);
      if (!current || current.revision !== change.expectedRevision) throw new StoreError(StoreErrorCode.Conflict, 'object changed concurrently');
      // Guarded by the revision in SQL as well: a record cached wrongly could not overwrite a newer row.
      if (this.stmt.updateObject.run({ ...row, expectedRevision: change.expectedRevision }).changes !== 1) throw new StoreError(StoreErrorCode.Conflict, 'object changed concurrently');
      const before = { attributes: current.attributes, state: current.state };
      const { removed, added } = indexDiff(before, o);
      for (const r of removed) this.stmt.deleteIndex.run(o.tenantId, r.name, r.key, current.seq);
      for (const r of added) this.stmt.insertIndex.run(o.tenantId, r.name, r.key, current.seq, r.num, r.released ? 1 : 0);
      const mark = releaseChange(before, o);
      if (mark) for (const key of mark.keys) this.stmt.markName.run(mark.released ? 1 : 0, o.tenantId, key, current.seq);
    }
  }

  private currentRow(uid: string, tenantId: string): { seq: number; revision: number; state: number; attributes: readonly StoredAttribute[] } | undefined {
    const row = this.stmt.currentAttributes.get(uid, tenantId);
    return row && { seq: row.seq, revision: row.revision, state: row.state, attributes: parseAttributes(row.attributes) };
  }

  async touch(uids: readonly string[], at: number): Promise<void> {
    for (const uid of uids) this.touches.set(uid, at);
  }

  private flushTouches(): void {
    if (this.touches.size === 0 || this.closed) return;
    const entries = [...this.touches];
    this.touches.clear();
    try {
      this.db.transaction(() => {
        for (const [uid, at] of entries) this.stmt.touch.run(at, uid);
      })();
      for (const [uid, at] of entries) this.cache.touched(uid, at);
    } catch {
      // Best effort by contract: last-Get times are advisory and retried with the next Get.
    }
  }

  async createTenant(t: TenantRecord): Promise<void> {
    this.run(() => this.stmt.createTenant.run(t));
  }
  async getTenantByName(name: string): Promise<TenantRecord | undefined> {
    const r = this.run(() => this.stmt.tenantByName.get(name));
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }
  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const r = this.run(() => this.stmt.tenantById.get(id));
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }
  async listTenants(): Promise<TenantRecord[]> {
    return this.run(() => this.stmt.listTenants.all()).map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }
  async deleteTenant(id: string): Promise<void> {
    this.cache.clear();
    this.run(() =>
      this.db.transaction(() => {
        this.stmt.deleteTenantIndex.run(id);
        this.stmt.deleteTenantObjects.run(id);
        this.stmt.deleteTenantCerts.run(id);
        this.stmt.deleteTenant.run(id);
      }).immediate(),
    );
  }

  async addClientCert(c: ClientCertRecord): Promise<void> {
    this.run(() => this.stmt.addCert.run(c));
  }
  async removeClientCert(fingerprint: string): Promise<boolean> {
    return this.run(() => this.stmt.removeCert.run(fingerprint)).changes > 0;
  }
  async getClientCert(fingerprint: string): Promise<ClientCertRecord | undefined> {
    const r = this.run(() => this.stmt.getCert.get(fingerprint));
    return r && certFromRow(r);
  }
  async listClientCerts(tenantId?: string): Promise<ClientCertRecord[]> {
    const rows = this.run(() => (tenantId ? this.stmt.listCertsOfTenant.all(tenantId) : this.stmt.listCerts.all()));
    return rows.map(certFromRow);
  }

  async listObjects(f: { tenantId?: string; states?: readonly number[]; afterUid?: string; limit: number }): Promise<ObjectSummary[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.tenantId) {
      where.push('tenant_id = ?');
      params.push(f.tenantId);
    }
    if (f.states && f.states.length) {
      where.push(`state IN (${f.states.map(() => '?').join(',')})`);
      params.push(...f.states);
    }
    if (f.afterUid) {
      where.push('seq > (SELECT seq FROM objects WHERE uid = ?)');
      params.push(f.afterUid);
    }
    params.push(f.limit);
    const sql = `SELECT uid, tenant_id, object_type, state, created_at, last_get_at FROM objects ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
    const rows = this.run(() =>
      this.db.prepare<unknown[], { uid: string; tenant_id: string; object_type: number; state: number; created_at: number; last_get_at: number | null }>(sql).all(...params),
    );
    return rows.map((r) =>
      withPendingTouch({ uid: r.uid, tenantId: r.tenant_id, objectType: r.object_type, state: r.state, createdAt: r.created_at, lastGetAt: r.last_get_at }, this.touches.get(r.uid)),
    );
  }

  async deleteObjects(tenantId: string, uids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const uid of uids) this.cache.forget(uid);
    for (let i = 0; i < uids.length; i += 500) {
      const chunk = uids.slice(i, i + 500);
      const marks = chunk.map(() => '?').join(',');
      deleted += this.run(() =>
        this.db.transaction(() => {
          this.db.prepare(`DELETE FROM object_index WHERE tenant_id = ? AND seq IN (SELECT seq FROM objects WHERE tenant_id = ? AND uid IN (${marks}))`).run(tenantId, tenantId, ...chunk);
          return this.db.prepare(`DELETE FROM objects WHERE tenant_id = ? AND uid IN (${marks})`).run(tenantId, ...chunk).changes;
        }).immediate(),
      );
    }
    return deleted;
  }

  async *exportSnapshot(): AsyncGenerator<SnapshotItem> {
    this.flushTouches();
    const dir = mkdtempSync(this.path === ':memory:' ? join(tmpdir(), 'kmip-snapshot-') : `${this.path}.snapshot-`);
    const copy = join(dir, 'copy.db');
    try {
      try {
        await this.run(() => this.db.backup(copy));
      } catch (err) {
        throw mapSqliteError(err);
      }
      yield* readSnapshotCopy((p) => new (driver())(p), copy);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private restoring = false;

  async beginRestore(): Promise<RestoreStaging> {
    if (this.restoring) throw new StoreError(StoreErrorCode.Conflict, 'another restore is running');
    this.run(() => this.db.exec(`BEGIN IMMEDIATE; ${DROP_STAGING} ${CREATE_STAGING} COMMIT;`));
    this.restoring = true;
    const db = this.db;
    const stageTenant = db.prepare('INSERT INTO restore_stage_tenants (id, name, created_at) VALUES (@id, @name, @createdAt)');
    const stageCert = db.prepare(
      'INSERT INTO restore_stage_certs (fingerprint, tenant_id, label, kind, subject, pem, created_at) VALUES (@fingerprint, @tenantId, @label, @kind, @subject, @pem, @createdAt)',
    );
    const stageObject = db.prepare(
      `INSERT INTO restore_stage_objects (uid, tenant_id, object_type, state, revision, created_at, updated_at, last_get_at, attributes, material, wrap_kind, root_key_id, root_key_version)
       VALUES (@uid, @tenantId, @objectType, @state, @revision, @createdAt, @updatedAt, @lastGetAt, @attributes, @material, @wrapKind, @rootKeyId, @rootKeyVersion)`,
    );
    let open = true;
    const live = () => {
      if (!open) throw new StoreError(StoreErrorCode.Unavailable, 'this restore is over');
    };
    const end = () => {
      open = false;
      this.restoring = false;
    };
    return {
      addTenant: async (t) => {
        live();
        this.run(() => stageTenant.run(t));
      },
      addCert: async (c) => {
        live();
        this.run(() => stageCert.run(c));
      },
      addObjects: async (objects) => {
        live();
        this.run(() => db.transaction(() => {
          for (const o of objects) stageObject.run(objectParams(o));
        }).immediate());
      },
      publish: async () => {
        live();
        try {
          this.run(() => this.publishStaged());
        } finally {
          end();
          if (!this.closed) this.run(() => db.exec(DROP_STAGING));
        }
        await this.syncToDisk();
      },
      abort: async () => {
        if (!open) return;
        end();
        if (!this.closed) this.run(() => db.exec(DROP_STAGING));
      },
    };
  }

  /**
   * One transaction: the store must hold no keys, then tenants, certificates and objects (with
   * their index rows) move from staging into place and the staging goes. Synchronous, so no other
   * commit interleaves; a crash before COMMIT leaves nothing of it.
   */
  private publishStaged(): void {
    this.cache.clear();
    const db = this.db;
    db.transaction(() => {
      const held = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM objects').get()!.n;
      if (held > 0) throw new StoreError(StoreErrorCode.Conflict, `the store holds ${held} keys`);
      db.prepare('INSERT INTO tenants (id, name, created_at) SELECT id, name, created_at FROM restore_stage_tenants ORDER BY rowid').run();
      db.prepare(
        'INSERT INTO client_certs (fingerprint, tenant_id, label, kind, subject, pem, created_at) SELECT fingerprint, tenant_id, label, kind, subject, pem, created_at FROM restore_stage_certs ORDER BY rowid',
      ).run();
      const page = db.prepare<[number], ObjectRow & { stage_seq: number }>('SELECT * FROM restore_stage_objects WHERE stage_seq > ? ORDER BY stage_seq LIMIT 500');
      for (let after = 0; ; ) {
        const rows = page.all(after);
        if (rows.length === 0) break;
        this.apply(rows.map((r) => ({ kind: 'insert' as const, object: objectFromRow(r) })));
        after = rows.at(-1)!.stage_seq;
      }
      db.exec(DROP_STAGING);
    }).immediate();
  }

  /** Resolves once everything committed so far is on disk (the WAL synced). */
  private syncToDisk(): Promise<void> {
    return new Promise((resolve, reject) => this.syncCommitted((err) => (err ? reject(unsynced(err)) : resolve())));
  }

  async countObjectsByState(tenantId?: string): Promise<Array<{ tenantId: string; state: number; count: number }>> {
    return this.run(() => this.stmt.countByState.all())
      .filter((r) => tenantId === undefined || r.tenant_id === tenantId)
      .map((r) => ({ tenantId: r.tenant_id, state: r.state, count: r.count }));
  }

  async ping(): Promise<void> {
    this.run(() => this.stmt.ping.get());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.touchTimer);
    this.flushCommits();
    this.flushTouches();
    this.closed = true;
    // Acknowledgements still waiting for their sync must get it before the descriptor goes.
    await Promise.all(this.syncing);
    this.db.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
  }

  /** Locate builds a handful of query shapes; preparing each once keeps them off the hot path. */
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();
  private cachedStatement<R>(sql: string): Database.Statement<unknown[], R> {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size > 256) this.statements.clear();
      s = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, s);
    }
    return s as Database.Statement<unknown[], R>;
  }

  private run<T>(fn: () => T): T {
    if (this.closed) throw new StoreError(StoreErrorCode.Unavailable, 'store is closed');
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }
}

function unsynced(cause: Error): StoreError {
  return new StoreError(StoreErrorCode.Unavailable, 'database could not be synced to disk', { cause });
}

/** An object's column values, named as the INSERT and UPDATE statements name them. */
function objectParams(o: ObjectRecord) {
  return {
    uid: o.uid,
    tenantId: o.tenantId,
    objectType: o.objectType,
    state: o.state,
    revision: o.revision,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    lastGetAt: o.lastGetAt,
    attributes: serializeAttributes(o.attributes),
    material: o.material ? Buffer.from(o.material.ciphertext) : null,
    wrapKind: o.material?.wrapKind ?? null,
    rootKeyId: o.material?.rootKeyId ?? null,
    rootKeyVersion: o.material?.rootKeyVersion ?? null,
  };
}
