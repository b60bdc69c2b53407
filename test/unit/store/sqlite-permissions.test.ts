import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../server/store/sqlite.js';
import { objectRecord } from '../../support/store-contract.js';

// Issue 18, item 9: wrapped material and metadata must never be readable by other users.
const mode = (file: string) => statSync(file).mode & 0o777;
const sideFiles = (path: string) => [path, `${path}-wal`, `${path}-shm`, `${path}-journal`].filter((f) => existsSync(f));

let dir = '';
let umask = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmip-sqlite-mode-'));
  umask = process.umask(0o022); // the common default, which makes files 0644 unless the creator says otherwise
});
afterEach(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

async function writeSomething(store: SqliteStore): Promise<void> {
  await store.createTenant({ id: 'mode-tenant', name: 'mode-tenant', createdAt: 1 });
  await store.commit([{ kind: 'insert', object: objectRecord('mode-tenant') }]);
}

describe('SQLite file modes', () => {
  it('creates kmip.db and its WAL 0600 in an existing folder of mode 0755', async () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    chmodSync(data, 0o755);
    const path = join(data, 'kmip.db');
    const store = new SqliteStore({ path });
    await writeSomething(store);
    expect(existsSync(`${path}-wal`)).toBe(true);
    for (const f of sideFiles(path)) expect({ file: f, mode: mode(f).toString(8) }).toEqual({ file: f, mode: '600' });
    await store.close();
    // A folder the store creates itself is the owner's only.
    const fresh = join(dir, 'new', 'kmip.db');
    await new SqliteStore({ path: fresh }).close();
    expect(mode(join(dir, 'new'))).toBe(0o700);
    expect(mode(fresh)).toBe(0o600);
  });

  it('tightens a database and WAL that an earlier version left 0644', async () => {
    const path = join(dir, 'kmip.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    old.close();
    chmodSync(path, 0o644);
    // A WAL left behind (as after a crash), readable by others.
    writeFileSync(`${path}-wal`, '', { mode: 0o644 });
    const store = new SqliteStore({ path });
    await writeSomething(store);
    for (const f of sideFiles(path)) expect({ file: f, mode: mode(f).toString(8) }).toEqual({ file: f, mode: '600' });
    await store.close();
  });
});
