/**
 * A consistent export of a SQLite store: SQLite's online backup copies the database (writes made
 * meanwhile through the same connection are carried into the copy), then the copy is read page by
 * page while the live database goes on serving. The copy is deleted when the reader is done.
 */
import type Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { certFromRow, objectFromRow, tenantFromRow, type CertRow, type ObjectRow, type TenantRow } from './rows.js';
import type { SnapshotItem } from './store.js';

const PAGE = 500;

export async function* readSnapshotCopy(open: (path: string) => Database.Database, copyPath: string): AsyncGenerator<SnapshotItem> {
  let db: Database.Database | undefined;
  try {
    db = open(copyPath);
    // The copy inherits WAL mode; a plain rollback journal needs no side files.
    db.pragma('journal_mode = DELETE');
    for (const r of db.prepare<[], TenantRow>('SELECT * FROM tenants ORDER BY created_at, id').all()) yield { kind: 'tenant', tenant: tenantFromRow(r) };
    for (const r of db.prepare<[], CertRow>('SELECT * FROM client_certs ORDER BY created_at, fingerprint').all()) yield { kind: 'cert', cert: certFromRow(r) };
    const page = db.prepare<[number], ObjectRow & { seq: number }>(`SELECT * FROM objects WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`);
    let after = 0;
    for (;;) {
      const rows = page.all(after);
      if (rows.length === 0) break;
      for (const r of rows) yield { kind: 'object', object: objectFromRow(r) };
      after = rows.at(-1)!.seq;
    }
  } finally {
    db?.close();
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${copyPath}${suffix}`, { force: true });
  }
}
