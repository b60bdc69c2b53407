/** How client certificates are trusted: pinned fingerprints, or a registered CA plus an exact subject, within validity dates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { certificateFingerprint } from '../../server/identity/fingerprint.js';
import { issueCertificate } from '../../server/pki/certificates.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let tenantId: string;

beforeAll(async () => {
  server = await startTestServer({ identityCacheSeconds: 0 });
  ({ id: tenantId } = await server.tenant('vmca'));
});
afterAll(() => server.close());

async function outcome(cert: ReturnType<TestServer['pki']['client']>): Promise<number | undefined> {
  const client = await server.connect(cert);
  const r = await client.request([{ operation: Operation.DiscoverVersions }]);
  await client.close();
  return r.items[0]!.resultStatus === ResultStatus.Success ? ResultStatus.Success : r.items[0]!.resultReason;
}

describe('client certificate trust', () => {
  it('trusts any certificate a registered CA issued with the registered subject (vCenter Root CA mode)', async () => {
    const vmca = issueCertificate({ commonName: 'VMCA root', isCa: true });
    const vcenter = server.pki.client('vcenter.example.com', { organization: 'VMware' }, vmca);
    await server.app.store.addClientCert({
      fingerprint: certificateFingerprint(new X509Certificate(vmca.certificatePem)),
      tenantId,
      label: 'VMCA',
      kind: 'ca',
      subject: vcenter.subject,
      pem: vmca.certificatePem,
      createdAt: Date.now(),
    });
    expect(await outcome(vcenter)).toBe(ResultStatus.Success);
    // The same CA, another subject: refused.
    expect(await outcome(server.pki.client('other.example.com', {}, vmca))).toBe(ResultReason.PermissionDenied);
    // The same subject from another CA: refused.
    const impostorCa = issueCertificate({ commonName: 'VMCA root', isCa: true });
    expect(await outcome(server.pki.client('vcenter.example.com', { organization: 'VMware' }, impostorCa))).toBe(ResultReason.PermissionDenied);
  });

  it('refuses expired and not-yet-valid client certificates even when pinned', async () => {
    const day = 86_400_000;
    const expired = server.pki.client('expired', { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
    const future = server.pki.client('future', { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) });
    await server.pin(tenantId, expired);
    await server.pin(tenantId, future);
    expect(await outcome(expired)).toBe(ResultReason.PermissionDenied);
    expect(await outcome(future)).toBe(ResultReason.PermissionDenied);
    const valid = server.pki.client('valid');
    await server.pin(tenantId, valid);
    expect(await outcome(valid)).toBe(ResultStatus.Success);
  });

  it('takes a registration into account within the identity cache bound', async () => {
    const cached = await startTestServer({ identityCacheSeconds: 1 });
    const t = await cached.tenant('late');
    const late = cached.pki.client('late-client');
    const client = await cached.connect(late);
    expect((await client.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultReason).toBe(ResultReason.PermissionDenied);
    await cached.pin(t.id, late);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await client.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
    await cached.close();
  });
});
