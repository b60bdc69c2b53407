/**
 * A node whose database is down at boot comes up not ready and recovers when it returns, without a
 * restart: /healthz answers, /readyz says why it is not ready, the KMIP port stays closed, and the
 * database password never reaches a log line. A database that does not exist is no reason to wait:
 * the start fails at once and says so. The built server runs as a real process with a production
 * configuration against a private PostgreSQL cluster the test stops and starts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { PostgresStore } from '../../server/store/postgres.js';
import { ensureLocalRootKey } from '../../server/wrap/local.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { freePort } from '../support/free-port.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { createPrivatePostgres, privatePostgresSkipReason, type PrivatePostgres } from '../support/private-postgres.js';
import { assertBuilt, runToExit, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';
import { noteSecret } from '../support/secrets-ledger.js';

const skip = privatePostgresSkipReason();

/** Trust auth lets any password in: a distinctive one shows whether the URL leaks into the output. */
const PASSWORD = `pgpw-${randomBytes(12).toString('hex')}`;
/** The server's test-only retry override (see server/main.ts): attempts 200 ms apart instead of 1 s doubling. */
const RETRY = 'KMIP_TEST_STORE_RETRY_MS=200';
/** Logged once the waiting admin port is bound; startServerProcess wants two groups, the KMIP one is empty (closed). */
const WAITING = /()"admin":"127\.0\.0\.1:(\d+)","msg":"waiting for the database/;


/** Resolves with the socket error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, text: await r.text() };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const output = (s: RunningServer) => s.stdout.join('') + s.stderr.join('');
const logLines = (s: RunningServer) =>
  s.stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; level: string; pid: number });

describe.skipIf(skip)('PostgreSQL down when the server starts', () => {
  let pgc: PrivatePostgres;
  let pki: TestPki;
  let dir: string;
  let keyFile: string;

  beforeAll(async () => {
    assertBuilt();
    noteSecret('database password', PASSWORD);
    pgc = await createPrivatePostgres();
    pki = createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'kmip-pg-down-'));
    keyFile = join(dir, 'root-key.json');
    ensureLocalRootKey(keyFile);
    for (const key of Object.values((JSON.parse(readFileSync(keyFile, 'utf8')) as { versions: Record<string, string> }).versions)) noteSecret('root key', key);
  }, 120_000);
  afterAll(() => {
    pgc?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A production configuration on fixed free ports: the waiting admin server and the real one must share one. */
  const writeConfig = (name: string, database: string, ports: { kmip: number; admin: number }): string => {
    const file = join(dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: ports.kmip },
        admin: { host: '127.0.0.1', port: ports.admin },
        tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
        store: { kind: 'postgres', url: `postgres://postgres:${PASSWORD}@127.0.0.1:${pgc.port}/${database}`, connectTimeoutMs: 1000, statementTimeoutMs: 2000 },
        wrap: { kind: 'local', keyFile },
        log: { level: 'info' },
      }),
    );
    return file;
  };

  it('comes up not ready with the KMIP port closed, and serves once the database returns, in the same process', async () => {
    const ports = { kmip: await freePort(), admin: await freePort() };
    const file = writeConfig('down', 'postgres', ports);
    pgc.stop();
    let server: RunningServer | undefined;
    try {
      server = await startServerProcess('/usr/bin/env', [RETRY, process.execPath, SERVER_MAIN, '--config', file], undefined, 30_000, WAITING);
      const s = server;
      expect(s.adminPort).toBe(ports.admin);

      expect(await get(ports.admin, '/healthz')).toEqual({ status: 200, text: 'ok\n' });
      const ready = await get(ports.admin, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text)).toEqual({
        ready: false,
        checks: { store: expect.stringMatching(/^unreachable: waiting for the database \(ECONNREFUSED\)$/), rootKey: 'not checked' },
      });
      const metrics = await get(ports.admin, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^kmip_store_waiting 1$/m);
      const api = await fetch(`http://127.0.0.1:${ports.admin}/v1/tenants`, { headers: { authorization: 'Bearer whatever' } });
      expect(api.status).toBe(503);
      expect(((await api.json()) as { error: string }).error).toContain('waiting for its database');
      expect(await tryConnect(ports.kmip)).toBe('ECONNREFUSED');

      // It keeps trying, one warning per attempt, and the URL's password is nowhere.
      await until('three failed attempts', async () => (logLines(s).filter((l) => l.msg === 'database unreachable at start; retrying').length >= 3 ? true : undefined), 10_000);
      expect(logLines(s).find((l) => l.msg === 'database unreachable at start; retrying')!.level).toBe('warn');
      expect(await tryConnect(ports.kmip)).toBe('ECONNREFUSED');
      expect(output(s)).not.toContain(PASSWORD);

      pgc.start();
      const started = Date.now();
      await until('/readyz 200', async () => ((await get(ports.admin, '/readyz')).status === 200 ? true : undefined), 15_000);
      console.log(`database back: /readyz 200 after ${Date.now() - started} ms`);
      expect(JSON.parse((await get(ports.admin, '/readyz')).text)).toEqual({ ready: true, checks: { store: 'ok', rootKey: 'ok' } });
      expect(s.child.exitCode).toBeNull();
      const msgs = logLines(s).map((l) => l.msg);
      expect(msgs).toContain('database reachable; starting');
      expect(msgs.filter((m) => m === 'listening')).toHaveLength(1);
      expect(new Set(logLines(s).map((l) => l.pid))).toEqual(new Set([s.child.pid]));

      // A tenant and its certificate, as `kmipctl` would leave them in the (now migrated) database.
      const cert = pki.client('down-at-start');
      const store = await PostgresStore.open({ connectionString: pgc.url });
      try {
        const tenantId = randomUUID();
        await store.createTenant({ id: tenantId, name: 'down-at-start', createdAt: Date.now() });
        await store.addClientCert({ fingerprint: cert.fingerprint, tenantId, label: cert.subject, kind: 'pin', subject: null, pem: cert.certificatePem, createdAt: Date.now() });
      } finally {
        await store.close();
      }
      const client = await TestKmipClient.connect(ports.kmip, { ca: pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem });
      try {
        const created = await client.ok(Operation.Create, { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } });
        const uid = created['uniqueIdentifier'] as string;
        expect((await client.ok(Operation.Get, { uniqueIdentifier: uid }))['uniqueIdentifier']).toBe(uid);
      } finally {
        await client.close();
      }
    } finally {
      if (pgc.port && (await tryConnect(pgc.port)) !== 'connected') pgc.start();
      if (server) expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(output(server)).not.toContain(PASSWORD);
  });

  it('SIGTERM while waiting: stops retrying and exits 0 at once, freeing the admin port', async () => {
    const ports = { kmip: await freePort(), admin: await freePort() };
    const file = writeConfig('sigterm', 'postgres', ports);
    pgc.stop();
    try {
      // A long backoff: the signal must not wait it out.
      const server = await startServerProcess('/usr/bin/env', ['KMIP_TEST_STORE_RETRY_MS=60000', process.execPath, SERVER_MAIN, '--config', file], undefined, 30_000, WAITING);
      expect((await get(ports.admin, '/readyz')).status).toBe(503);
      const started = Date.now();
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await tryConnect(ports.admin)).toBe('ECONNREFUSED');
      expect(logLines(server).map((l) => l.msg)).toContain('shutting down');
      expect(output(server)).not.toContain(PASSWORD);
    } finally {
      pgc.start();
    }
  });

  it('a database that does not exist is not waited for: exit 1 at once, naming it, without the password', async () => {
    const ports = { kmip: await freePort(), admin: await freePort() };
    const file = writeConfig('missing', 'kmip_no_such_database', ports);
    const started = Date.now();
    const r = await runToExit('/usr/bin/env', [RETRY, process.execPath, SERVER_MAIN, '--config', file]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kmip-server: cannot start: STORE_ERR_UNAVAILABLE: database error 3D000 (database "kmip_no_such_database" does not exist)');
    expect(r.stdout).not.toContain('waiting for the database');
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});
