/**
 * Maps a TLS peer certificate to a Principal (registered certificate → tenant). A certificate is
 * accepted when its exact fingerprint is pinned, or when it was issued by a registered CA and
 * carries that registration's subject; it must be within its validity dates either way. The
 * extended key usage is deliberately not checked: vCenter's certificates may lack clientAuth.
 *
 * Decisions are cached for `cacheTtlMs`: that is the bound on how long a certificate removed on
 * another node keeps working here. Removals on this node call `invalidate` and take effect at once.
 */
import type { X509Certificate } from 'node:crypto';
import type { Principal } from '../kmip/context.js';
import type { ClientCertRecord, KeyStore } from '../store/store.js';
import { certificateFingerprint, parseCertificatePem } from './fingerprint.js';

export interface AuthenticatorOptions {
  readonly cacheTtlMs: number;
  readonly maxCacheEntries: number;
  readonly now?: () => number;
}

export type AuthenticationResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'no-certificate' | 'expired' | 'not-yet-valid' | 'unknown' };

interface CacheEntry {
  readonly result: AuthenticationResult;
  readonly expires: number;
}

export class ClientAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private caList: { records: Array<{ record: ClientCertRecord; cert: X509Certificate }>; expires: number } | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: KeyStore,
    private readonly options: AuthenticatorOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** `fingerprint` spares hashing the certificate again when the caller already did (once per connection). */
  async authenticate(cert: X509Certificate | undefined, fingerprint = cert && certificateFingerprint(cert)): Promise<AuthenticationResult> {
    if (!cert || !fingerprint) return { ok: false, reason: 'no-certificate' };
    const now = this.now();
    if (Date.parse(cert.validFrom) > now) return { ok: false, reason: 'not-yet-valid' };
    if (Date.parse(cert.validTo) < now) return { ok: false, reason: 'expired' };
    const cached = this.cache.get(fingerprint);
    if (cached && cached.expires > now) return cached.result;
    const result = await this.lookup(cert, fingerprint, now);
    if (this.cache.size >= this.options.maxCacheEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(fingerprint, { result, expires: now + this.options.cacheTtlMs });
    return result;
  }

  private async lookup(cert: X509Certificate, fingerprint: string, now: number): Promise<AuthenticationResult> {
    const pinned = await this.store.getClientCert(fingerprint);
    if (pinned && pinned.kind === 'pin') return this.principal(pinned, fingerprint);
    for (const { record, cert: ca } of await this.cas(now)) {
      if (record.subject !== cert.subject) continue;
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) continue;
      if (Date.parse(ca.validTo) < now || Date.parse(ca.validFrom) > now) continue;
      return this.principal(record, fingerprint);
    }
    return { ok: false, reason: 'unknown' };
  }

  private async principal(record: ClientCertRecord, fingerprint: string): Promise<AuthenticationResult> {
    const tenant = await this.store.getTenant(record.tenantId);
    if (!tenant) return { ok: false, reason: 'unknown' };
    return { ok: true, principal: { tenantId: tenant.id, tenantName: tenant.name, fingerprint, certLabel: record.label } };
  }

  private async cas(now: number): Promise<Array<{ record: ClientCertRecord; cert: X509Certificate }>> {
    if (this.caList && this.caList.expires > now) return this.caList.records;
    const records = (await this.store.listClientCerts()).filter((r) => r.kind === 'ca');
    const parsed = records.flatMap((record) => {
      try {
        return [{ record, cert: parseCertificatePem(record.pem) }];
      } catch {
        return [];
      }
    });
    this.caList = { records: parsed, expires: now + this.options.cacheTtlMs };
    return parsed;
  }

  /** Forgets cached decisions (all of them, or one certificate's) so a change applies at once. */
  invalidate(fingerprint?: string): void {
    if (fingerprint === undefined) this.cache.clear();
    else this.cache.delete(fingerprint);
    this.caList = undefined;
  }
}
