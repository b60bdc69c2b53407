/**
 * The admin port over HTTPS with admin client certificates: a certificate from the admin CA
 * authorizes kmipctl like the token does; one from another CA (even the KMIP client CA) does not;
 * health stays reachable for load balancers. A token over HTTPS trusts the port through --server-ca.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../server/pki/certificates.js';
import { assertBuilt } from '../support/process.js';
import { KMIPCTL } from '../support/kmipctl.js';
import { createTestPki, type TestClientCert } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [KMIPCTL, ...args], { timeout: 30_000, env: { ...process.env, KMIPCTL_TOKEN_FILE: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

function status(port: number, path: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('admin port with client certificates (mTLS)', () => {
  let server: TestServer;
  let admin: TestClientCert;
  let kmipClient: TestClientCert;
  let caFile: string;
  const adminCa = issueCertificate({ commonName: 'admin CA', isCa: true });

  beforeAll(async () => {
    assertBuilt();
    const pki = createTestPki();
    const adminCaFile = join(pki.dir, 'admin-ca.pem');
    writeFileSync(adminCaFile, adminCa.certificatePem);
    admin = pki.client('operator', { extendedKeyUsage: ['clientAuth'] }, adminCa);
    kmipClient = pki.client('vcenter');
    caFile = pki.caFile;
    // The token too: either credential authorizes over HTTPS.
    const dir = mkdtempSync(join(tmpdir(), 'kmip-server-'));
    server = await startTestServer({
      pki,
      dir,
      config: { admin: { enabled: true, host: '127.0.0.1', port: 0, tokenFile: join(dir, 'admin-token'), tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, clientCaFile: adminCaFile } } },
    });
  });
  afterAll(async () => server?.close());

  const url = () => `https://localhost:${server.adminPort}`;

  it('an admin certificate runs kmipctl without a token', async () => {
    const added = await run('--admin-url', url(), '--client-cert', admin.certFile, '--client-key', admin.keyFile, '--server-ca', caFile, '--json', 'tenant', 'add', 'vc-mtls');
    expect(added.code, added.stdout + added.stderr).toBe(0);
    const listed = await run('--admin-url', url(), '--client-cert', admin.certFile, '--client-key', admin.keyFile, '--server-ca', caFile, '--json', 'tenant', 'list');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).tenants.map((t: { name: string }) => t.name)).toEqual(['vc-mtls']);
  });

  it('a certificate from another CA is refused, as is no credential at all; health stays open', async () => {
    const other = await run('--admin-url', url(), '--client-cert', kmipClient.certFile, '--client-key', kmipClient.keyFile, '--server-ca', caFile, 'tenant', 'list');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/valid bearer token is required/);
    expect(await status(server.adminPort, '/v1/tenants', readFileSync(caFile, 'utf8'))).toBe(401);
    expect(await status(server.adminPort, '/healthz', readFileSync(caFile, 'utf8'))).toBe(200);
  });

  it('a token over HTTPS trusts the admin port through --server-ca, and says to give it when missing', async () => {
    const withCa = await run('--admin-url', url(), '--token-file', server.tokenFile, '--server-ca', caFile, '--json', 'tenant', 'list');
    expect(withCa.code, withCa.stdout + withCa.stderr).toBe(0);
    expect(JSON.parse(withCa.stdout).tenants).toBeInstanceOf(Array);
    const withoutCa = await run('--admin-url', url(), '--token-file', server.tokenFile, 'tenant', 'list');
    expect(withoutCa.code).toBe(1);
    expect(withoutCa.stderr).toMatch(/--server-ca/);
    expect((await run('--admin-url', `http://127.0.0.1:${server.adminPort}`, '--token-file', server.tokenFile, '--server-ca', caFile, 'tenant', 'list')).code).toBe(2);
  });

  it('kmipctl refuses a client certificate over plain http and a certificate without its key', async () => {
    expect((await run('--admin-url', `http://127.0.0.1:${server.adminPort}`, '--client-cert', admin.certFile, '--client-key', admin.keyFile, 'tenant', 'list')).code).toBe(2);
    expect((await run('--admin-url', url(), '--client-cert', admin.certFile, 'tenant', 'list')).code).toBe(2);
  });
});
