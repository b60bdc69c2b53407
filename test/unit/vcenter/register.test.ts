/**
 * The idempotent register algorithm (reference §C.3) against the fake vCenter and the real KMIP
 * server, over both transports (VI/JSON on a fake 8.0.2, SOAP on a fake 7.0.3): the same matrix must
 * hold on each.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { VcenterError } from '../../../server/vcenter/errors.js';
import { registerProvider, type RegisterInput } from '../../../server/vcenter/register.js';
import { VcenterSession } from '../../../server/vcenter/session.js';
import { makeCsr } from '../../support/fake-vcenter-crypto.js';
import { startVcenterRig, type VcenterRig } from '../../support/fake-vcenter-harness.js';
import { FakeVcenter } from '../../support/fake-vcenter.js';

const VERIFY = { attempts: 3, delayMs: 200 };

for (const api of ['json', 'soap'] as const) {
  describe(`vcenter register over ${api === 'json' ? 'VI/JSON (8.0.2)' : 'SOAP (7.0.3)'}`, () => {
    let rig: VcenterRig;
    let fake: FakeVcenter;
    let sessions: VcenterSession[] = [];
    let n = 0;
    let tenant = '';

    beforeAll(async () => {
      rig = await startVcenterRig();
    });
    afterAll(async () => rig?.close());
    afterEach(async () => {
      for (const s of sessions) await s.close();
      sessions = [];
      await fake?.close();
    });

    async function setup(): Promise<void> {
      fake = await FakeVcenter.start({ version: api === 'json' ? '8.0.2' : '7.0.3' });
      tenant = `vc-${api}-${++n}`;
      await rig.addTenant(tenant);
    }

    async function session(): Promise<VcenterSession> {
      const s = await VcenterSession.open({ url: fake.url, user: fake.user, password: fake.password, ca: fake.ca.certificatePem, api });
      expect(s.transport.kind).toBe(api);
      sessions.push(s);
      return s;
    }

    function input(provider: string, extra: Partial<RegisterInput> = {}): RegisterInput {
      return { spec: rig.spec(provider), tenant, signingCa: rig.signingCa, registry: rig.registry(), verify: VERIFY, ...extra };
    }

    it('fresh install: registers the servers, trusts both ways, and vCenter reports green', async () => {
      await setup();
      const s = await session();
      const registry = rig.registry();
      const r = await registerProvider(s, input('kp-fresh', { spec: rig.spec('kp-fresh', ['kp-fresh-a', 'kp-fresh-b']), registry }));
      expect(r.changed).toBe(true);
      expect(r.actions.map((a) => a.action)).toEqual(['register-server', 'register-server', 'trust-server-ca', 'generate-csr', 'install-client-cert', 'register-client-cert']);
      expect(r.servers.map((x) => [x.name, x.status, x.clientTrustServer, x.serverTrustClient])).toEqual([
        ['kp-fresh-a', 'green', true, true],
        ['kp-fresh-b', 'green', true, true],
      ]);
      expect(registry.registered).toBe(1);
      // What vCenter presents is ours: issued by the CA for vCenter's own key, pinned to the tenant.
      const id = fake.clientIdentity('kp-fresh')!;
      expect(new X509Certificate(id.certificatePem).checkIssued(new X509Certificate(rig.kmip.pki.ca.certificatePem))).toBe(true);
      expect(r.clientCertificate.fingerprint).toBe(new X509Certificate(id.certificatePem).fingerprint256.replace(/:/g, '').toLowerCase());
      expect(fake.crypto.providers.get('kp-fresh')!.trustedServerPems).toEqual([rig.kmip.pki.ca.certificatePem]);
    });

    it('a second run changes nothing: no mutating vCenter call, no certificate registered', async () => {
      await setup();
      await registerProvider(await session(), input('kp-again', { makeDefault: true }));
      const from = fake.calls.length;
      const registry = rig.registry();
      const r = await registerProvider(await session(), input('kp-again', { makeDefault: true, registry }));
      expect(r.changed).toBe(false);
      expect(r.actions).toEqual([]);
      expect(r.default).toBe(true);
      expect(fake.mutatingCalls(from)).toEqual([]);
      expect(registry.registered).toBe(0);
      // It still looked: the status oracle and the certificate vCenter sees were read.
      expect(fake.calls.slice(from).map((c) => c.method)).toEqual(expect.arrayContaining(['RetrieveKmipServersStatus_Task', 'RetrieveKmipServerCert', 'RetrieveClientCert']));
    });

    it('an address change is an update of the same server, nothing else', async () => {
      await setup();
      await registerProvider(await session(), input('kp-move'));
      const from = fake.calls.length;
      const r = await registerProvider(await session(), input('kp-move', { spec: rig.spec('kp-move', ['kp-move-1'], 'localhost') }));
      expect(r.actions.map((a) => a.action)).toEqual(['update-server']);
      expect(fake.mutatingCalls(from)).toEqual(['UpdateKmipServer']);
      expect([...fake.crypto.providers.get('kp-move')!.servers.values()]).toEqual([{ name: 'kp-move-1', address: 'localhost', port: rig.kmip.port }]);
      expect(r.servers[0]).toMatchObject({ clientTrustServer: true, serverTrustClient: true });
    });

    it('a CSR vCenter already holds is signed, not regenerated (its key is the one vCenter then uses)', async () => {
      await setup();
      const pending = makeCsr('vCenter kp-csr');
      fake.crypto.seed({ id: 'kp-csr', pendingCsr: pending });
      const r = await registerProvider(await session(), input('kp-csr'));
      expect(fake.calls.map((c) => c.method)).not.toContain('GenerateClientCsr');
      expect(r.actions.map((a) => a.action)).not.toContain('generate-csr');
      expect(r.notes).toEqual([expect.stringMatching(/signing request vCenter already held \(not regenerated\)/)]);
      expect(fake.clientIdentity('kp-csr')!.privateKeyPem).toBe(pending.keyPem);
    });

    it('a rotated server certificate vCenter no longer trusts: the CA is uploaded again', async () => {
      await setup();
      await registerProvider(await session(), input('kp-rotate'));
      // vCenter had trusted only an old leaf (as after "trust this certificate" in the UI).
      const p = fake.crypto.providers.get('kp-rotate')!;
      p.trustedServerPems.splice(0, p.trustedServerPems.length, issueCertificate({ commonName: 'old leaf' }).certificatePem);
      const from = fake.calls.length;
      const r = await registerProvider(await session(), input('kp-rotate'));
      expect(r.actions.map((a) => a.action)).toEqual(['trust-server-ca']);
      expect(fake.mutatingCalls(from)).toEqual(['UploadKmipServerCert']);
      expect(r.servers[0]).toMatchObject({ status: 'green', clientTrustServer: true });
    });

    it('where vCenter does not chain to an uploaded CA, each verified server certificate is trusted instead', async () => {
      fake = await FakeVcenter.start({ version: api === 'json' ? '8.0.2' : '7.0.3', hooks: { trustUploadedCas: false } });
      tenant = `vc-${api}-${++n}`;
      await rig.addTenant(tenant);
      const r = await registerProvider(await session(), input('kp-leaf'));
      expect(r.actions.map((a) => a.action)).toEqual(['register-server', 'trust-server-ca', 'generate-csr', 'install-client-cert', 'register-client-cert', 'trust-server-cert']);
      const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
      expect(fake.crypto.providers.get('kp-leaf')!.trustedServerPems.map(fp)).toEqual([rig.kmip.pki.ca.certificatePem, rig.kmip.pki.server.certificatePem].map(fp));
      expect(r.servers[0]).toMatchObject({ status: 'green', clientTrustServer: true, serverTrustClient: true });
      const from = fake.calls.length;
      expect((await registerProvider(await session(), input('kp-leaf'))).changed).toBe(false);
      expect(fake.mutatingCalls(from)).toEqual([]);
    });

    it('a name taken by a native key provider is refused before anything changes', async () => {
      await setup();
      fake.crypto.seed({ id: 'kp-native', managementType: 'nativeProvider' });
      const err = await registerProvider(await session(), input('kp-native')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VcenterError);
      expect((err as VcenterError).code).toBe('VC_ERR_REFUSED');
      expect((err as VcenterError).message).toMatch(/nativeProvider/);
      expect(fake.mutatingCalls()).toEqual([]);
    });

    it('a permission fault midway fails clearly; the re-run completes without a second CSR', async () => {
      await setup();
      fake.failNext('UpdateKmsSignedCsrClientCert', 'NoPermission', 'Permission to perform this operation was denied.');
      const err = await registerProvider(await session(), input('kp-perm')).catch((e: unknown) => e);
      expect((err as VcenterError).code).toBe('VC_ERR_FAULT');
      expect((err as VcenterError).faultType).toBe('NoPermission');
      expect((err as VcenterError).message).toMatch(/UpdateKmsSignedCsrClientCert: NoPermission/);
      const from = fake.calls.length;
      const r = await registerProvider(await session(), input('kp-perm'));
      expect(fake.mutatingCalls(from)).toEqual(['UpdateKmsSignedCsrClientCert']);
      expect(fake.calls.filter((c) => c.method === 'GenerateClientCsr')).toHaveLength(1);
      expect(r.servers[0]).toMatchObject({ status: 'green', clientTrustServer: true, serverTrustClient: true });
    });

    it('refuses to trust a server whose certificate is not from our CA (MITM guard), changing nothing', async () => {
      await setup();
      const otherCa = issueCertificate({ commonName: 'someone else', isCa: true });
      const err = await registerProvider(await session(), input('kp-mitm', { spec: { ...rig.spec('kp-mitm'), caPem: otherCa.certificatePem } })).catch((e: unknown) => e);
      expect((err as VcenterError).code).toBe('VC_ERR_VERIFY');
      expect((err as VcenterError).message).toMatch(/not issued by the server CA .*man-in-the-middle/);
      const pinned = await registerProvider(await session(), input('kp-mitm', { expectFingerprints: ['ab'.repeat(32)] })).catch((e: unknown) => e);
      expect((pinned as VcenterError).message).toMatch(/--expect-server-fingerprint/);
      expect(fake.mutatingCalls()).toEqual([]);
    });

    it('a client certificate about to expire is replaced through a new CSR', async () => {
      await setup();
      await registerProvider(await session(), input('kp-expiry'));
      const soon = issueCertificate({ commonName: 'vCenter kp-expiry', notAfter: new Date(Date.now() + 5 * 86_400_000) }, rig.kmip.pki.ca);
      fake.crypto.providers.get('kp-expiry')!.clientCert = { pem: soon.certificatePem, keyPem: soon.privateKeyPem };
      const r = await registerProvider(await session(), input('kp-expiry'));
      expect(r.actions.map((a) => a.action)).toEqual(['generate-csr', 'install-client-cert', 'register-client-cert']);
      expect(Date.parse(r.clientCertificate.notAfter)).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    });

    it('extra servers stay unless --prune; with it they are removed', async () => {
      await setup();
      await registerProvider(await session(), input('kp-prune', { spec: rig.spec('kp-prune', ['kp-prune-1', 'kp-prune-old']) }));
      const kept = await registerProvider(await session(), input('kp-prune'));
      expect(kept.extraServers).toEqual(['kp-prune-old']);
      expect(kept.changed).toBe(false);
      const pruned = await registerProvider(await session(), input('kp-prune', { prune: true }));
      expect(pruned.actions).toEqual([{ action: 'remove-server', detail: expect.stringMatching(/kp-prune-old/) }]);
      expect([...fake.crypto.providers.get('kp-prune')!.servers.keys()]).toEqual(['kp-prune-1']);
    });

    it('a missing tenant stops it before vCenter is touched', async () => {
      await setup();
      const err = await registerProvider(await session(), input('kp-nobody', { tenant: 'no-such-tenant' })).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/no tenant named no-such-tenant/);
      expect(fake.calls.map((c) => c.method)).not.toContain('ListKmsClusters');
    });
  });
}
