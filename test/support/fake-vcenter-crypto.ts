/**
 * The fake vCenter's CryptoManagerKmip (reference §C.2.3): providers with servers, defaults and trust
 * state; CSRs whose keys stay here; and a status that is measured, not invented: RetrieveKmipServerCert
 * and the status task open real TLS connections to the configured addresses (127.0.0.1 only), and
 * "the KMS trusts vCenter" is a real KMIP Discover Versions with vCenter's client certificate.
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import forge from 'node-forge';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { TestKmipClient } from './kmip-client.js';
import { notePrivateKeyPem } from './secrets-ledger.js';

export class FakeFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly props: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface FakeServer {
  name: string;
  address: string;
  port: number;
}

export interface FakeProvider {
  readonly id: string;
  managementType: 'vCenter' | 'nativeProvider' | 'trustAuthority';
  readonly servers: Map<string, FakeServer>;
  useAsDefault: boolean;
  entityDefaults: Array<{ type: string; value: string }>;
  /** PEMs uploaded with UploadKmipServerCert (leaves or CAs). */
  readonly trustedServerPems: string[];
  clientCert?: { pem: string; keyPem: string } | undefined;
  pendingCsr?: { pem: string; keyPem: string } | undefined;
  /** False: vCenter cannot reach the KMS (status red, keys unavailable, no rekey). Default reachable. */
  reachable?: boolean;
  /**
   * Trust as the status task reports it, without connecting anywhere (seeded inventories whose KMS
   * is not a real server). Unset: measured (TLS to each server, KMIP with the client certificate).
   */
  simulatedTrust?: { clientTrustServer: boolean; serverTrustClient: boolean } | undefined;
}

export const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

const pid = (id: string) => ({ _typeName: 'KeyProviderId', id });
export const arr = (v: unknown): unknown[] => (v === undefined || v === null || v === '' ? [] : Array.isArray(v) ? v : [v]);
export const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1';
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new FakeFault('InvalidArgument', `${what} is required`, { invalidProperty: what });
  return v;
};
const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FakeFault('InvalidArgument', `${what} is required`, { invalidProperty: what });
  return v as Record<string, unknown>;
};

/** A TLS connection to a loopback address; the certificate the server presents, or undefined. */
export function presentedCertificate(address: string, port: number, timeoutMs = 5000): Promise<string | undefined> {
  if (!LOOPBACK.has(address)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      resolve(cert?.toString());
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
  });
}

/** Whether our KMIP server at address:port accepts `cert` (Discover Versions succeeds). */
async function kmipAccepts(address: string, port: number, cert: { pem: string; keyPem: string }): Promise<boolean> {
  if (!LOOPBACK.has(address)) return false;
  let client: TestKmipClient | undefined;
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref());
  try {
    const probe = (async () => {
      client = await TestKmipClient.connect(port, { cert: cert.pem, key: cert.keyPem, rejectUnauthorized: false });
      const res = await client.request([{ operation: Operation.DiscoverVersions }]);
      return res.items[0]?.resultStatus === ResultStatus.Success;
    })();
    return await Promise.race([probe, timeout]);
  } catch {
    return false;
  } finally {
    await (client as TestKmipClient | undefined)?.close();
  }
}

function trusts(trusted: readonly string[], presentedPem: string, chains: boolean): boolean {
  const presented = new X509Certificate(presentedPem);
  return trusted.some((pem) => {
    const t = new X509Certificate(pem);
    return t.raw.equals(presented.raw) || (chains && presented.checkIssued(t) && presented.verify(t.publicKey));
  });
}

function certInfo(pem: string) {
  const c = new X509Certificate(pem);
  return {
    _typeName: 'CryptoManagerKmipCertificateInfo',
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    serialNumber: c.serialNumber,
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    fingerprint: createHash('sha1').update(c.raw).digest('hex').match(/../g)!.join(':').toUpperCase(),
    checkTime: new Date().toISOString(),
    secondsBeforeExpire: Math.floor((Date.parse(c.validTo) - Date.now()) / 1000),
  };
}

/** A CSR as vCenter makes one: a fresh RSA key that never leaves (here: the fake), signed request. */
export function makeCsr(commonName: string): { pem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(publicKey);
  csr.setSubject([
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'VMware' },
  ]);
  csr.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  notePrivateKeyPem("vCenter's client private key", privateKey);
  return { pem: forge.pki.certificationRequestToPem(csr), keyPem: privateKey };
}

export interface CryptoHooks {
  /** A vCenter before 7.0: no ListKmsClusters (MethodNotFound), only ListKmipServers. */
  noListKmsClusters?: boolean;
  /** Replaces the real KMIP probe for "the KMS trusts vCenter". */
  serverTrustClient?: (server: FakeServer, cert: { pem: string; keyPem: string }) => Promise<boolean>;
  /** What a duplicate RegisterKmipServer answers (vcsim: RuntimeFault "Already registered"). */
  duplicateFault?: string;
  /**
   * Whether an uploaded CA makes the servers it issued trusted (default true). Unverified on real
   * vCenter (reference §D.2); false makes the fake trust only exact certificates.
   */
  trustUploadedCas?: boolean;
}

/** A server's status from the provider's `reachable` / `simulatedTrust` settings (no network). */
function simulatedStatus(s: FakeServer, p: FakeProvider) {
  const reachable = p.reachable !== false;
  const { clientTrustServer, serverTrustClient } = reachable && p.simulatedTrust ? p.simulatedTrust : { clientTrustServer: false, serverTrustClient: false };
  const status = !reachable ? 'red' : clientTrustServer && serverTrustClient ? 'green' : 'yellow';
  const connectionStatus = !reachable ? 'Cannot establish a connection to the KMS' : status === 'green' ? 'Connected' : !clientTrustServer ? 'vCenter does not trust the KMS server certificate' : 'The KMS does not trust the vCenter client certificate';
  return { _typeName: 'CryptoManagerKmipServerStatus', name: s.name, status, connectionStatus, clientTrustServer, serverTrustClient };
}

export class FakeCryptoManager {
  readonly providers = new Map<string, FakeProvider>();

  constructor(readonly hooks: CryptoHooks = {}) {}

  provider(id: string): FakeProvider {
    const p = this.providers.get(id);
    if (!p) throw new FakeFault('InvalidArgument', `key provider ${id} not found`, { invalidProperty: 'clusterId' });
    return p;
  }

  /** Adds a provider directly (seeding: a native provider, a pre-existing setup). */
  seed(p: Partial<FakeProvider> & { id: string }): FakeProvider {
    const full: FakeProvider = { managementType: 'vCenter', servers: new Map(), useAsDefault: false, entityDefaults: [], trustedServerPems: [], ...p };
    this.providers.set(p.id, full);
    return full;
  }

  private clusterInfo(p: FakeProvider, withServers: boolean) {
    return {
      _typeName: 'KmipClusterInfo',
      clusterId: pid(p.id),
      ...(withServers ? { servers: [...p.servers.values()].map((s) => ({ _typeName: 'KmipServerInfo', ...s })) } : {}),
      useAsDefault: p.useAsDefault,
      managementType: p.managementType,
      ...(p.entityDefaults.length ? { useAsEntityDefault: p.entityDefaults.map((e) => ({ _typeName: 'ManagedObjectReference', ...e })) } : {}),
    };
  }

  private serverOf(spec: Record<string, unknown>): { provider: string; server: FakeServer } {
    const provider = str(obj(spec['clusterId'], 'server.clusterId')['id'], 'server.clusterId.id');
    const info = obj(spec['info'], 'server.info');
    const name = typeof info['name'] === 'string' ? info['name'] : '';
    if (name === '') throw new FakeFault('InvalidArgument', 'server name is empty', { invalidProperty: 'server.info.name' });
    return { provider, server: { name, address: str(info['address'], 'server.info.address'), port: Number(info['port'] ?? 5696) } };
  }

  /** Synchronous methods; the status task is `status()`. */
  call(method: string, params: Record<string, unknown>): unknown {
    switch (method) {
      case 'ListKmsClusters':
        if (this.hooks.noListKmsClusters) throw new FakeFault('MethodNotFound', 'ListKmsClusters is not a method of this vCenter (before 7.0)');
        return [...this.providers.values()].map((p) => this.clusterInfo(p, bool(params['includeKmsServers'])));
      case 'ListKmipServers':
        // 6.5+: every provider with its servers; `limit` caps the servers listed per provider.
        return [...this.providers.values()].map((p) => this.clusterInfo(p, true));
      case 'RegisterKmipServer': {
        const { provider, server } = this.serverOf(obj(params['server'], 'server'));
        const p = this.providers.get(provider) ?? this.seed({ id: provider });
        if (p.servers.has(server.name)) throw new FakeFault(this.hooks.duplicateFault ?? 'RuntimeFault', 'Already registered');
        p.servers.set(server.name, server);
        return undefined;
      }
      case 'UpdateKmipServer': {
        const { provider, server } = this.serverOf(obj(params['server'], 'server'));
        const p = this.providers.get(provider);
        if (!p) throw new FakeFault('RuntimeFault', 'Invalid cluster ID');
        if (!p.servers.has(server.name)) throw new FakeFault('RuntimeFault', 'Invalid server name');
        p.servers.set(server.name, server);
        return undefined;
      }
      case 'RemoveKmipServer': {
        const p = this.provider(str(obj(params['clusterId'], 'clusterId')['id'], 'clusterId.id'));
        if (!p.servers.delete(str(params['serverName'], 'serverName'))) throw new FakeFault('RuntimeFault', 'Invalid server name');
        return undefined;
      }
      case 'MarkDefault': {
        const p = this.provider(str(obj(params['clusterId'], 'clusterId')['id'], 'clusterId.id'));
        for (const other of this.providers.values()) other.useAsDefault = other === p;
        return undefined;
      }
      case 'UploadKmipServerCert': {
        const p = this.provider(str(obj(params['cluster'], 'cluster')['id'], 'cluster.id'));
        const pem = str(params['certificate'], 'certificate');
        try {
          new X509Certificate(pem);
        } catch {
          throw new FakeFault('InvalidArgument', 'not a certificate', { invalidProperty: 'certificate' });
        }
        p.trustedServerPems.push(pem);
        return undefined;
      }
      case 'RetrieveClientCert':
        return this.provider(str(obj(params['cluster'], 'cluster')['id'], 'cluster.id')).clientCert?.pem ?? '';
      case 'RetrieveClientCsr':
        return this.provider(str(obj(params['cluster'], 'cluster')['id'], 'cluster.id')).pendingCsr?.pem ?? '';
      case 'GenerateClientCsr': {
        const p = this.provider(str(obj(params['cluster'], 'cluster')['id'], 'cluster.id'));
        p.pendingCsr = makeCsr(`vCenter ${p.id}`);
        return p.pendingCsr.pem;
      }
      case 'UpdateKmsSignedCsrClientCert': {
        const p = this.provider(str(obj(params['cluster'], 'cluster')['id'], 'cluster.id'));
        const pem = str(params['certificate'], 'certificate');
        if (!p.pendingCsr) throw new FakeFault('InvalidState', 'no certificate signing request was generated');
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(pem);
        } catch {
          throw new FakeFault('InvalidArgument', 'not a certificate', { invalidProperty: 'certificate' });
        }
        const csrKey = forge.pki.certificationRequestFromPem(p.pendingCsr.pem).publicKey!;
        if (forge.pki.publicKeyToPem(csrKey).replace(/\s/g, '') !== cert.publicKey.export({ type: 'spki', format: 'pem' }).toString().replace(/\s/g, '')) {
          throw new FakeFault('InvalidArgument', 'the certificate does not match the latest certificate signing request', { invalidProperty: 'certificate' });
        }
        p.clientCert = { pem, keyPem: p.pendingCsr.keyPem };
        p.pendingCsr = undefined;
        return undefined;
      }
      case 'RetrieveKmipServerCert':
        throw new Error('RetrieveKmipServerCert is asynchronous: use serverCert()');
      default:
        throw new FakeFault('MethodNotFound', `${method} is not implemented by this fake`);
    }
  }

  /** RetrieveKmipServerCert: works for servers of a provider that does not exist yet. */
  async serverCert(params: Record<string, unknown>): Promise<unknown> {
    const provider = str(obj(params['keyProvider'], 'keyProvider')['id'], 'keyProvider.id');
    const info = obj(params['server'], 'server');
    const pem = await presentedCertificate(str(info['address'], 'server.address'), Number(info['port'] ?? 5696));
    const p = this.providers.get(provider);
    return {
      _typeName: 'CryptoManagerKmipServerCertInfo',
      certificate: pem ?? '',
      ...(pem ? { certInfo: certInfo(pem), clientTrustServer: p ? trusts(p.trustedServerPems, pem, this.hooks.trustUploadedCas !== false) : false } : {}),
    };
  }

  /** The result of RetrieveKmipServersStatus_Task, measured now. */
  async status(params: Record<string, unknown>): Promise<unknown> {
    const wanted = arr(params['clusters']) as Array<Record<string, unknown>>;
    const list = wanted.length ? wanted.map((c) => this.provider(str(obj(c['clusterId'], 'clusters.clusterId')['id'], 'clusterId.id'))) : [...this.providers.values()];
    const clusters = await Promise.all(
      list.map(async (p, i) => {
        const names = new Set(arr(wanted[i]?.['servers']).map((s) => (s as Record<string, unknown>)['name']));
        const servers = [...p.servers.values()].filter((s) => names.size === 0 || names.has(s.name));
        const statuses = await Promise.all(
          servers.map(async (s) => {
            if (p.reachable === false || p.simulatedTrust) return simulatedStatus(s, p);
            const pem = await presentedCertificate(s.address, s.port);
            const clientTrustServer = pem !== undefined && trusts(p.trustedServerPems, pem, this.hooks.trustUploadedCas !== false);
            const serverTrustClient = pem !== undefined && p.clientCert !== undefined && (await (this.hooks.serverTrustClient ?? ((x, c) => kmipAccepts(x.address, x.port, c)))(s, p.clientCert));
            const status = !pem ? 'red' : clientTrustServer && serverTrustClient ? 'green' : 'yellow';
            const connectionStatus = !pem ? 'Cannot establish a connection to the KMS' : status === 'green' ? 'Connected' : !clientTrustServer ? 'vCenter does not trust the KMS server certificate' : 'The KMS does not trust the vCenter client certificate';
            return { _typeName: 'CryptoManagerKmipServerStatus', name: s.name, status, connectionStatus, ...(pem ? { certInfo: certInfo(pem) } : {}), clientTrustServer, serverTrustClient };
          }),
        );
        const overall = statuses.some((s) => s.status === 'red') ? 'red' : statuses.some((s) => s.status === 'yellow') ? 'yellow' : statuses.length ? 'green' : 'gray';
        return {
          _typeName: 'CryptoManagerKmipClusterStatus',
          clusterId: pid(p.id),
          overallStatus: overall,
          managementType: p.managementType,
          servers: statuses,
          ...(p.clientCert ? { clientCertInfo: certInfo(p.clientCert.pem) } : {}),
        };
      }),
    );
    return { _typeName: 'ArrayOfCryptoManagerKmipClusterStatus', _value: clusters };
  }
}
