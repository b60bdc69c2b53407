/**
 * The CryptoManagerKmip calls we make (reference §B.2), typed. Parameter names and field order are
 * the wire names in WSDL order; every answer is parsed by wire.ts.
 */
import { VcenterError } from './errors.js';
import { waitForTask } from './property-collector.js';
import type { VcenterSession } from './session.js';
import type { DataObject, MoRef } from './transport.js';
import {
  ClusterStatusSchema,
  KmipClusterInfoSchema,
  MoRefResult,
  ServerCertInfoSchema,
  StringResult,
  list,
  read,
  type ClusterStatus,
  type KmipClusterInfo,
} from './wire.js';

export interface ServerEndpoint {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

const providerId = (id: string): DataObject => ({ _typeName: 'KeyProviderId', id });
const serverInfo = (s: ServerEndpoint): DataObject => ({ _typeName: 'KmipServerInfo', name: s.name, address: s.address, port: s.port });

export class CryptoManagerKmip {
  private readonly ref: MoRef;

  constructor(private readonly session: VcenterSession) {
    if (!session.content.cryptoManager) throw new VcenterError('VC_ERR_UNSUPPORTED', 'this vCenter has no CryptoManager');
    this.ref = session.content.cryptoManager;
  }

  private call(method: string, params: Record<string, DataObject | readonly DataObject[] | string | boolean | undefined> = {}): Promise<unknown> {
    return this.session.call(this.ref, method, params);
  }

  /** Every key provider with its servers (7.0+). */
  async listKmsClusters(): Promise<KmipClusterInfo[]> {
    return read(list(KmipClusterInfoSchema), await this.call('ListKmsClusters', { includeKmsServers: true }), 'ListKmsClusters');
  }

  /** Adds a server; for a new provider name the first call creates the provider. */
  async registerKmipServer(provider: string, server: ServerEndpoint): Promise<void> {
    await this.call('RegisterKmipServer', { server: { _typeName: 'KmipServerSpec', clusterId: providerId(provider), info: serverInfo(server) } });
  }

  async updateKmipServer(provider: string, server: ServerEndpoint): Promise<void> {
    await this.call('UpdateKmipServer', { server: { _typeName: 'KmipServerSpec', clusterId: providerId(provider), info: serverInfo(server) } });
  }

  async removeKmipServer(provider: string, serverName: string): Promise<void> {
    await this.call('RemoveKmipServer', { clusterId: providerId(provider), serverName });
  }

  /** The certificate vCenter sees when it connects to the server ('' when it cannot connect). */
  async retrieveKmipServerCert(provider: string, server: ServerEndpoint): Promise<string> {
    const r = read(ServerCertInfoSchema, await this.call('RetrieveKmipServerCert', { keyProvider: providerId(provider), server: serverInfo(server) }), 'RetrieveKmipServerCert');
    return r.certificate;
  }

  async uploadKmipServerCert(provider: string, certificatePem: string): Promise<void> {
    await this.call('UploadKmipServerCert', { cluster: providerId(provider), certificate: certificatePem });
  }

  /** The client certificate vCenter presents to this provider's servers ('' when none). */
  async retrieveClientCert(provider: string): Promise<string> {
    return read(StringResult, await this.call('RetrieveClientCert', { cluster: providerId(provider) }), 'RetrieveClientCert');
  }

  /** The pending certificate signing request ('' when none was generated). */
  async retrieveClientCsr(provider: string): Promise<string> {
    return read(StringResult, await this.call('RetrieveClientCsr', { cluster: providerId(provider) }), 'RetrieveClientCsr');
  }

  /** A new key pair and CSR in vCenter; replaces any pending one, so call it only when none is pending. */
  async generateClientCsr(provider: string): Promise<string> {
    return read(StringResult, await this.call('GenerateClientCsr', { cluster: providerId(provider) }), 'GenerateClientCsr');
  }

  async updateKmsSignedCsrClientCert(provider: string, certificatePem: string): Promise<void> {
    await this.call('UpdateKmsSignedCsrClientCert', { cluster: providerId(provider), certificate: certificatePem });
  }

  async markDefault(provider: string): Promise<void> {
    await this.call('MarkDefault', { clusterId: providerId(provider) });
  }

  /** RetrieveKmipServersStatus_Task for one provider, all its servers: the trust oracle (§B.3). */
  async status(provider: string): Promise<ClusterStatus | undefined> {
    const task = read(
      MoRefResult,
      await this.call('RetrieveKmipServersStatus_Task', { clusters: [{ _typeName: 'KmipClusterInfo', clusterId: providerId(provider), useAsDefault: false }] }),
      'RetrieveKmipServersStatus_Task',
    );
    const result = await waitForTask(this.session, task, 'RetrieveKmipServersStatus_Task');
    return read(list(ClusterStatusSchema), result, 'RetrieveKmipServersStatus_Task').find((c) => c.clusterId.id === provider);
  }
}
