/** Starts the real server in-process on 127.0.0.1 with free ports, a temp data folder and captured logs. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../server/app.js';
import { parseConfig } from '../../server/config/load.js';
import type { ServerConfigInput } from '../../server/config/schema.js';
import { createLoggers } from '../../server/log/logger.js';
import { ensureLocalRootKey } from '../../server/wrap/local.js';
import { TestKmipClient } from './kmip-client.js';
import { noteOutput, noteSecret } from './secrets-ledger.js';
import { createTestPki, type TestClientCert, type TestPki } from './pki.js';

export interface TestServerOptions {
  readonly pki?: TestPki;
  readonly limits?: Record<string, number>;
  readonly identityCacheSeconds?: number;
  readonly config?: Partial<ServerConfigInput>;
  readonly now?: () => number;
  /** Reuse a data folder (and its root key) from an earlier server, e.g. to test restarts. */
  readonly dir?: string;
}

export interface TestServer {
  readonly app: App;
  /** The management API's bearer token file. */
  readonly tokenFile: string;
  readonly port: number;
  readonly adminPort: number;
  readonly pki: TestPki;
  readonly dir: string;
  /** Every log line the server wrote, as text. */
  readonly logs: string[];
  /** Creates a tenant with one pinned client certificate. */
  tenant(name: string): Promise<{ id: string; cert: TestClientCert }>;
  /** Pins another certificate to an existing tenant. */
  pin(tenantId: string, cert: TestClientCert): Promise<void>;
  connect(cert?: TestClientCert, extra?: Parameters<typeof TestKmipClient.connect>[1]): Promise<TestKmipClient>;
  /** One management-API call with the bearer token; `json` is undefined when the body is not JSON. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Stops the server; the data folder is deleted unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const pki = options.pki ?? createTestPki();
  const logs: string[] = [];
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'kmip-server-'));
  const keyFile = join(dir, 'root-key.json');
  ensureLocalRootKey(keyFile);
  for (const key of Object.values((JSON.parse(readFileSync(keyFile, 'utf8')) as { versions: Record<string, string> }).versions)) noteSecret('root key', key);
  const stdout = { write: (line: string) => void logs.push(line) };
  const tokenFile = join(dir, 'admin-token');
  const token = `${randomUUID()}-${randomUUID()}`;
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  noteSecret('management token', token);
  const config = parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { enabled: true, host: '127.0.0.1', port: 0, tokenFile },
    tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
    store: { kind: 'sqlite', path: join(dir, 'kmip.db') },
    wrap: { kind: 'local', keyFile },
    identity: { cacheSeconds: options.identityCacheSeconds ?? 2, maxCacheEntries: 1000 },
    limits: options.limits ?? {},
    log: { level: 'debug' },
    ...options.config,
  });
  const loggers = createLoggers({ level: 'debug' }, stdout);
  const app = await createApp({ config, loggers, ...(options.now ? { now: options.now } : {}) });
  const { kmipPort, adminPort } = await app.start();
  const clients: TestKmipClient[] = [];
  const pin = async (tenantId: string, cert: TestClientCert): Promise<void> => {
    await app.store.addClientCert({ fingerprint: cert.fingerprint, tenantId, label: cert.subject, kind: 'pin', subject: null, pem: cert.certificatePem, createdAt: Date.now() });
  };
  return {
    app,
    tokenFile,
    port: kmipPort,
    adminPort: adminPort!,
    pki,
    dir,
    logs,
    async tenant(name) {
      const id = randomUUID();
      await app.store.createTenant({ id, name, createdAt: Date.now() });
      const cert = pki.client(`${name}-client-${id.slice(0, 8)}`);
      await pin(id, cert);
      return { id, cert };
    },
    pin,
    async connect(cert, extra = {}) {
      const client = await TestKmipClient.connect(kmipPort, {
        ca: pki.ca.certificatePem,
        ...(cert ? { cert: cert.certificatePem, key: cert.privateKeyPem } : {}),
        ...extra,
      });
      clients.push(client);
      return client;
    },
    async api(method, path, body) {
      // Read per call, so a test that rotates the token file is answered with the new one.
      const bearer = readFileSync(tokenFile, 'utf8').trim();
      const res = await fetch(`http://127.0.0.1:${adminPort!}${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json().catch(() => undefined) };
    },
    async close(closeOptions = {}) {
      await Promise.all(clients.map((c) => c.close()));
      await app.stop();
      noteOutput(`server logs (${dir})`, logs.join(''));
      noteOutput('metrics', app.metrics.registry.render());
      if (!closeOptions.keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}
