import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../server/store/sqlite.js';
import { StoreErrorCode } from '../../../server/store/errors.js';
import { SQLITE_MIGRATIONS } from '../../../server/store/sql/sqlite-migrations.js';
import { storeContract } from '../../support/store-contract.js';

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
  it('migrates an empty database once, records each version, and runs WAL with synchronous FULL', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-sqlite-'));
    const path = join(d, 'kmip.db');
    await new SqliteStore({ path }).close();
    await new SqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(SQLITE_MIGRATIONS.map((m) => ({ version: m.version })));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
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

  it('uses synchronous FULL on every connection it opens', () => {
    const store = new SqliteStore({ path: ':memory:' });
    const db = (store as unknown as { db: Database.Database }).db;
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    void store.close();
  });
});
