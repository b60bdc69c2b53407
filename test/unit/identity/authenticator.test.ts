/** ClientAuthenticator: what a removed registration still authorizes, on this node and on another one. */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ClientAuthenticator } from '../../../server/identity/authenticator.js';
import { certificateFingerprint } from '../../../server/identity/fingerprint.js';
import { issueCertificate } from '../../../server/pki/certificates.js';
import type { ClientCertRecord, KeyStore, TenantRecord } from '../../../server/store/store.js';

const TTL = 2000;

/** `gate`: the CA list is read from the store at once but delivered only when it resolves (a slow read). */
function setup(gate?: Promise<void>) {
  let clock = Date.now();
  const certs = new Map<string, ClientCertRecord>();
  const tenants = new Map<string, TenantRecord>([['t1', { id: 't1', name: 'vmca', createdAt: 0 }]]);
  const reads = { pins: 0, caLists: 0 };
  const store = {
    getClientCert: async (fp: string) => {
      reads.pins++;
      return certs.get(fp);
    },
    listClientCerts: async () => {
      reads.caLists++;
      const read = [...certs.values()];
      await gate;
      return read;
    },
    getTenant: async (id: string) => tenants.get(id),
  } as unknown as KeyStore;
  const ca = issueCertificate({ commonName: 'VMCA root', isCa: true });
  const leaf = (notAfter?: Date) =>
    new X509Certificate(issueCertificate({ commonName: 'vcenter.example.com', extendedKeyUsage: ['clientAuth'], ...(notAfter && { notAfter }) }, ca).certificatePem);
  const caFingerprint = certificateFingerprint(new X509Certificate(ca.certificatePem));
  certs.set(caFingerprint, { fingerprint: caFingerprint, tenantId: 't1', label: 'VMCA', kind: 'ca', subject: leaf().subject, pem: ca.certificatePem, createdAt: 0 });
  const auth = new ClientAuthenticator(store, { cacheTtlMs: TTL, maxCacheEntries: 100, now: () => clock });
  return { auth, certs, tenants, leaf, caFingerprint, reads, now: () => clock, advance: (ms: number) => (clock += ms) };
}

describe('ClientAuthenticator and removed registrations', () => {
  it('revoking a CA registration names and forgets every leaf it let in', async () => {
    const { auth, certs, leaf, caFingerprint } = setup();
    const [l1, l2] = [leaf(), leaf()];
    expect((await auth.authenticate(l1)).ok).toBe(true);
    expect((await auth.authenticate(l2)).ok).toBe(true);
    certs.delete(caFingerprint);
    expect(auth.revoke({ registrations: [caFingerprint] })).toEqual(new Set([caFingerprint, certificateFingerprint(l1), certificateFingerprint(l2)]));
    expect(await auth.authenticate(l1)).toEqual({ ok: false, reason: 'unknown' });
    expect(await auth.authenticate(leaf())).toEqual({ ok: false, reason: 'unknown' });
  });

  it('revoking a tenant names and forgets its leaves', async () => {
    const { auth, tenants, leaf } = setup();
    const l1 = leaf();
    expect((await auth.authenticate(l1)).ok).toBe(true);
    tenants.delete('t1');
    expect(auth.revoke({ tenantId: 't1' })).toEqual(new Set([certificateFingerprint(l1)]));
    expect((await auth.authenticate(l1)).ok).toBe(false);
  });

  it('a removal made elsewhere stops every leaf within the cache period, even one first seen on a stale CA list', async () => {
    const { auth, certs, leaf, caFingerprint, advance } = setup();
    const early = leaf();
    expect((await auth.authenticate(early)).ok).toBe(true); // the CA list is read now
    advance(100);
    certs.delete(caFingerprint); // removed through another node: nothing tells this one
    advance(TTL - 200);
    const late = leaf();
    expect((await auth.authenticate(late)).ok).toBe(true); // still within the bound of the removal
    advance(101); // TTL + 1 ms after the CA list was read, TTL after the removal
    expect((await auth.authenticate(early)).ok).toBe(false);
    expect((await auth.authenticate(late)).ok).toBe(false);
  });

  it('does not cache a decision whose store reads raced with a revocation', async () => {
    let release!: () => void;
    const { auth, certs, leaf, caFingerprint } = setup(new Promise<void>((r) => (release = r)));
    const l1 = leaf();
    // Reads the CA list while the CA is still registered; the answer arrives after the revocation.
    const pending = auth.authenticate(l1);
    await new Promise((r) => setImmediate(r));
    certs.delete(caFingerprint);
    auth.revoke({ registrations: [caFingerprint] });
    release();
    await pending;
    expect((await auth.authenticate(l1)).ok).toBe(false);
  });

  it('two concurrent first lookups of one certificate read the store once', async () => {
    const { auth, leaf, reads } = setup();
    const l1 = leaf();
    const [a, b] = await Promise.all([auth.authenticate(l1), auth.authenticate(l1)]);
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);
    expect(reads).toEqual({ pins: 1, caLists: 1 });
  });

  it('a certificate that expired while its decision is cached is not classified authenticated', async () => {
    const { auth, leaf, now, advance } = setup();
    // On the test's clock (issuing certificates takes real time); X.509 keeps whole seconds, so it ends within (now, now + 1 s].
    const l1 = leaf(new Date(now() + 1000));
    expect((await auth.authenticate(l1)).ok).toBe(true);
    expect(auth.cached(l1)).toBe(true);
    advance(1500); // past the certificate's notAfter, within the decision's TTL
    expect(auth.cached(l1)).toBe(false);
    expect(await auth.authenticate(l1)).toEqual({ ok: false, reason: 'expired' });
  });
});
