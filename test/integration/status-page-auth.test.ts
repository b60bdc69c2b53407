/**
 * The status page without a browser: an admin client certificate authorizes it like the token (and a
 * KMIP client's certificate does not); with neither configured the page is off; it is read-only; and
 * the root key's state shows the Key Protect failure now and, once healed, as the last error; and
 * the same page reads a PostgreSQL store; a node still waiting for its database says so instead.
 */
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaitingAdminServer } from '../../server/admin/waiting.js';
import { parseConfig } from '../../server/config/load.js';
import { createLoggers } from '../../server/log/logger.js';
import { Operation, ResultReason } from '../../server/kmip/generated/enums.js';
import { issueCertificate } from '../../server/pki/certificates.js';
import { ensureLocalRootKey } from '../../server/wrap/local.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { FakeKeyProtect } from '../support/fake-keyprotect.js';
import { createTestPki, type TestClientCert, type TestPki } from '../support/pki.js';
import { freshDatabase, postgresSkipReason } from '../support/postgres.js';
import { noteOutput } from '../support/secrets-ledger.js';
import { startTestServer, type TestServer } from '../support/server.js';

const pgSkip = await postgresSkipReason();

/** The page as text: tags dropped, white space folded. */
const pageText = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function https(port: number, method: string, ca: string, cert?: TestClientCert): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/status', method, ca, servername: 'localhost', ...(cert ? { cert: cert.certificatePem, key: cert.privateKeyPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        noteOutput(`status page over HTTPS (${method}, ${cert ? cert.subject : 'no certificate'})`, body);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status page over HTTPS with admin client certificates', () => {
  let server: TestServer;
  let pki: TestPki;
  let operator: TestClientCert;
  let vcenter: TestClientCert;

  beforeAll(async () => {
    pki = createTestPki();
    const adminCa = issueCertificate({ commonName: 'admin CA', isCa: true });
    const adminCaFile = join(pki.dir, 'admin-ca.pem');
    writeFileSync(adminCaFile, adminCa.certificatePem);
    operator = pki.client('operator', { extendedKeyUsage: ['clientAuth'] }, adminCa);
    vcenter = pki.client('vcenter');
    server = await startTestServer({
      pki,
      config: { admin: { enabled: true, host: '127.0.0.1', port: 0, tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, clientCaFile: adminCaFile } } },
    });
    await server.tenant('vc-mtls-status');
  });
  afterAll(async () => server?.close());

  it('an admin certificate reads the page; a KMIP client certificate or none gets a 401 without data', async () => {
    const ok = await https(server.adminPort, 'GET', pki.ca.certificatePem, operator);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('vc-mtls-status');
    expect(ok.headers['cache-control']).toBe('no-store');
    for (const cert of [vcenter, undefined]) {
      const refused = await https(server.adminPort, 'GET', pki.ca.certificatePem, cert);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(refused.body).not.toContain('vc-mtls-status');
      expect(refused.body).not.toContain('sqlite');
    }
  });

  it('is read-only: HEAD answers without a body, POST is 405', async () => {
    const head = await https(server.adminPort, 'HEAD', pki.ca.certificatePem, operator);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await https(server.adminPort, 'POST', pki.ca.certificatePem, operator);
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
  });
});

describe('status page with neither a token nor an admin CA', () => {
  it('is off, like the management API', async () => {
    const server = await startTestServer({ config: { admin: { enabled: true, host: '127.0.0.1', port: 0 } } });
    try {
      const res = await fetch(`http://127.0.0.1:${server.adminPort}/status`);
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(/set admin\.tokenFile or admin\.tls\.clientCaFile/);
    } finally {
      await server.close();
    }
  });
});

describe('status page with Key Protect as the root key', () => {
  const API_KEY = 'status-page-kp-api-key-5e1f';
  let fake: FakeKeyProtect;
  let server: TestServer;
  let rootKeyId: string;
  let token: string;
  let secrets: string | undefined;

  beforeAll(async () => {
    fake = await new FakeKeyProtect().start();
    fake.addApiKey(API_KEY);
    const instanceId = fake.addInstance();
    rootKeyId = fake.createRootKey(instanceId);
    secrets = mkdtempSync(join(tmpdir(), 'kmip-kp-status-'));
    writeFileSync(join(secrets, 'api-key'), `${API_KEY}\n`, { mode: 0o600 });
    server = await startTestServer({
      config: { wrap: { kind: 'keyprotect', region: 'us-south', instanceId, rootKeyId, endpoint: fake.url, iamEndpoint: fake.url, apiKeyFile: join(secrets, 'api-key'), cacheSeconds: 0, requestTimeoutMs: 1000, maxAttempts: 1 } },
    });
    token = readFileSync(server.tokenFile, 'utf8').trim();
  });
  afterAll(async () => {
    await server?.close();
    await fake?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  const page = async () => {
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/status`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    noteOutput('status page (Key Protect root key)', body);
    expect(res.status).toBe(200);
    return pageText(body);
  };

  it('shows the root key failing with Key Protect’s answer, then healthy with that answer as its last error', async () => {
    expect(await page()).toMatch(/root key keyprotect ok none since this node started/);
    fake.setState(rootKeyId, 2); // disabled
    try {
      const failing = await page();
      expect(failing).toMatch(/not ready/);
      expect(failing).toMatch(/root key keyprotect failing WRAP_ERR_ROOT_KEY_UNUSABLE: root key is not active \(state 2\) readiness check: WRAP_ERR_ROOT_KEY_UNUSABLE: root key is not active \(state 2\) \S+ \S+ UTC \(\d+ s ago\); 1 error\(s\) since this node started/);
    } finally {
      fake.setState(rootKeyId, 1);
    }
    const healed = await page();
    expect(healed).toMatch(/root key keyprotect ok readiness check: WRAP_ERR_ROOT_KEY_UNUSABLE: root key is not active \(state 2\) \S+ \S+ UTC \(\d+ s ago\); 1 error\(s\) since this node started/);
    expect(healed).toMatch(/database sqlite ok none since this node started/);
  });

  it('a Get the disabled root key refuses leaves Key Protect’s own answer as the last error', async () => {
    const { cert } = await server.tenant('vc-kp-status');
    const client = await server.connect(cert);
    const uid = (await client.ok(Operation.Create, { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } }))['uniqueIdentifier'] as string;
    fake.setState(rootKeyId, 2);
    try {
      const item = (await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }])).items[0]!;
      expect(item.resultReason).toBe(ResultReason.CryptographicFailure);
    } finally {
      fake.setState(rootKeyId, 1);
    }
    const text = await page();
    expect(text).toMatch(/root key keyprotect ok Get: WRAP_ERR_ROOT_KEY_UNUSABLE: Key Protect answered 409 KEY_ACTION_INVALID_STATE_ERR: root key is not active \S+ \S+ UTC \(\d+ s ago\); \d+ error\(s\) since this node started/);
  });
});

describe.skipIf(pgSkip)('status page on PostgreSQL', () => {
  it('shows the database as postgres, the tenant and its key counts', async () => {
    const db = await freshDatabase();
    const server = await startTestServer({ config: { store: { kind: 'postgres', url: db.url } } });
    try {
      await server.tenant('vc-pg-status');
      const token = readFileSync(server.tokenFile, 'utf8').trim();
      const res = await fetch(`http://127.0.0.1:${server.adminPort}/status`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      noteOutput('status page (PostgreSQL)', body);
      expect(res.status).toBe(200);
      const text = pageText(body);
      expect(text).toMatch(/alive ready/);
      expect(text).toMatch(/database postgres ok none since this node started/);
      expect(text).toMatch(/vc-pg-status \S+ \S+ UTC 1 0/);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});

describe('status page of a node waiting for its database at start', () => {
  it('answers 503 saying why, with no data and no credentials asked', async () => {
    const pki = createTestPki();
    const tokenFile = join(pki.dir, 'admin-token');
    writeFileSync(tokenFile, 'waiting-node-token\n', { mode: 0o600 });
    const keyFile = join(pki.dir, 'root-key.json');
    ensureLocalRootKey(keyFile);
    const config = parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: true, host: '127.0.0.1', port: 0, tokenFile },
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
      store: { kind: 'sqlite', path: join(pki.dir, 'kmip.db') },
      wrap: { kind: 'local', keyFile },
    });
    const lines: string[] = [];
    const waiting = new WaitingAdminServer(config.admin, createLoggers({ level: 'info' }, { write: (l: string) => void lines.push(l) }).logger);
    const port = await waiting.start();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.text()).toBe('the server is waiting for its database (see /readyz); the status page is served once it has started\n');
    } finally {
      await waiting.close();
    }
  });
});
