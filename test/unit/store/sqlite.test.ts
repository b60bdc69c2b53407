import { fdatasync, fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PAGE_CACHE_KIB, SqliteStore } from '../../../server/store/sqlite.js';
import { StoreErrorCode } from '../../../server/store/errors.js';
import { SQLITE_MIGRATIONS } from '../../../server/store/sql/sqlite-migrations.js';
import { objectRecord, storeContract } from '../../support/store-contract.js';

let dir = '';
storeContract('SQLite', {
  async create() {
    dir = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    return new SqliteStore({ path: join(dir, 'kmip.db') });
  },
  async reopen() {
    return new SqliteStore({ path: join(dir, 'kmip.db') });
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

describe('SQLite migrations and settings', () => {
  it('migrates an empty database once, records each version, and runs in WAL mode', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    const path = join(d, 'kmip.db');
    await new SqliteStore({ path }).close();
    await new SqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(SQLITE_MIGRATIONS.map((m) => ({ version: m.version })));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // Per connection, so read from the store's own: the page cache stays small (memory goal).
    const store = new SqliteStore({ path });
    expect((store as unknown as { db: Database.Database }).db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    await store.close();
    rmSync(d, { recursive: true, force: true });
  });

  it('refuses a database written by a newer server', () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    const path = join(d, 'kmip.db');
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL); INSERT INTO schema_migrations VALUES (999, 0)');
    db.close();
    expect(() => new SqliteStore({ path })).toThrowError(expect.objectContaining({ code: StoreErrorCode.Migration }));
    rmSync(d, { recursive: true, force: true });
  });

  it('owns its file: a second process (or store) cannot open it while the first runs', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    const path = join(d, 'kmip.db');
    const first = new SqliteStore({ path });
    expect(() => new SqliteStore({ path, busyTimeoutMs: 100 })).toThrowError(/in use by another process/);
    await first.close();
    await new SqliteStore({ path }).close();
    rmSync(d, { recursive: true, force: true });
  });

  it('acknowledges a commit only after the WAL holding it was synced to disk', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    const path = join(d, 'kmip.db');
    const syncs: Array<{ walBytes: number; release: () => void }> = [];
    const store = new SqliteStore({
      path,
      syncWal: (fd, done) => syncs.push({ walBytes: fstatSync(fd).size, release: () => fdatasync(fd, done) }),
    });
    const tenant = 'sync-tenant';
    await store.createTenant({ id: tenant, name: tenant, createdAt: 1 });
    const walBefore = statSync(`${path}-wal`).size;
    let acknowledged = false;
    const pending = store.commit([{ kind: 'insert', object: objectRecord(tenant) }]).then(() => (acknowledged = true));
    while (syncs.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    // The commit's frames are in the WAL before the sync is asked for, and nothing is acknowledged yet.
    expect(syncs[0]!.walBytes).toBeGreaterThan(walBefore);
    expect(acknowledged).toBe(false);
    syncs[0]!.release();
    await pending;
    expect(acknowledged).toBe(true);
    await store.close();
    rmSync(d, { recursive: true, force: true });
  });

  it('reports a failed sync as a failed commit', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    const store = new SqliteStore({ path: join(d, 'kmip.db'), syncWal: (_fd, done) => done(Object.assign(new Error('EIO'), { code: 'EIO' })) });
    await store.createTenant({ id: 't', name: 't', createdAt: 1 });
    await expect(store.commit([{ kind: 'insert', object: objectRecord('t') }])).rejects.toMatchObject({ code: StoreErrorCode.Unavailable });
    await store.close();
    rmSync(d, { recursive: true, force: true });
  });
});
