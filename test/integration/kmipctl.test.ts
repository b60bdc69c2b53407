/**
 * kmipctl end to end, against running servers (SQLite and PostgreSQL): tenants, certificates that
 * reach exactly their tenant's keys and are cut off at once, keys, teardown preflight, refusals.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { assertBuilt } from '../support/process.js';
import { kmipctl } from '../support/kmipctl.js';
import { freshDatabase, postgresSkipReason } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { vcenter, HOST_OWNER_TAGS } from '../support/vcenter.js';
import { decodeResponse } from '../support/kmip-client.js';

const pgSkip = await postgresSkipReason();
const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };

for (const [label, skip] of [
  ['SQLite', undefined],
  ['PostgreSQL', pgSkip],
] as const) {
  describe.skipIf(skip)(`kmipctl against a server on ${label}`, () => {
    let server: TestServer;
    let drop: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      assertBuilt();
      if (label === 'PostgreSQL') {
        const db = await freshDatabase();
        drop = db.drop;
        server = await startTestServer({ config: { store: { kind: 'postgres', url: db.url } }, identityCacheSeconds: 60 });
      } else {
        server = await startTestServer({ identityCacheSeconds: 60 });
      }
    });
    afterAll(async () => {
      await server?.close();
      await drop?.();
    });

    it('refuses calls without the right token', async () => {
      const res = await fetch(`http://127.0.0.1:${server.adminPort}/v1/tenants`);
      expect(res.status).toBe(401);
      const wrong = await fetch(`http://127.0.0.1:${server.adminPort}/v1/tenants`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${server.adminPort}/healthz`)).status).toBe(200);
    });

    it('registers a vCenter certificate that reaches exactly its tenant’s keys, and cuts it off at once on removal', async () => {
      expect((await kmipctl(server, 'tenant', 'add', 'vc-a')).code).toBe(0);
      expect((await kmipctl(server, 'tenant', 'add', 'vc-b')).code).toBe(0);
      expect((await kmipctl(server, 'tenant', 'add', 'vc-a')).code).toBe(3);
      const certA = server.pki.client('vcenter-a', { extendedKeyUsage: [] });
      const certB = server.pki.client('vcenter-b');
      const added = await kmipctl(server, '--json', 'cert', 'add', '--tenant', 'vc-a', '--pem', certA.certFile, '--name', 'vcenter-a.example');
      expect(added.code).toBe(0);
      expect(added.json.fingerprint).toBe(certA.fingerprint);
      expect((await kmipctl(server, 'cert', 'add', '--tenant', 'vc-b', '--pem', certA.certFile)).code).toBe(3);
      expect((await kmipctl(server, 'cert', 'add', '--tenant', 'vc-b', '--pem', certB.certFile)).code).toBe(0);

      const a = await server.connect(certA);
      const b = await server.connect(certB);
      const keyA = (await a.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
      expect((await b.request([{ operation: Operation.Get, payload: { uniqueIdentifier: keyA } }])).items[0]!.resultReason).toBe(ResultReason.ItemNotFound);
      expect((await a.ok(Operation.Get, { uniqueIdentifier: keyA }))['uniqueIdentifier']).toBe(keyA);

      const listed = await kmipctl(server, '--json', 'cert', 'list', '--tenant', 'vc-a');
      expect(listed.json.certificates.map((c: { fingerprint: string }) => c.fingerprint)).toEqual([certA.fingerprint]);
      const removed = await kmipctl(server, '--json', 'cert', 'remove', certA.fingerprint);
      expect(removed.code).toBe(0);
      expect(removed.json.connectionsClosed).toBe(1);
      await expect(a.request([{ operation: Operation.DiscoverVersions }])).rejects.toThrow(/closed/);
      const again = await server.connect(certA);
      expect((await again.request([{ operation: Operation.Get, payload: { uniqueIdentifier: keyA } }])).items[0]!.resultReason).toBe(ResultReason.PermissionDenied);
    });

    it('lists keys with vCenter’s tags and last Get; revokes and destroys them by the KMIP rules', async () => {
      await kmipctl(server, 'tenant', 'add', 'vc-keys');
      const cert = server.pki.client('vcenter-keys');
      await kmipctl(server, 'cert', 'add', '--tenant', 'vc-keys', '--pem', cert.certFile);
      const client = await server.connect(cert);
      const uid = (await client.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
      decodeResponse(await client.send(vcenter.addAttributes(uid, HOST_OWNER_TAGS)), 11);
      await client.ok(Operation.Get, { uniqueIdentifier: uid });
      await client.ok(Operation.Activate, { uniqueIdentifier: uid });
      const list = await kmipctl(server, '--json', 'keys', 'list', '--tenant', 'vc-keys');
      expect(list.json.keys).toEqual([
        expect.objectContaining({ id: uid, tenant: 'vc-keys', state: 'Active', component: 'ESXi Server', name: '172.16.220.132', identifier: HOST_OWNER_TAGS[0][1], lastGet: expect.any(String) }),
      ]);
      const human = await kmipctl(server, 'keys', 'list', '--tenant', 'vc-keys', '--state', 'active');
      expect(human.stdout).toMatch(/ESXi Server/);
      const destroyActive = await kmipctl(server, 'keys', 'destroy', uid, '--tenant', 'vc-keys');
      expect(destroyActive.code).toBe(3);
      expect(destroyActive.stderr).toMatch(/PermissionDenied|WrongKeyLifecycleState/);
      expect((await kmipctl(server, 'keys', 'revoke', uid, '--tenant', 'vc-keys')).code).toBe(0);
      expect((await kmipctl(server, 'keys', 'destroy', uid, '--tenant', 'vc-keys')).code).toBe(0);
      const after = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
      expect(after.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
    });

    it('preflight-destroy refuses (exit 3) while keys are live or recently used, and passes once they are revoked and destroyed', async () => {
      await kmipctl(server, 'tenant', 'add', 'vc-teardown');
      const cert = server.pki.client('vcenter-teardown');
      await kmipctl(server, 'cert', 'add', '--tenant', 'vc-teardown', '--pem', cert.certFile);
      const client = await server.connect(cert);
      const uid = (await client.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
      const refused = await kmipctl(server, '--json', 'preflight-destroy');
      expect(refused.code).toBe(3);
      expect(refused.json.blockers.map((b: { id: string }) => b.id)).toContain(uid);
      const human = await kmipctl(server, 'preflight-destroy');
      expect(human.stdout).toMatch(/NOT safe to tear down/);
      // Removing the tenant is refused too, and changes nothing.
      const removal = await kmipctl(server, 'tenant', 'remove', 'vc-teardown');
      expect(removal.code).toBe(3);
      expect((await client.ok(Operation.Get, { uniqueIdentifier: uid }))['uniqueIdentifier']).toBe(uid);
      expect((await kmipctl(server, 'tenant', 'remove', 'vc-teardown', '--force', '--confirm', 'wrong-name')).code).toBe(3);
      // Clean every tenant up the KMIP way: destroy what each holds.
      for (const tenant of (await kmipctl(server, '--json', 'tenant', 'list')).json.tenants as Array<{ name: string }>) {
        const keys = (await kmipctl(server, '--json', 'keys', 'list', '--tenant', tenant.name)).json.keys as Array<{ id: string; state: string }>;
        for (const k of keys.filter((k) => k.state === 'Active')) await kmipctl(server, 'keys', 'revoke', k.id, '--tenant', tenant.name);
        for (const k of keys.filter((k) => !k.state.startsWith('Destroyed'))) await kmipctl(server, 'keys', 'destroy', k.id, '--tenant', tenant.name);
      }
      const safe = await kmipctl(server, '--json', 'preflight-destroy');
      expect(safe.json.blockers).toEqual([]);
      expect(safe.code).toBe(0);
      expect((await kmipctl(server, 'tenant', 'remove', 'vc-teardown')).code).toBe(0);
      const gone = await client.request([{ operation: Operation.DiscoverVersions }]).catch(() => undefined);
      expect(gone?.items[0]?.resultStatus ?? ResultStatus.OperationFailed).toBe(ResultStatus.OperationFailed);
    });

    it('writes an audit line for every management action, and never the token', () => {
      const token = readFileSync(server.tokenFile, 'utf8').trim();
      const audits = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['audit'] === true && typeof l['admin'] === 'string');
      for (const action of ['tenant add', 'cert add', 'cert remove', 'key revoke', 'key destroy', 'preflight-destroy', 'tenant remove', 'denied']) {
        expect(audits.some((a) => a['admin'] === action)).toBe(true);
      }
      expect(server.logs.join('\n')).not.toContain(token);
    });
  });
}
