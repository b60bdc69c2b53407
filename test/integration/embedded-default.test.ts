/** The embedded default as users run it: `npm start` and `kmip-server --dev`, as real processes. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { assertBuilt, runToExit, SERVER_MAIN, startServerProcess } from '../support/process.js';

const dir = mkdtempSync(join(tmpdir(), 'kmip-dev-'));
beforeAll(() => assertBuilt());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function devClient(port: number): Promise<TestKmipClient> {
  return TestKmipClient.connect(port, {
    ca: readFileSync(join(dir, 'pki', 'ca.pem')),
    cert: readFileSync(join(dir, 'pki', 'client-cert.pem')),
    key: readFileSync(join(dir, 'pki', 'client-key.pem')),
  });
}

describe('embedded default', () => {
  let uid: string;
  let caFingerprint: string;

  it('npm start: creates the PKI, root key and database, prints where they are, and serves the dev tenant', async () => {
    // Extra arguments after `--` override the README defaults: a temp folder and free ports.
    const server = await startServerProcess('npm', ['start', '--silent', '--', '--data-dir', dir, '--port', '0', '--admin-port', '0']);
    try {
      const banner = server.stderr.join('');
      for (const file of ['ca.pem', 'client-cert.pem', 'client-key.pem']) expect(banner).toContain(join(dir, 'pki', file));
      expect(banner).toContain('tenant "dev"');
      for (const key of ['pki/ca-key.pem', 'pki/server-key.pem', 'pki/client-key.pem', 'root-key.json']) {
        expect((statSync(join(dir, key)).mode & 0o777).toString(8), key).toBe('600');
      }
      const serverCert = new X509Certificate(readFileSync(join(dir, 'pki', 'server-cert.pem')));
      expect(serverCert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect(serverCert.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(serverCert.subjectAltName).toContain('DNS:localhost');
      caFingerprint = new X509Certificate(readFileSync(join(dir, 'pki', 'ca.pem'))).fingerprint256;

      const client = await devClient(server.kmipPort);
      const created = await client.ok(Operation.Create, {
        objectType: 2,
        templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] },
      });
      uid = created['uniqueIdentifier'] as string;
      await client.close();

      const ready = await fetch(`http://127.0.0.1:${server.adminPort}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, checks: { store: 'ok', rootKey: 'ok' } });
      expect(await (await fetch(`http://127.0.0.1:${server.adminPort}/healthz`)).text()).toBe('ok\n');
      const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      expect(metrics).toMatch(/kmip_operations_total\{operation="Create",reason="",result="success"\} 1/);
      expect(metrics).toMatch(/kmip_operation_duration_seconds_count\{operation="Create"\} 1/);
      expect(metrics).toContain('kmip_open_connections');
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
      expect(gauge('process_resident_memory_bytes')).toBeGreaterThan(20 * 2 ** 20);
      expect(gauge('process_resident_memory_bytes')).toBeLessThan(2 ** 30);
      expect(gauge('nodejs_heap_used_bytes')).toBeGreaterThan(0);
      expect(gauge('nodejs_heap_used_bytes')).toBeLessThanOrEqual(gauge('nodejs_heap_total_bytes'));
      // The banner's management command works as printed: npm run -s kmipctl -- --dev --data-dir DIR …
      expect(banner).toContain(`npm run -s kmipctl -- --dev --data-dir ${dir} tenant list`);
      const listed = await runToExit('npm', ['run', '--silent', 'kmipctl', '--', '--dev', '--data-dir', dir, '--json', 'tenant', 'list']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).tenants).toEqual([expect.objectContaining({ name: 'dev', keys: { PreActive: 1 } })]);
      // The Create (and anything else that changed a key) went through a timed, durable commit.
      const commits = /kmip_store_commit_duration_seconds_count(?:\{\})? (\d+)/.exec(metrics);
      expect(Number(commits?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      // The whole process group gets the signal (Ctrl-C in a terminal): npm ends by it, the server drains (its log says so below).
      expect([0, null]).toContain(await server.stop('SIGINT'));
    }
    const logs = server.stdout.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'draining', 'stopped']));
  });

  it('kmip-server --dev: a second start reuses the PKI, the root key and the keys', async () => {
    const server = await startServerProcess(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0']);
    try {
      expect(new X509Certificate(readFileSync(join(dir, 'pki', 'ca.pem'))).fingerprint256).toBe(caFingerprint);
      const client = await devClient(server.kmipPort);
      expect((await client.ok(Operation.Get, { uniqueIdentifier: uid }))['uniqueIdentifier']).toBe(uid);
      const stranger = await TestKmipClient.connect(server.kmipPort, { ca: readFileSync(join(dir, 'pki', 'ca.pem')) });
      const refused = await stranger.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
      expect(refused.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied });
      await Promise.all([client.close(), stranger.close()]);
    } finally {
      expect(await server.stop('SIGINT')).toBe(0);
    }
  });

  it('kmip-server --config FILE: serves from a production-style configuration', async () => {
    const file = join(dir, 'server.json');
    writeFileSync(
      file,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        tls: { certFile: join(dir, 'pki', 'server-cert.pem'), keyFile: join(dir, 'pki', 'server-key.pem') },
        store: { kind: 'sqlite', path: join(dir, 'kmip.db') },
        wrap: { kind: 'local', keyFile: join(dir, 'root-key.json') },
        log: { level: 'info' },
      }),
    );
    const server = await startServerProcess(process.execPath, [SERVER_MAIN, '--config', file], undefined, 60_000, /"kmip":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/);
    try {
      const client = await devClient(server.kmipPort);
      expect((await client.ok(Operation.Get, { uniqueIdentifier: uid }))['uniqueIdentifier']).toBe(uid);
      await client.close();
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('refuses bad arguments with a usage message and exit code 2', async () => {
    for (const args of [['--dev', '--port', 'abc'], ['--dev', '--config', 'x.json'], [], ['--dev', '--bogus'], ['--dev', '--log-level', 'loud']]) {
      const r = await runToExit(process.execPath, [SERVER_MAIN, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/kmip-server: /);
    }
  });

  it('reports every problem of a configuration file at once, with its path', async () => {
    const file = join(dir, 'bad-config.json');
    writeFileSync(file, JSON.stringify({ listen: { port: 70000 }, tls: { certFile: '' }, store: { kind: 'oracle' }, wrap: { kind: 'local' }, extra: 1 }));
    const r = await runToExit(process.execPath, [SERVER_MAIN, '--config', file]);
    expect(r.code).toBe(2);
    for (const path of ['listen.port', 'tls.certFile', 'tls.keyFile', 'store.kind', 'wrap.keyFile']) expect(r.stderr).toContain(path);
    expect(r.stderr).toMatch(/extra/);
  });
});
