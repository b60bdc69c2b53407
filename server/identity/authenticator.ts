/**
 * Maps a TLS peer certificate to a Principal (registered certificate → tenant). A certificate is
 * accepted when its exact fingerprint is pinned, or when it was issued by a registered CA and
 * carries that registration's subject; it must be within its validity dates either way. The
 * extended key usage is deliberately not checked: vCenter's certificates may lack clientAuth.
 *
 * Decisions are cached per leaf fingerprint for at most `cacheTtlMs` after the store data they
 * were derived from was read (a decision made from the cached CA list expires with that list), so
 * a registration or tenant removed on another node stops working here within `cacheTtlMs`: every
 * request of an open connection goes through `authenticate`, which re-reads the store once the
 * decision has expired. Each cached decision records WHICH registration (pin or CA fingerprint)
 * and tenant authorized it, so `revoke` on this node forgets every decision made through a
 * removed registration and names the leaf certificates whose connections must be closed at once.
 */
import type { X509Certificate } from 'node:crypto';
import type { Principal } from '../kmip/context.js';
import type { ClientCertRecord, KeyStore } from '../store/store.js';
import { certificateFingerprint, parseCertificatePem } from './fingerprint.js';

/**
 * A certificate's validity dates (epoch ms), read once per certificate object: the peer's certificate
 * object lives as long as its connection, and its date getters build new strings on every call.
 */
const validity = new WeakMap<X509Certificate, { readonly from: number; readonly to: number }>();
function validityOf(cert: X509Certificate): { readonly from: number; readonly to: number } {
  let v = validity.get(cert);
  if (!v) {
    v = { from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo) };
    validity.set(cert, v);
  }
  return v;
}

export interface AuthenticatorOptions {
  readonly cacheTtlMs: number;
  readonly maxCacheEntries: number;
  readonly now?: () => number;
}

export type AuthenticationResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'no-certificate' | 'expired' | 'not-yet-valid' | 'unknown' };

/** What a removal is of: registrations (pin or CA fingerprints), a tenant, or both. */
export interface RevocationTarget {
  readonly registrations?: readonly string[];
  readonly tenantId?: string;
}

interface Decision {
  readonly result: AuthenticationResult;
  /** The registration (pinned fingerprint or CA registration fingerprint) that authorized it. */
  readonly registration?: string;
  readonly tenantId?: string;
  /** The decision may not be used after this: `cacheTtlMs` past the oldest store read it rests on. */
  readonly expires: number;
}

type CaList = Array<{ record: ClientCertRecord; cert: X509Certificate }>;

export class ClientAuthenticator {
  /** Leaf fingerprint → decision. Expired entries stay (until evicted) so `revoke` still finds them. */
  private readonly cache = new Map<string, Decision>();
  private caList: { records: CaList; expires: number } | undefined;
  /** Leaf fingerprint → the store lookup under way for it, which later askers join. */
  private readonly inflight = new Map<string, Promise<AuthenticationResult>>();
  /** Bumped by every invalidation: a lookup that read the store before it must not cache its answer. */
  private generation = 0;
  private readonly now: () => number;

  constructor(
    private readonly store: KeyStore,
    private readonly options: AuthenticatorOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The cached answer for this certificate, synchronously, or undefined when the store must be read (a
   * connection's first judgement at accept costs no promise when the client was seen recently).
   */
  cached(cert: X509Certificate | undefined, fingerprint = cert && certificateFingerprint(cert)): boolean | undefined {
    return this.fromCache(cert, fingerprint, this.now())?.ok;
  }

  /** `fingerprint` spares hashing the certificate again when the caller already did (once per connection). */
  async authenticate(cert: X509Certificate | undefined, fingerprint = cert && certificateFingerprint(cert)): Promise<AuthenticationResult> {
    const now = this.now();
    const known = this.fromCache(cert, fingerprint, now);
    if (known) return known;
    // fromCache answers whenever the certificate or fingerprint is missing.
    const fp = fingerprint!;
    // The accept-time classification and the connection's first request both ask before either
    // answer is cached: one store read serves both.
    const pending = this.inflight.get(fp);
    if (pending) return pending;
    const lookup: Promise<AuthenticationResult> = this.resolveUncached(cert!, fp, now).finally(() => {
      if (this.inflight.get(fp) === lookup) this.inflight.delete(fp);
    });
    this.inflight.set(fp, lookup);
    return lookup;
  }

  /**
   * What needs no store read: no certificate, one outside its validity dates (checked before the
   * cache, so a certificate that expired while its decision was cached is refused), or a live
   * cached decision. Undefined when the store must be read.
   */
  private fromCache(cert: X509Certificate | undefined, fingerprint: string | undefined, now: number): AuthenticationResult | undefined {
    if (!cert || !fingerprint) return { ok: false, reason: 'no-certificate' };
    const { from, to } = validityOf(cert);
    if (from > now) return { ok: false, reason: 'not-yet-valid' };
    if (to < now) return { ok: false, reason: 'expired' };
    const entry = this.cache.get(fingerprint);
    return entry && entry.expires > now ? entry.result : undefined;
  }

  private async resolveUncached(cert: X509Certificate, fingerprint: string, now: number): Promise<AuthenticationResult> {
    let generation = this.generation;
    let decision = await this.lookup(cert, fingerprint, now, generation);
    // Invalidated while we read the store: the answer may rest on a removed registration. Read
    // again; if invalidations keep racing, answer from the last read but do not remember it.
    for (let retry = 0; retry < 2 && generation !== this.generation; retry++) {
      generation = this.generation;
      decision = await this.lookup(cert, fingerprint, now, generation);
    }
    if (generation !== this.generation) return decision.result;
    this.cache.delete(fingerprint);
    if (this.cache.size >= this.options.maxCacheEntries) this.evictOne();
    this.cache.set(fingerprint, decision);
    return decision.result;
  }

  private async lookup(cert: X509Certificate, fingerprint: string, now: number, generation: number): Promise<Decision> {
    const fresh = now + this.options.cacheTtlMs;
    const pinned = await this.store.getClientCert(fingerprint);
    if (pinned && pinned.kind === 'pin') return this.decide(pinned, fingerprint, fresh);
    const cas = await this.cas(now, generation);
    for (const { record, cert: ca } of cas.records) {
      if (record.subject !== cert.subject) continue;
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) continue;
      if (Date.parse(ca.validTo) < now || Date.parse(ca.validFrom) > now) continue;
      return this.decide(record, fingerprint, Math.min(fresh, cas.expires));
    }
    return { result: { ok: false, reason: 'unknown' }, expires: Math.min(fresh, cas.expires) };
  }

  private async decide(record: ClientCertRecord, fingerprint: string, expires: number): Promise<Decision> {
    const tenant = await this.store.getTenant(record.tenantId);
    if (!tenant) return { result: { ok: false, reason: 'unknown' }, expires };
    return {
      result: { ok: true, principal: { tenantId: tenant.id, tenantName: tenant.name, fingerprint, certLabel: record.label } },
      registration: record.fingerprint,
      tenantId: tenant.id,
      expires,
    };
  }

  private async cas(now: number, generation: number): Promise<{ records: CaList; expires: number }> {
    if (this.caList && this.caList.expires > now) return this.caList;
    const records = (await this.store.listClientCerts()).filter((r) => r.kind === 'ca');
    const parsed = records.flatMap((record) => {
      try {
        return [{ record, cert: parseCertificatePem(record.pem) }];
      } catch {
        return [];
      }
    });
    const list = { records: parsed, expires: now + this.options.cacheTtlMs };
    if (generation === this.generation) this.caList = list;
    return list;
  }

  /** Makes room: the oldest decision (insertion order; an entry is re-inserted when renewed). */
  private evictOne(): void {
    this.cache.delete(this.cache.keys().next().value!);
  }

  /**
   * Forgets every decision made through the removed registration and/or for the removed tenant
   * (and the decision cached under the registration's own fingerprint), and the CA list. Returns
   * the leaf fingerprints that were authorized through them: their connections must be closed.
   */
  revoke(target: RevocationTarget): Set<string> {
    this.forgetLookups();
    this.caList = undefined;
    const removed = new Set(target.registrations ?? []);
    const leaves = new Set<string>();
    for (const r of removed) {
      leaves.add(r);
      this.cache.delete(r);
    }
    for (const [leaf, entry] of this.cache) {
      const byRegistration = entry.registration !== undefined && removed.has(entry.registration);
      const byTenant = target.tenantId !== undefined && entry.tenantId === target.tenantId;
      if (byRegistration || byTenant) {
        leaves.add(leaf);
        this.cache.delete(leaf);
      }
    }
    return leaves;
  }

  /** Forgets every cached decision (a change that may affect any client) so it applies at once. */
  invalidate(): void {
    this.forgetLookups();
    this.cache.clear();
    this.caList = undefined;
  }

  /**
   * A lookup under way may have read what was just removed, and can answer its own askers with
   * that (it is not cached): later askers must read afresh rather than join it.
   */
  private forgetLookups(): void {
    this.generation++;
    this.inflight.clear();
  }
}
