/**
 * Issue 18, item 8: `kmip-server --dev` registers the development client (tenant "dev" and its
 * pinned certificate) when its store is first set up, never again: after `kmipctl cert remove` of the
 * development client certificate, or `kmipctl tenant remove dev --force`, a restart leaves it removed,
 * the client is refused, and the banner says why and how to re-add it. Built server and kmipctl, as
 * real processes.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { certificateFingerprint } from '../../server/identity/fingerprint.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { kmipctl } from '../support/kmipctl.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { assertBuilt, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';

const dirs: string[] = [];
beforeAll(() => assertBuilt());
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-dev-removal-'));
  dirs.push(dir);
  return dir;
}

const start = (dir: string) => startServerProcess(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', '--log-level', 'warn']);
const admin = (dir: string, server: RunningServer) => ({ adminPort: server.adminPort, tokenFile: join(dir, 'admin-token') });
const banner = (server: RunningServer) => server.stderr.join('');
const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };

function devTls(dir: string) {
  return { ca: readFileSync(join(dir, 'pki', 'ca.pem')), cert: readFileSync(join(dir, 'pki', 'client-cert.pem')), key: readFileSync(join(dir, 'pki', 'client-key.pem')) };
}

/** The development client's Create: 'served', 'denied' (KMIP Permission Denied) or 'refused' (TLS or connection refused). */
async function devClientCreate(dir: string, server: RunningServer): Promise<'served' | 'denied' | 'refused'> {
  let client: TestKmipClient;
  try {
    client = await TestKmipClient.connect(server.kmipPort, devTls(dir));
  } catch {
    return 'refused';
  }
  try {
    const r = await client.request([{ operation: Operation.Create, payload: createPayload }]);
    const item = r.items[0]!;
    if (item.resultStatus === ResultStatus.Success) return 'served';
    expect(item.resultReason, item.resultMessage).toBe(ResultReason.PermissionDenied);
    return 'denied';
  } catch {
    return 'refused';
  } finally {
    await client.close();
  }
}

const devFingerprint = (dir: string) => certificateFingerprint(new X509Certificate(readFileSync(join(dir, 'pki', 'client-cert.pem'))));

describe('kmip-server --dev does not bring back a removed development client', () => {
  it('after kmipctl cert remove, a restart leaves the certificate removed and the client refused; the banner says how to re-add it', async () => {
    const dir = newDir();
    let server = await start(dir);
    try {
      expect(banner(server)).toContain('the client certificate is registered to tenant "dev"');
      expect(await devClientCreate(dir, server)).toBe('served');
      const removed = await kmipctl(admin(dir, server), '--json', 'cert', 'remove', devFingerprint(dir));
      expect(removed.code, removed.stderr).toBe(0);
      expect(await devClientCreate(dir, server)).not.toBe('served');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    server = await start(dir);
    try {
      expect(await devClientCreate(dir, server)).not.toBe('served');
      const text = banner(server);
      expect(text).toContain('the client certificate is NOT registered');
      expect(text).toContain(`cert add --tenant dev --pem ${join(dir, 'pki', 'client-cert.pem')}`);
      expect(text).not.toContain('tenant add dev'); // the tenant is still there
      const certs = await kmipctl(admin(dir, server), '--json', 'cert', 'list');
      expect(certs.code, certs.stderr).toBe(0);
      expect(JSON.stringify(certs.json)).not.toContain(devFingerprint(dir));

      // The banner's command re-adds it, and it is served again (and stays after another restart).
      const added = await kmipctl(admin(dir, server), '--json', 'cert', 'add', '--tenant', 'dev', '--pem', join(dir, 'pki', 'client-cert.pem'), '--name', 'development client');
      expect(added.code, added.stderr).toBe(0);
      expect(await devClientCreate(dir, server)).toBe('served');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    server = await start(dir);
    try {
      expect(banner(server)).toContain('the client certificate is registered to tenant "dev"');
      expect(await devClientCreate(dir, server)).toBe('served');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  }, 120_000);

  it('after kmipctl tenant remove dev --force, a restart leaves the tenant removed and the client refused', async () => {
    const dir = newDir();
    let server = await start(dir);
    try {
      expect(await devClientCreate(dir, server)).toBe('served');
      const removed = await kmipctl(admin(dir, server), '--json', 'tenant', 'remove', 'dev', '--force', '--confirm', 'dev');
      expect(removed.code, `${removed.stdout}${removed.stderr}`).toBe(0);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    server = await start(dir);
    try {
      expect(await devClientCreate(dir, server)).not.toBe('served');
      const text = banner(server);
      expect(text).toContain('the client certificate is NOT registered');
      expect(text).toContain('tenant add dev');
      const tenants = await kmipctl(admin(dir, server), '--json', 'tenant', 'list');
      expect(tenants.code, tenants.stderr).toBe(0);
      expect(tenants.json.tenants).toEqual([]);
      const certs = await kmipctl(admin(dir, server), '--json', 'cert', 'list');
      expect(JSON.stringify(certs.json)).not.toContain(devFingerprint(dir));
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  }, 120_000);

  it('a new SQLite store in the data folder (kmip.db deleted) gets the development client again', async () => {
    const dir = newDir();
    let server = await start(dir);
    try {
      const removed = await kmipctl(admin(dir, server), '--json', 'tenant', 'remove', 'dev', '--force', '--confirm', 'dev');
      expect(removed.code, `${removed.stdout}${removed.stderr}`).toBe(0);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    for (const f of ['kmip.db', 'kmip.db-wal', 'kmip.db-shm']) rmSync(join(dir, f), { force: true });
    server = await start(dir);
    try {
      expect(banner(server)).toContain('the client certificate is registered to tenant "dev"');
      expect(await devClientCreate(dir, server)).toBe('served');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  }, 120_000);
});
