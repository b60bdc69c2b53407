/**
 * Registers our servers in vCenter as one Standard Key Provider and sets up trust both ways,
 * idempotently (reference §C.3): read first, change only what differs, verify with
 * RetrieveKmipServersStatus_Task. A second run makes no change. Before vCenter is told to trust
 * anything, the certificate it actually sees at each address must chain to our CA (MITM guard).
 *
 * Order: list → refuse a name clash → check what vCenter sees at each server → add/update servers →
 * status → trust our CA if needed → client certificate via vCenter's CSR, signed by our CA →
 * register it with our tenant → default → status again until both trust flags hold.
 */
import { X509Certificate } from 'node:crypto';
import { CryptoManagerKmip, type ServerEndpoint } from './crypto-manager.js';
import { certificateFingerprint } from '../identity/fingerprint.js';
import { issuedBy, signCsr, type SigningCa } from './csr.js';
import { VcenterError } from './errors.js';
import type { ProviderSpec } from './provider-spec.js';
import type { VcenterSession } from './session.js';
import type { ClusterStatus } from './wire.js';

/** Our side: the management API's client certificates of one tenant. */
export interface TenantCertRegistry {
  /** SHA-256 fingerprints of the tenant's certificates; throws when there is no such tenant. */
  fingerprints(tenant: string): Promise<ReadonlySet<string>>;
  register(tenant: string, pem: string, label: string): Promise<void>;
}

export interface RegisterInput {
  readonly spec: ProviderSpec;
  readonly tenant: string;
  readonly signingCa: SigningCa;
  readonly registry: TenantCertRegistry;
  readonly makeDefault?: boolean;
  readonly prune?: boolean;
  /** SHA-256 fingerprints one of which each server's certificate must have (beyond chaining to the CA). */
  readonly expectFingerprints?: readonly string[];
  /** A client certificate closer than this to its end is replaced. */
  readonly renewDays?: number;
  /** Status checks after a change: identity caches on other nodes take up to 2 s by default. */
  readonly verify?: { readonly attempts: number; readonly delayMs: number };
  readonly now?: () => Date;
  /** Each change and note as it happens (the report lists them all at the end too). */
  readonly log?: (line: string) => void;
}

export interface Action {
  readonly action: 'register-server' | 'update-server' | 'remove-server' | 'trust-server-ca' | 'trust-server-cert' | 'generate-csr' | 'install-client-cert' | 'register-client-cert' | 'mark-default';
  readonly detail: string;
}

export interface ServerReport extends ServerEndpoint {
  readonly status: string;
  readonly connectionStatus: string;
  readonly clientTrustServer: boolean;
  readonly serverTrustClient: boolean;
}

export interface RegisterReport {
  readonly provider: string;
  readonly vcenter: string;
  readonly changed: boolean;
  readonly actions: readonly Action[];
  readonly servers: readonly ServerReport[];
  /** Servers vCenter lists under this provider that we did not ask for (removed only with prune). */
  readonly extraServers: readonly string[];
  /** What was noticed but needed no change (e.g. a pending CSR that was used). */
  readonly notes: readonly string[];
  readonly clientCertificate: { readonly fingerprint: string; readonly subject: string; readonly notAfter: string };
  readonly default: boolean;
}

function describeCert(c: X509Certificate): string {
  return `subject ${c.subject.replace(/\n/g, ', ')}; issuer ${c.issuer.replace(/\n/g, ', ')}; SHA-256 ${certificateFingerprint(c)}`;
}

/** The certificate vCenter sees at `s` must chain to our CA (and match a pin when given). */
function checkServerCertificate(pem: string, s: ServerEndpoint, ca: X509Certificate, pins: readonly string[], now: Date): void {
  const where = `${s.name} (${s.address}:${s.port})`;
  if (pem.trim() === '') {
    throw new VcenterError('VC_ERR_VERIFY', `vCenter cannot connect to ${where} (RetrieveKmipServerCert returned no certificate): check the route and firewall from vCenter to the KMIP servers`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pem);
  } catch {
    throw new VcenterError('VC_ERR_VERIFY', `vCenter returned something that is not a certificate for ${where}`);
  }
  if (!issuedBy(leaf, ca)) {
    throw new VcenterError(
      'VC_ERR_VERIFY',
      `the certificate vCenter sees at ${where} is not issued by the server CA (${describeCert(leaf)}): refusing to make vCenter trust it — a man-in-the-middle, or the wrong CA file; nothing was changed for trust`,
    );
  }
  if (Date.parse(leaf.validTo) < now.getTime() || Date.parse(leaf.validFrom) > now.getTime()) {
    throw new VcenterError('VC_ERR_VERIFY', `the certificate of ${where} is not valid now (valid ${leaf.validFrom} to ${leaf.validTo})`);
  }
  if (pins.length > 0 && !pins.includes(certificateFingerprint(leaf))) {
    throw new VcenterError('VC_ERR_VERIFY', `the certificate vCenter sees at ${where} has SHA-256 ${certificateFingerprint(leaf)}, not one of --expect-server-fingerprint: refusing to continue`);
  }
}

function serverReports(spec: ProviderSpec, status: ClusterStatus | undefined): ServerReport[] {
  return spec.servers.map((s) => {
    const st = status?.servers.find((x) => x.name === s.name);
    return {
      ...s,
      status: st?.status ?? 'missing',
      connectionStatus: st?.connectionStatus ?? 'not in the status answer',
      clientTrustServer: st?.clientTrustServer === true,
      serverTrustClient: st?.serverTrustClient === true,
    };
  });
}

/** A server vCenter can use: it trusts the server, the server trusts it, and its status is not red. */
export const serverHealthy = (s: { readonly clientTrustServer?: boolean | undefined; readonly serverTrustClient?: boolean | undefined; readonly status: string }) =>
  s.clientTrustServer === true && s.serverTrustClient === true && s.status !== 'red';
const healthy = (r: readonly ServerReport[]) => r.every(serverHealthy);

export async function registerProvider(session: VcenterSession, input: RegisterInput): Promise<RegisterReport> {
  const { spec, tenant, signingCa, registry } = input;
  const p = spec.provider;
  const now = input.now ?? (() => new Date());
  const log = input.log ?? (() => undefined);
  const cm = new CryptoManagerKmip(session);
  const caCert = new X509Certificate(spec.caPem);
  const pins = (input.expectFingerprints ?? []).map((f) => f.toLowerCase().replace(/:/g, ''));
  const actions: Action[] = [];
  const notes: string[] = [];
  const did = (action: Action['action'], detail: string) => {
    actions.push({ action, detail });
    log(detail);
  };
  const note = (text: string) => {
    notes.push(text);
    log(text);
  };

  // Our side first: a missing tenant stops us before anything in vCenter is read or changed.
  const tenantFingerprints = await registry.fingerprints(tenant);

  const existing = (await cm.listKmsClusters()).find((c) => c.clusterId.id === p);
  if (existing?.managementType && existing.managementType !== 'vCenter') {
    throw new VcenterError('VC_ERR_REFUSED', `vCenter already has a key provider named ${p} of type ${existing.managementType} (not a Standard Key Provider): choose another --provider; nothing was changed`);
  }

  // What vCenter sees at each address, before anything changes (works for servers not yet registered).
  const leaves = new Map<string, string>();
  for (const s of spec.servers) {
    const pem = await cm.retrieveKmipServerCert(p, s);
    checkServerCertificate(pem, s, caCert, pins, now());
    leaves.set(s.name, pem);
  }

  const registered = new Map((existing?.servers ?? []).map((s) => [s.name, s]));
  for (const s of spec.servers) {
    const cur = registered.get(s.name);
    if (!cur) {
      await cm.registerKmipServer(p, s);
      did('register-server', `registered server ${s.name} (${s.address}:${s.port})${existing || actions.length ? '' : `, creating key provider ${p}`}`);
    } else if (cur.address !== s.address || cur.port !== s.port) {
      await cm.updateKmipServer(p, s);
      did('update-server', `updated server ${s.name}: ${cur.address}:${cur.port} → ${s.address}:${s.port}`);
    }
  }
  const extras = [...registered.keys()].filter((n) => !spec.servers.some((s) => s.name === n));
  if (input.prune) {
    for (const name of extras) {
      await cm.removeKmipServer(p, name);
      did('remove-server', `removed server ${name} (not in ${spec.source})`);
    }
  } else if (extras.length > 0) {
    note(`left in place: ${extras.join(', ')} (not in ${spec.source}; --prune removes them)`);
  }

  const before = await cm.status(p);
  if (serverReports(spec, before).some((s) => !s.clientTrustServer)) {
    await cm.uploadKmipServerCert(p, spec.caPem);
    did('trust-server-ca', `vCenter now trusts the server CA (${caCert.subject.replace(/\n/g, ', ')})`);
  }

  // The client certificate vCenter presents: keep it when our CA issued it and it is not about to end.
  const renewMs = (input.renewDays ?? 30) * 86_400_000;
  const usable = (pem: string): X509Certificate | undefined => {
    if (pem.trim() === '') return undefined;
    try {
      const c = new X509Certificate(pem);
      const t = now().getTime();
      return issuedBy(c, signingCa.cert) && Date.parse(c.validFrom) <= t && Date.parse(c.validTo) - t > renewMs ? c : undefined;
    } catch {
      return undefined;
    }
  };
  const currentPem = await cm.retrieveClientCert(p);
  let client = usable(currentPem);
  let clientPem = currentPem;
  if (!client) {
    // A pending CSR is used as is: generating another would replace the key vCenter holds for it.
    let csr = await cm.retrieveClientCsr(p);
    if (csr.trim() === '') {
      csr = await cm.generateClientCsr(p);
      did('generate-csr', 'vCenter generated a certificate signing request (its key stays in vCenter)');
    } else {
      note('used the certificate signing request vCenter already held (not regenerated)');
    }
    const signed = signCsr(csr, signingCa, { now: now() });
    await cm.updateKmsSignedCsrClientCert(p, signed.certificatePem);
    clientPem = signed.certificatePem;
    client = new X509Certificate(clientPem);
    did('install-client-cert', `vCenter presents a certificate signed by our CA (${signed.subject}, until ${new Date(client.validTo).toISOString()})`);
  }
  const fingerprint = certificateFingerprint(client);
  if (!tenantFingerprints.has(fingerprint)) {
    await registry.register(tenant, clientPem, `vcenter ${p}`);
    did('register-client-cert', `registered vCenter's certificate ${fingerprint} to tenant ${tenant}`);
  }

  const isDefault = existing?.useAsDefault === true;
  if (input.makeDefault && !isDefault) {
    await cm.markDefault(p);
    did('mark-default', `${p} is now vCenter's default key provider`);
  }

  const { attempts, delayMs } = input.verify ?? { attempts: 4, delayMs: 1500 };
  const settle = async (): Promise<ServerReport[]> => {
    let reports: ServerReport[] = [];
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, delayMs));
      reports = serverReports(spec, await cm.status(p));
      // Only the KMS side can lag (identity caches); anything else will not fix itself by waiting.
      if (healthy(reports) || reports.some((s) => !s.clientTrustServer)) break;
    }
    return reports;
  };
  let servers = actions.length > 0 ? await settle() : serverReports(spec, before);
  // Whether vCenter chains a server certificate to an uploaded CA is unverified (reference §D.2): if it
  // still does not trust a server, trust that server's own certificate — already checked against our CA.
  const distrusted = servers.filter((s) => !s.clientTrustServer && leaves.has(s.name));
  if (distrusted.length > 0) {
    for (const s of distrusted) {
      await cm.uploadKmipServerCert(p, leaves.get(s.name)!);
      did('trust-server-cert', `vCenter now trusts the certificate of ${s.name} (issued by the server CA)`);
    }
    servers = await settle();
  }
  if (!healthy(servers)) {
    const bad = servers.filter((s) => !(s.clientTrustServer && s.serverTrustClient && s.status !== 'red'));
    throw new VcenterError(
      'VC_ERR_VERIFY',
      `vCenter reports trust is not complete for ${bad.map((s) => `${s.name} (status ${s.status}, vCenter trusts KMS: ${s.clientTrustServer}, KMS trusts vCenter: ${s.serverTrustClient}, ${s.connectionStatus})`).join('; ')}`,
    );
  }
  return {
    provider: p,
    vcenter: session.description,
    changed: actions.length > 0,
    actions,
    servers,
    extraServers: input.prune ? [] : extras,
    notes,
    clientCertificate: { fingerprint, subject: client.subject.replace(/\n/g, ', '), notAfter: new Date(client.validTo).toISOString() },
    default: isDefault || input.makeDefault === true,
  };
}
