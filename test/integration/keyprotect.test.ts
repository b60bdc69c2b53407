/**
 * The server with Key Protect as its root-key provider (the local fake, production client): the
 * customer's root key controls key release, rotation is absorbed, outages fail cleanly and heal.
 * Then the same as a VPC node runs it: `kmip-server --config` authenticating as the instance's trusted
 * profile through the (fake) instance metadata service, with no API key anywhere.
 */
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import type { StructureItem } from '../../server/ttlv/index.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { FakeKeyProtect } from '../support/fake-keyprotect.js';
import { FakeMetadataService } from '../support/fake-metadata-service.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { createGetLoad } from '../support/load.js';
import { createTestPki, type TestClientCert } from '../support/pki.js';
import { assertBuilt, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';
import { noteOutput } from '../support/secrets-ledger.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { kmipctl } from '../support/kmipctl.js';

const API_KEY = 'integration-kp-api-key-91c2e7';
let fake: FakeKeyProtect;
let server: TestServer;
let cert: TestClientCert;
let client: TestKmipClient;
let rootKeyId: string;

const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };

beforeAll(async () => {
  fake = await new FakeKeyProtect().start();
  fake.addApiKey(API_KEY);
  const instanceId = fake.addInstance();
  rootKeyId = fake.createRootKey(instanceId);
  const secrets = mkdtempSync(join(tmpdir(), 'kmip-kp-'));
  writeFileSync(join(secrets, 'api-key'), `${API_KEY}\n`, { mode: 0o600 });
  server = await startTestServer({
    config: {
      wrap: { kind: 'keyprotect', region: 'us-south', instanceId, rootKeyId, endpoint: fake.url, iamEndpoint: fake.url, apiKeyFile: join(secrets, 'api-key'), cacheSeconds: 1, requestTimeoutMs: 1000, maxAttempts: 3 },
    },
    limits: { requestTimeoutMs: 10_000 },
  });
  ({ cert } = await server.tenant('kp'));
  client = await server.connect(cert);
});
afterAll(async () => {
  await server?.close();
  await fake?.stop();
});

const create = async () => (await client.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
const get = (uid: string) => client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]).then((r) => r.items[0]!);
const keyBytes = (item: { payload?: Record<string, unknown> | undefined }) =>
  Buffer.from((((item.payload!['symmetricKey'] as StructureItem).value[0] as StructureItem).value[1] as StructureItem).value[0]!.value as Uint8Array).toString('hex');
const ready = async () => (await fetch(`http://127.0.0.1:${server.adminPort}/readyz`)).status;

describe('Key Protect as the root-key provider', () => {
  it('wraps every key under the root key with its identifier as AAD, and serves it back', async () => {
    const uid = await create();
    const wrapCall = fake.requests.filter((r) => r.path.endsWith('/actions/wrap')).at(-1)!;
    expect(JSON.parse(wrapCall.body).aad).toEqual([uid]);
    const record = await server.app.store.getObject((await server.app.store.getTenantByName('kp'))!.id, uid);
    expect(record!.material).toMatchObject({ wrapKind: 'keyprotect', rootKeyId, rootKeyVersion: fake.currentVersion(rootKeyId) });
    expect((await get(uid)).resultStatus).toBe(ResultStatus.Success);
    expect(await ready()).toBe(200);
  });

  it('absorbs a root-key rotation: Get still works and the record moves to the new version off the request path', async () => {
    const uid = await create();
    const before = keyBytes(await get(uid));
    const newest = fake.rotate(rootKeyId);
    await new Promise((r) => setTimeout(r, 1100)); // past the unwrap cache
    expect(keyBytes(await get(uid))).toBe(before);
    const tenant = (await server.app.store.getTenantByName('kp'))!.id;
    let version = '';
    for (let i = 0; i < 50 && version !== newest; i++) {
      version = (await server.app.store.getObject(tenant, uid))!.material!.rootKeyVersion;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(version).toBe(newest);
  });

  it('stops releasing keys once the customer disables the root key (within the 1 s cache bound) and resumes when re-enabled', async () => {
    const uid = await create();
    expect((await get(uid)).resultStatus).toBe(ResultStatus.Success);
    fake.setState(rootKeyId, 2);
    const disabledAt = Date.now();
    // New keys fail at once: wrapping needs the root key every time.
    const created = await client.request([{ operation: Operation.Create, payload: createPayload }]);
    expect(created.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.CryptographicFailure });
    let refusedAt = 0;
    while (!refusedAt) {
      const r = await get(uid);
      if (r.resultStatus === ResultStatus.OperationFailed) {
        expect(r.resultReason).toBe(ResultReason.CryptographicFailure);
        expect(r.resultMessage).toBe('root key is not usable');
        refusedAt = Date.now();
      }
      expect(Date.now() - disabledAt).toBeLessThan(3000);
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(refusedAt - disabledAt).toBeLessThanOrEqual(1500);
    expect(await ready()).toBe(503);
    fake.setState(rootKeyId, 1);
    expect((await get(uid)).resultStatus).toBe(ResultStatus.Success);
    expect(await ready()).toBe(200);
  });

  it('kmipctl rewrap moves every object to the current root-key version, is idempotent, and resumes from a cursor', async () => {
    for (let i = 0; i < 12; i++) await create();
    const newest = fake.rotate(rootKeyId);
    const tenant = (await server.app.store.getTenantByName('kp'))!.id;
    const versions = async () => {
      const all = await server.app.store.listObjects({ tenantId: tenant, limit: 1000 });
      return Promise.all(all.map(async (o) => (await server.app.store.getObject(tenant, o.uid))!.material?.rootKeyVersion));
    };
    expect((await versions()).filter((v) => v !== newest).length).toBeGreaterThanOrEqual(12);

    const first = await kmipctl(server, '--json', 'rewrap');
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as { done?: number; total?: number });
    // Progress comes as JSON lines, then the result.
    expect(lines.some((l) => typeof l.done === 'number' && typeof l.total === 'number')).toBe(true);
    expect(first.json).toMatchObject({ version: newest, failed: 0 });
    expect(first.json.rewrapped).toBeGreaterThanOrEqual(12);
    expect((await versions()).every((v) => v === undefined || v === newest)).toBe(true);
    for (const uid of (await server.app.store.listObjects({ tenantId: tenant, limit: 3 })).map((o) => o.uid)) expect((await get(uid)).resultStatus).toBe(ResultStatus.Success);

    const again = await kmipctl(server, '--json', 'rewrap');
    expect(again.json).toMatchObject({ rewrapped: 0, failed: 0 });
    // Without --json stdout holds only the summary; progress goes to stderr.
    const plain = await kmipctl(server, 'rewrap');
    expect(plain.stdout.trim()).toMatch(/^rewrapped 0, already current \d+, failed 0 \(root key version .+\)$/);
    expect(plain.stderr).toMatch(/progress \d+\/\d+/);

    // A stopped run continues from its cursor: only objects after it are visited.
    const newer = fake.rotate(rootKeyId);
    const all = (await server.app.store.listObjects({ tenantId: tenant, limit: 1000 })).map((o) => o.uid);
    const cursor = all[all.length - 5]!;
    const resumed = await kmipctl(server, '--json', 'rewrap', '--after', cursor);
    expect(resumed.json).toMatchObject({ version: newer, done: 4 });
    const rest = await kmipctl(server, '--json', 'rewrap');
    expect(rest.json.rewrapped).toBe(rest.json.done - 4 - (await server.app.store.countObjectsByState()).filter((c) => c.state === 5 || c.state === 6).reduce((a, c) => a + c.count, 0));
  });

  it('keeps working through a token expiry (one 401, one refresh)', async () => {
    const fetched = fake.calls.token;
    fake.expireTokens();
    await create();
    expect(fake.calls.token).toBe(fetched + 1);
  });

  it('an outage under load: for 5 s every request fails cleanly or succeeds, none hangs, and service returns by itself', async () => {
    let stop = false;
    const load = createGetLoad({
      ports: () => [server.port],
      tls: { ca: server.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem },
      workers: 6,
      until: () => stop,
      requestTimeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 700));
    fake.fault = { kind: 503, remaining: Infinity, kpOnly: true };
    await new Promise((r) => setTimeout(r, 2500));
    fake.fault = { kind: 'reset', remaining: Infinity, kpOnly: true };
    await new Promise((r) => setTimeout(r, 2500));
    fake.fault = undefined;
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    const result = await load;
    expect([...result.failures.keys()].every((reason) => reason === ResultReason.CryptographicFailure)).toBe(true);
    expect([...result.failures.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(result.acknowledged.length).toBeGreaterThan(10);
    for (const uid of result.acknowledged.slice(-20)) expect((await get(uid)).resultStatus).toBe(ResultStatus.Success);
  });

  it('a revoked API key: once the token lapses, requests fail with a fixed message and readiness says so', async () => {
    fake.revokeApiKey(API_KEY);
    fake.expireTokens();
    const r = await client.request([{ operation: Operation.Create, payload: createPayload }]);
    expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.CryptographicFailure, resultMessage: 'root key provider refused access' });
    expect(await ready()).toBe(503);
    fake.addApiKey(API_KEY);
    expect((await client.request([{ operation: Operation.Create, payload: createPayload }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
  });

  it('never logs the API key or a token, and logs the correlation-id of failed calls', () => {
    const logs = server.logs.join('\n');
    expect(logs).not.toContain(API_KEY);
    const tokens = new Set(fake.requests.map((r) => String(r.headers['authorization'] ?? '').slice(7)).filter((t) => t.length > 20));
    expect(tokens.size).toBeGreaterThan(1);
    for (const t of tokens) {
      expect(logs).not.toContain(t);
      expect(logs).not.toContain(t.split('.')[1]!);
    }
    const failed = server.logs.map((l) => JSON.parse(l) as { msg: string; correlationId?: string }).filter((l) => l.msg === 'key protect call failed');
    expect(failed.length).toBeGreaterThan(0);
    const sent = new Set(fake.requests.map((r) => r.headers['correlation-id']));
    for (const f of failed.filter((l) => l.correlationId)) expect(sent.has(f.correlationId)).toBe(true);
  });
});

describe('Key Protect with the VPC instance\'s trusted profile: kmip-server --config, no API key', () => {
  let kp: FakeKeyProtect;
  let imds: FakeMetadataService;
  let node: RunningServer;
  let tp: TestKmipClient;
  let profileId: string;
  const dir = mkdtempSync(join(tmpdir(), 'kmip-tp-'));
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${node.adminPort}/readyz`);
    const body = await res.text();
    noteOutput('readyz (trusted profile node)', body);
    return { status: res.status, rootKey: (JSON.parse(body) as { checks: Record<string, string> }).checks['rootKey'] };
  };
  const tpCreate = () => tp.request([{ operation: Operation.Create, payload: createPayload }]).then((r) => r.items[0]!);

  beforeAll(async () => {
    assertBuilt();
    kp = await new FakeKeyProtect().start();
    imds = await new FakeMetadataService(kp).start();
    profileId = imds.linkProfile();
    const instanceId = kp.addInstance();
    const rootKey = kp.createRootKey(instanceId);
    const pki = createTestPki();
    const cert = pki.client('tp-node-client');
    // The tenant and its client certificate, as `kmipctl register` leaves them in the database.
    const store = new SqliteStore({ path: join(dir, 'kmip.db') });
    const tenantId = randomUUID();
    await store.createTenant({ id: tenantId, name: 'tp', createdAt: Date.now() });
    await store.addClientCert({ fingerprint: cert.fingerprint, tenantId, label: cert.subject, kind: 'pin', subject: null, pem: cert.certificatePem, createdAt: Date.now() });
    await store.close();
    const file = join(dir, 'server.json');
    writeFileSync(
      file,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
        store: { kind: 'sqlite', path: join(dir, 'kmip.db') },
        wrap: {
          kind: 'keyprotect',
          region: 'us-south',
          instanceId,
          rootKeyId: rootKey,
          endpoint: kp.url,
          auth: { kind: 'trustedProfile', profileId, metadataEndpoint: imds.url },
          cacheSeconds: 0,
          requestTimeoutMs: 1000,
          maxAttempts: 3,
        },
        log: { level: 'debug' },
      }),
    );
    node = await startServerProcess(process.execPath, [SERVER_MAIN, '--config', file], undefined, 60_000, /"kmip":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/);
    tp = await TestKmipClient.connect(node.kmipPort, { ca: pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem });
  });
  afterAll(async () => {
    await tp?.close();
    await node?.stop('SIGTERM');
    await imds?.stop().catch(() => undefined);
    await kp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves Create and Get with keys wrapped under the root key, with the profile\'s IAM token from the metadata service', async () => {
    const uid = (await tp.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
    const got = await tp.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
    expect(got.items[0]!.resultStatus).toBe(ResultStatus.Success);
    expect(JSON.parse(kp.requests.find((r) => r.path.endsWith('/actions/wrap'))!.body).aad).toEqual([uid]);
    expect((await readyz()).status).toBe(200);
    // One identity token, one IAM token, reused; no API key exchange with IAM at all.
    expect(imds.calls).toEqual({ identityToken: 1, iamToken: 1 });
    expect(kp.calls.token).toBe(0);
    expect(imds.requests.find((r) => r.method === 'POST')!.body).toBe(JSON.stringify({ trusted_profile: { id: profileId } }));
    for (const r of kp.requests) expect(r.headers['authorization']).toBe(`Bearer ${imds.issued[1]}`);
  });

  it('a metadata service that is down: once the token lapses, requests fail with Cryptographic Failure and /readyz says so; it heals by itself', async () => {
    await imds.stop();
    kp.expireTokens();
    expect(await tpCreate()).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.CryptographicFailure, resultMessage: 'root key is not usable' });
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.rootKey).toContain(`WRAP_ERR_UNAVAILABLE: instance metadata service at ${imds.url}: request failed (ECONNREFUSED)`);
    await imds.start();
    expect((await tpCreate()).resultStatus).toBe(ResultStatus.Success);
    expect((await readyz()).status).toBe(200);
  });

  it('a profile no longer linked to the instance: a fixed refusal, and /readyz names the profile; linking it again restores service', async () => {
    imds.unlinkProfile(profileId);
    kp.expireTokens();
    expect(await tpCreate()).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.CryptographicFailure, resultMessage: 'root key provider refused access' });
    const refused = await readyz();
    expect(refused.status).toBe(503);
    expect(refused.rootKey).toMatch(new RegExp(`^WRAP_ERR_AUTH: trusted profile ${profileId} is not linked to this virtual server instance \\(400 profile_not_linked`));
    imds.linkProfile(profileId);
    expect((await tpCreate()).resultStatus).toBe(ResultStatus.Success);
    expect((await readyz()).status).toBe(200);
  });

  it('never logs a token the metadata service issued (the suite-wide scan checks them too)', () => {
    const logs = node.stdout.join('') + node.stderr.join('');
    expect(logs).toContain('"wrap":"keyprotect"');
    expect(imds.issued.length).toBeGreaterThanOrEqual(6);
    for (const token of imds.issued) {
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.split('.')[1]!);
    }
  });
});
