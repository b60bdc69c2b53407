/**
 * The data folder fails the ways disks fail: it fills up, or it is read-only. Writes get a clear
 * KMIP error (nothing is acknowledged that was not stored), reads go on, the server recovers by
 * itself when space returns, refuses to start on a read-only folder with its reason, and the
 * database is intact afterwards. (A folder cannot be turned read-only under a running server: the
 * kernel refuses while its files are open for writing.) Needs root to mount a small tmpfs;
 * elsewhere it is skipped with its reason.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { requirement } from '../support/env.js';
import { assertBuilt, SERVER_MAIN, startServerProcess, runToExit, type RunningServer } from '../support/process.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'kmip-disk-'));
function tryMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'cannot mount a tmpfs here';
  }
}
const mountProblem = tryMount();
// CI runs as root and must run these; a laptop without root skips them, visibly.
const skip = requirement('a 16 MiB tmpfs for the disk-fault tests', mountProblem === undefined, mountProblem ?? '');
if (skip) rmSync(mountPoint, { recursive: true, force: true });
const remount = (mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, mountPoint], { stdio: 'ignore' });

const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };

describe.skipIf(skip)('disk faults in the data folder', () => {
  const dir = join(mountPoint, 'data');
  let server: RunningServer;
  let client: TestKmipClient;
  let tls: { ca: Buffer; cert: Buffer; key: Buffer };
  const acknowledged: string[] = [];

  const start = () => startServerProcess(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', '--log-level', 'warn']);
  const create = async () => {
    const r = await client.request([{ operation: Operation.Create, payload: createPayload }]);
    const item = r.items[0]!;
    if (item.resultStatus === ResultStatus.Success) acknowledged.push(item.payload!['uniqueIdentifier'] as string);
    return item;
  };
  const getsAll = async () => {
    for (const uid of acknowledged) {
      const r = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
      expect(r.items[0]!.resultStatus, uid).toBe(ResultStatus.Success);
    }
  };
  /** Creates until one succeeds (the first after recovery may meet a half-written WAL frame being retried). */
  const createEventually = async () => {
    for (let i = 0; i < 20; i++) {
      if ((await create()).resultStatus === ResultStatus.Success) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('Create did not recover');
  };

  beforeAll(async () => {
    assertBuilt();
    mkdirSync(dir, { recursive: true });
    server = await start();
    tls = { ca: readFileSync(join(dir, 'pki/ca.pem')), cert: readFileSync(join(dir, 'pki/client-cert.pem')), key: readFileSync(join(dir, 'pki/client-key.pem')) };
    client = await TestKmipClient.connect(server.kmipPort, tls);
    for (let i = 0; i < 20; i++) expect((await create()).resultStatus).toBe(ResultStatus.Success);
  });
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    try {
      remount('rw');
    } catch {
      // already read-write or unmounted
    }
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('disk full: Creates fail with General Failure, Gets go on, and Creates work again once space returns', async () => {
    const filler = join(mountPoint, 'filler');
    const fd = openSync(filler, 'w');
    const block = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) writeSync(fd, block);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    // Fill the last bytes too.
    try {
      for (;;) writeSync(fd, Buffer.alloc(512, 1));
    } catch {
      // full
    } finally {
      closeSync(fd);
    }
    const before = acknowledged.length;
    let failed = 0;
    for (let i = 0; i < 30; i++) {
      const item = await create();
      if (item.resultStatus !== ResultStatus.Success) {
        failed++;
        expect(item.resultReason).toBe(ResultReason.GeneralFailure);
        expect(item.resultMessage).toMatch(/storage/);
      }
    }
    expect(failed).toBeGreaterThan(0);
    await getsAll();
    rmSync(filler);
    await createEventually();
    expect(acknowledged.length).toBeGreaterThan(before);
    await getsAll();
  });

  it('a server asked to start on a read-only folder says why and exits; after a restart nothing acknowledged is missing and the database is intact', async () => {
    await client.close();
    await server.stop();
    remount('ro');
    try {
      const refused = await runToExit(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/kmip-server: cannot use the data folder .*: it is on a read-only file system/);
    } finally {
      remount('rw');
    }
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => { pragma(s: string): Array<{ integrity_check: string }>; close(): void };
    const db = new Database(join(dir, 'kmip.db'));
    expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    db.close();
    server = await start();
    client = await TestKmipClient.connect(server.kmipPort, tls);
    await getsAll();
    console.log(`disk faults: ${acknowledged.length} acknowledged keys all present after full disk, read-only folder and restart`);
  });
});
