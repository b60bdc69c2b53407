/**
 * Both dependencies fail at once under load: Key Protect answers 503 and drops connections while
 * every PostgreSQL connection of the server is killed again and again. Every request succeeds or
 * fails cleanly (Cryptographic Failure or General Failure, never a hang or a crash), readiness
 * reports it, the server heals by itself, and every acknowledged Create is there afterwards.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { FakeKeyProtect } from '../support/fake-keyprotect.js';
import { createGetLoad } from '../support/load.js';
import { freshDatabase, PG_ADMIN_URL, postgresSkipReason } from '../support/postgres.js';
import type { TestClientCert } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';

const pgSkip = await postgresSkipReason();

describe.skipIf(pgSkip)('Key Protect and PostgreSQL outages together, under load', () => {
  let fake: FakeKeyProtect;
  let server: TestServer;
  let cert: TestClientCert;
  let db: { url: string; drop: () => Promise<void> };

  beforeAll(async () => {
    fake = await new FakeKeyProtect().start();
    fake.addApiKey('combined-outage-key');
    const instanceId = fake.addInstance();
    const rootKeyId = fake.createRootKey(instanceId);
    const secrets = mkdtempSync(join(tmpdir(), 'kmip-outage-'));
    writeFileSync(join(secrets, 'api-key'), 'combined-outage-key\n', { mode: 0o600 });
    db = await freshDatabase('kmip_outage');
    server = await startTestServer({
      config: {
        store: { kind: 'postgres', url: db.url, statementTimeoutMs: 2000, connectTimeoutMs: 1000 },
        wrap: { kind: 'keyprotect', region: 'us-south', instanceId, rootKeyId, endpoint: fake.url, iamEndpoint: fake.url, apiKeyFile: join(secrets, 'api-key'), cacheSeconds: 1, requestTimeoutMs: 1000, maxAttempts: 2 },
      },
      limits: { requestTimeoutMs: 10_000 },
    });
    ({ cert } = await server.tenant('outage'));
  });
  afterAll(async () => {
    await server?.close();
    await fake?.stop();
    await db?.drop();
  });

  it('fails cleanly while both are down, heals by itself, and loses nothing acknowledged', async () => {
    const name = new URL(db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    let stop = false;
    const load = createGetLoad({
      ports: () => [server.port],
      tls: { ca: server.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem },
      workers: 6,
      until: () => stop,
      requestTimeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 800));
    const readiness: number[] = [];
    const killSessions = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        // Kill the server's database sessions over and over: the pool must notice and reconnect.
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        readiness.push((await fetch(`http://127.0.0.1:${server.adminPort}/readyz`)).status);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // The database alone, then both together, then Key Protect alone (503s, then dropped connections).
    await killSessions(1500);
    fake.fault = { kind: 503, remaining: Infinity, kpOnly: true };
    await killSessions(1500);
    fake.fault = { kind: 'reset', remaining: Infinity, kpOnly: true };
    await new Promise((r) => setTimeout(r, 1000));
    fake.fault = undefined;
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    const result = await load;
    await admin.end();

    const reasons = [...result.failures.keys()];
    console.log(`combined outage: attempted ${result.attempted}, acknowledged ${result.acknowledged.length}, failures ${JSON.stringify(Object.fromEntries(result.failures))}, reconnects ${result.reconnects}`);
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.every((r) => r === ResultReason.CryptographicFailure || r === ResultReason.GeneralFailure)).toBe(true);
    expect(readiness).toContain(503);
    // Healed: ready again and serving.
    expect((await fetch(`http://127.0.0.1:${server.adminPort}/readyz`)).status).toBe(200);
    const client = await server.connect(cert);
    let present = 0;
    for (const uid of result.acknowledged) {
      const r = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
      if (r.items[0]!.resultStatus === ResultStatus.Success) present++;
    }
    await client.close();
    expect(result.acknowledged.length).toBeGreaterThan(10);
    expect(present).toBe(result.acknowledged.length);
  }, 60_000);
});
