/**
 * Our server as production runs it (`--config`, Key Protect root key), against the local fake of
 * IAM and Key Protect with a fixed latency per call. The tenant and the client certificate are
 * registered through the management API, as an operator would with kmipctl.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevPki } from '../server/pki/dev-pki.js';
import { FakeKeyProtect } from '../test/support/fake-keyprotect.js';
import { freePort } from '../test/support/free-port.js';
import { oneProcessServer, profileFlags, type ServerUnderTest } from './servers.js';

const SERVER_MAIN = fileURLToPath(new URL('../server/main.js', import.meta.url));

async function waitReady(adminUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the server at ${adminUrl} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function manage(adminUrl: string, token: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(`${adminUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
}

export async function startOursWithKeyProtect(options: { latencyMs: number; label: string }): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-bench-kp-'));
  const fake = await new FakeKeyProtect().start();
  fake.keepLog = false;
  fake.latencyMs = options.latencyMs;
  const apiKey = randomBytes(24).toString('base64url');
  fake.addApiKey(apiKey);
  const instanceId = fake.addInstance();
  const rootKeyId = fake.createRootKey(instanceId);

  const { paths } = ensureDevPki(dir);
  const token = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'api-key'), apiKey, { mode: 0o600 });
  writeFileSync(join(dir, 'admin-token'), token, { mode: 0o600 });
  const [kmipPort, adminPort] = [await freePort(), await freePort()];
  const config = {
    listen: { host: '127.0.0.1', port: kmipPort },
    admin: { host: '127.0.0.1', port: adminPort, tokenFile: join(dir, 'admin-token') },
    tls: { certFile: paths.serverCert, keyFile: paths.serverKey, clientCaFile: paths.caCert },
    store: { kind: 'sqlite', path: join(dir, 'kmip.db') },
    wrap: { kind: 'keyprotect', region: 'us-south', instanceId, rootKeyId, endpoint: fake.url, iamEndpoint: fake.url, apiKeyFile: join(dir, 'api-key') },
    log: { level: 'info' },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const log = openSync(join(dir, 'server.log'), 'a');
  const child = spawn(process.execPath, [...profileFlags(), SERVER_MAIN, '--config', join(dir, 'config.json')], { stdio: ['ignore', log, log] });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  try {
    await waitReady(adminUrl, 60_000);
    await manage(adminUrl, token, '/v1/tenants', { name: 'bench' });
    await manage(adminUrl, token, '/v1/certs', { tenant: 'bench', pem: readFileSync(paths.clientCert, 'utf8') });
  } catch (err) {
    child.kill('SIGKILL');
    await fake.stop();
    throw new Error(`${(err as Error).message}\n${readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000)}`);
  }
  return oneProcessServer(options.label, kmipPort, child, paths, dir, { stopAlso: () => fake.stop() });
}
