/**
 * A local fake vCenter for tests (reference §C.2): HTTPS on 127.0.0.1 with a certificate from its own
 * "VMCA", serving exactly what kmipctl calls — the hello call, VI/JSON (/sdk/vim25/{release}/…, the
 * vSAN API under /sdk/vsan/…) and SOAP (/sdk, /vsanHealth) over one state: sessions, CryptoManagerKmip,
 * inventory, tasks. It logs every call, injects faults per method, and can expire sessions.
 *
 * version '8.0.2': hello + VI/JSON 8.0.1.0/8.0.2.0 + SOAP; '8.0.1': no hello, VI/JSON 8.0.1.0 + SOAP;
 * '7.0.3': SOAP only (as the real ones, reference §B.7). `about` sets the product version it reports.
 *
 * The provider-change rekey (rekey reference): keys and defaults in fake-vcenter-keys.ts, VM rekeys and
 * templates in fake-vcenter-rekey.ts, host keys, cluster crypto mode and vSAN in fake-vcenter-vsan.ts,
 * tasks in fake-vcenter-tasks.ts; a seeded inventory for it in fake-vcenter-migration.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, type IssuedCertificate } from '../../server/pki/certificates.js';
import { checkJsonRequest, checkSoapRequest } from './fake-vcenter-contract.js';
import { FakeCryptoManager, FakeFault, type CryptoHooks } from './fake-vcenter-crypto.js';
import { FakeInventory } from './fake-vcenter-inventory.js';
import { FakeKeys, type KeyRecord } from './fake-vcenter-keys.js';
import { FakeVmRekey } from './fake-vcenter-rekey.js';
import { FakeHostCrypto } from './fake-vcenter-vsan.js';
import { parseSoapCall, soapFault, soapResult } from './fake-vcenter-soap.js';
import { noteSecret } from './secrets-ledger.js';

export type FakeVersion = '8.0.2' | '8.0.1' | '7.0.3';

export interface FakeVcenterOptions {
  readonly version?: FakeVersion;
  readonly user?: string;
  readonly password?: string;
  readonly hooks?: CryptoHooks;
  /** ServiceContent.about: vCenter's product version and build (default: `version`, a fake build). */
  readonly about?: { readonly version?: string; readonly build?: string };
}

export interface CallRecord {
  readonly transport: 'json' | 'soap' | 'rest';
  readonly method: string;
  readonly obj: string;
}

/** What changes vCenter's state (the fake's own list, independent of the client's). */
export const FAKE_MUTATING = new Set([
  'RegisterKmipServer',
  'UpdateKmipServer',
  'RemoveKmipServer',
  'UploadKmipServerCert',
  'UploadClientCert',
  'GenerateClientCsr',
  'UpdateKmsSignedCsrClientCert',
  'MarkDefault',
  'SetDefaultKmsCluster',
  'UnregisterKmsCluster',
  'GenerateKey',
  'ReconfigVM_Task',
  'MarkAsTemplate',
  'MarkAsVirtualMachine',
  'ConfigureCryptoKey',
  'SetCryptoMode',
  'VsanClusterReconfig',
]);

const RELEASES: Record<FakeVersion, string[]> = { '8.0.2': ['8.0.2.0', '8.0.1.0'], '8.0.1': ['8.0.1.0'], '7.0.3': [] };
const API_VERSION: Record<FakeVersion, string> = { '8.0.2': '8.0.2.0', '8.0.1': '8.0.1.0', '7.0.3': '7.0.3.0' };
const BUILD: Record<FakeVersion, string> = { '8.0.2': '22385739', '8.0.1': '21560480', '7.0.3': '21477706' };
const MAX_BODY = 4 * 1024 * 1024;
const ref = (type: string, value: string) => ({ _typeName: 'ManagedObjectReference', type, value });

/** One "VMCA" and server certificate per test process: RSA key generation is the slow part of a start. */
let tls: { ca: IssuedCertificate; leaf: IssuedCertificate; caFile: string } | undefined;
function fakeTls() {
  if (!tls) {
    const ca = issueCertificate({ commonName: 'CA (fake VMCA)', isCa: true });
    const leaf = issueCertificate({ commonName: 'vcenter.fake', extendedKeyUsage: ['serverAuth'], dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, ca);
    const caFile = join(mkdtempSync(join(tmpdir(), 'fake-vcenter-')), 'vmca.pem');
    writeFileSync(caFile, ca.certificatePem);
    tls = { ca, leaf, caFile };
  }
  return tls;
}

export class FakeVcenter {
  readonly crypto: FakeCryptoManager;
  readonly inventory = new FakeInventory();
  /** Keys per provider, GenerateKey, QueryCryptoKeyStatus, defaults (fake-vcenter-keys.ts). */
  readonly keys: FakeKeys;
  /** ReconfigVM_Task rekeys, templates (fake-vcenter-rekey.ts). */
  readonly vmRekey: FakeVmRekey;
  /** Host keys, cluster crypto mode, vSAN (fake-vcenter-vsan.ts). */
  readonly hostCrypto: FakeHostCrypto;
  /** ServiceContent.about.version / build; change them to play another vCenter release. */
  readonly about: { version: string; build: string };
  readonly calls: CallRecord[] = [];
  readonly ca: IssuedCertificate;
  readonly caFile: string;
  private readonly sessions = new Set<string>();
  private readonly faults = new Map<string, Array<{ type: string; message: string }>>();
  private server!: Server;
  url = '';
  readonly user: string;
  readonly password: string;

  private constructor(
    readonly version: FakeVersion,
    options: FakeVcenterOptions,
  ) {
    this.crypto = new FakeCryptoManager(options.hooks ?? {});
    this.keys = new FakeKeys(this.crypto, this.inventory);
    this.vmRekey = new FakeVmRekey(this.inventory, this.keys);
    this.hostCrypto = new FakeHostCrypto(this.inventory, this.keys);
    this.about = { version: options.about?.version ?? version, build: options.about?.build ?? BUILD[version] };
    this.user = options.user ?? 'administrator@vsphere.local';
    this.password = options.password ?? `Pw-${randomBytes(12).toString('base64url')}`;
    // The suite-wide scan looks for it in everything kmipctl and the servers printed.
    noteSecret('vCenter password', this.password);
    this.ca = fakeTls().ca;
    this.caFile = fakeTls().caFile;
  }

  static async start(options: FakeVcenterOptions = {}): Promise<FakeVcenter> {
    const fake = new FakeVcenter(options.version ?? '8.0.2', options);
    const { leaf } = fakeTls();
    fake.server = createServer({ key: leaf.privateKeyPem, cert: leaf.certificatePem }, (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `https://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The next `times` calls of `method` fail with this fault. */
  failNext(method: string, type: string, message = `${type} (injected)`, times = 1): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...Array.from({ length: times }, () => ({ type, message }))]);
  }

  private newSession(): string {
    const token = randomBytes(20).toString('hex');
    noteSecret('vCenter session token', token);
    this.sessions.add(token);
    return token;
  }

  /** Every session ends, as when vCenter's session times out. */
  expireSessions(): void {
    this.sessions.clear();
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Mutating calls logged since `from` (an index into `calls`). */
  mutatingCalls(from = 0): string[] {
    return this.calls.slice(from).filter((c) => FAKE_MUTATING.has(c.method)).map((c) => c.method);
  }

  /** The certificate and key vCenter presents to `provider`'s KMS (its key never leaves a real vCenter). */
  clientIdentity(provider: string): { certificatePem: string; privateKeyPem: string } | undefined {
    const c = this.crypto.providers.get(provider)?.clientCert;
    return c && { certificatePem: c.pem, privateKeyPem: c.keyPem };
  }

  /** Successful ReconfigVM_Task key changes of a VM. */
  rekeys(vmId: string): number {
    return this.vmRekey.rekeys(vmId);
  }

  /** Someone edits the VM: config.changeVersion moves on (a later ReconfigVM_Task with the old one fails). */
  touchVm(vmId: string): string {
    return this.vmRekey.touchVm(vmId);
  }

  /** The next ReconfigVM_Task of the VM ends in this fault; nothing changes (afterHome: only the VM home key does). */
  failNextReconfig(vmId: string, faultType: string, options: { message?: string; afterHome?: boolean } = {}): void {
    this.vmRekey.failNextReconfig(vmId, faultType, options);
  }

  /** Keys made by GenerateKey. */
  get generatedKeys(): KeyRecord[] {
    return this.keys.generatedKeys;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private serviceContent() {
    const { version, build } = this.about;
    const about = { _typeName: 'AboutInfo', name: 'VMware vCenter Server', fullName: `VMware vCenter Server ${version} build-${build}`, vendor: 'VMware, Inc.', version, build, apiType: 'VirtualCenter', apiVersion: API_VERSION[this.version] };
    return {
      _typeName: 'ServiceContent',
      rootFolder: ref('Folder', 'group-d1'),
      propertyCollector: ref('PropertyCollector', 'propertyCollector'),
      viewManager: ref('ViewManager', 'ViewManager'),
      about,
      sessionManager: ref('SessionManager', 'SessionManager'),
      cryptoManager: ref('CryptoManagerKmip', 'CryptoManager'),
    };
  }

  /** One vim25/vSAN method on one managed object; results in the VI/JSON shape. */
  private async dispatch(obj: { type: string; value: string }, method: string, params: Record<string, unknown>, vsan: boolean): Promise<unknown> {
    const key = `${obj.type}.${method}`;
    if (vsan) return this.hostCrypto.vsanCall(obj, method, params);
    switch (key) {
      case 'SessionManager.Logout':
        return undefined;
      case 'ViewManager.CreateContainerView':
        return this.inventory.createContainerView(params);
      case 'ContainerView.DestroyView':
        this.inventory.destroyView(obj.value);
        return undefined;
      case 'PropertyCollector.RetrievePropertiesEx':
        return this.inventory.retrievePropertiesEx(params);
      case 'PropertyCollector.ContinueRetrievePropertiesEx':
        return this.inventory.continueRetrievePropertiesEx(params);
      case 'CryptoManagerKmip.RetrieveKmipServersStatus_Task':
        return this.inventory.startTask(this.crypto.status(params), 'RetrieveKmipServersStatus');
      case 'CryptoManagerKmip.RetrieveKmipServerCert':
        return this.crypto.serverCert(params);
      case 'VirtualMachine.ReconfigVM_Task':
        return this.vmRekey.reconfigVm(obj.value, params);
      case 'VirtualMachine.MarkAsTemplate':
        return this.vmRekey.markAsTemplate(obj.value);
      case 'VirtualMachine.MarkAsVirtualMachine':
        return this.vmRekey.markAsVirtualMachine(obj.value, params);
      case 'HostSystem.ConfigureCryptoKey':
        return this.hostCrypto.configureCryptoKey(obj.value, params);
      case 'ClusterComputeResource.SetCryptoMode':
        return this.hostCrypto.setCryptoMode(obj.value, params);
      default:
        if (obj.type === 'CryptoManagerKmip') return (this.keys.call(method, params) ?? { result: this.crypto.call(method, params) }).result;
        throw new FakeFault('MethodNotFound', `${key} is not implemented by this fake`);
    }
  }

  private takeFault(method: string): FakeFault | undefined {
    const next = this.faults.get(method)?.shift();
    return next && new FakeFault(next.type, next.message);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      res.writeHead(413).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'https://fake');
    try {
      if (req.method === 'POST' && url.pathname === '/api/vcenter/system' && url.searchParams.get('action') === 'hello') return this.hello(body, res);
      const json = /^\/sdk\/(vim25|vsan)\/([^/]+)\/(.+)$/.exec(url.pathname);
      if (json) return await this.json(req, res, json[1] === 'vsan', json[2]!, json[3]!.split('/').map(decodeURIComponent), body);
      if (req.method === 'POST' && (url.pathname === '/sdk' || url.pathname === '/vsanHealth')) return await this.soap(req, res, url.pathname === '/vsanHealth', body);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`fake vCenter error: ${(err as Error).message}`);
    }
  }

  private hello(body: string, res: ServerResponse): void {
    this.calls.push({ transport: 'rest', method: 'hello', obj: 'system' });
    if (this.version !== '8.0.2') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error_type: 'NOT_FOUND', messages: [] }));
      return;
    }
    const asked = (JSON.parse(body) as { api_releases?: unknown }).api_releases;
    if (!Array.isArray(asked) || asked.length === 0 || asked.length > 128) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error_type: 'INVALID_ARGUMENT', messages: [] }));
      return;
    }
    const chosen = asked.find((r) => RELEASES[this.version].includes(String(r))) ?? '';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ api_release: chosen }));
  }

  private async json(req: IncomingMessage, res: ServerResponse, vsan: boolean, release: string, path: string[], body: string): Promise<void> {
    const answer = (status: number, doc?: unknown, headers: Record<string, string> = {}) => {
      if (doc === undefined) res.writeHead(status === 200 ? 204 : status, headers).end();
      else res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(doc));
    };
    const fault = (f: FakeFault) => answer(500, { _typeName: f.type, faultstring: f.message, ...f.props });
    if (!RELEASES[this.version].includes(release) || path.length !== 3 || (vsan && !this.inventory.vsanAvailable)) return answer(404, { _typeName: 'NotFound' });
    const [type, value, member] = path as [string, string, string];
    if (req.method === 'GET') {
      this.calls.push({ transport: 'json', method: member, obj: `${type}:${value}` });
      if (type === 'ServiceInstance' && value === 'ServiceInstance' && member === 'content') return answer(200, this.serviceContent());
      return answer(404, { _typeName: 'NotFound' });
    }
    if (req.method !== 'POST' || !/^application\/json/.test(req.headers['content-type'] ?? '')) return answer(415, { _typeName: 'InvalidRequest' });
    let params: Record<string, unknown>;
    try {
      params = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    } catch {
      return fault(new FakeFault('InvalidRequest', 'body is not JSON'));
    }
    this.calls.push({ transport: 'json', method: member, obj: `${type}:${value}` });
    try {
      checkJsonRequest(member, params);
    } catch (err) {
      return fault(err as FakeFault);
    }
    const injected = this.takeFault(member);
    if (injected) return fault(injected);
    if (type === 'SessionManager' && member === 'Login') {
      if (params['userName'] !== this.user || params['password'] !== this.password) return fault(new FakeFault('InvalidLogin', 'Cannot complete login due to an incorrect user name or password.'));
      const token = this.newSession();
      return answer(200, { _typeName: 'UserSession', key: randomBytes(8).toString('hex'), userName: this.user, fullName: this.user }, { 'vmware-api-session-id': token });
    }
    const token = req.headers['vmware-api-session-id'];
    if (typeof token !== 'string' || !this.sessions.has(token)) return fault(new FakeFault('NotAuthenticated', 'The session is not authenticated.'));
    try {
      const result = await this.dispatch({ type, value }, member, params, vsan);
      if (type === 'SessionManager' && member === 'Logout') this.sessions.delete(token);
      return answer(200, result);
    } catch (err) {
      if (err instanceof FakeFault) return fault(err);
      throw err;
    }
  }

  private async soap(req: IncomingMessage, res: ServerResponse, vsan: boolean, body: string): Promise<void> {
    const ns = vsan ? 'urn:vsan' : 'urn:vim25';
    const fault = (f: FakeFault): void => void res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' }).end(soapFault(ns, f.type, f.message, f.props));
    if (vsan && !this.inventory.vsanAvailable) return void res.writeHead(404).end();
    const action = req.headers['soapaction'];
    if (typeof action !== 'string' || !(vsan ? /^"?urn:vsan/ : /^"?urn:vim25\/\d+\.\d+/).test(action)) return fault(new FakeFault('InvalidRequest', `bad SOAPAction ${String(action)}`));
    let call;
    try {
      call = parseSoapCall(body);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad SOAP request: ${(err as Error).message}`);
      return;
    }
    if (call.namespace !== ns) return fault(new FakeFault('InvalidRequest', `method namespace ${call.namespace}, expected ${ns}`));
    this.calls.push({ transport: 'soap', method: call.method, obj: `${call.obj.type}:${call.obj.value}` });
    try {
      checkSoapRequest(call.method, call.element);
    } catch (err) {
      return fault(err as FakeFault);
    }
    const ok = (result: unknown, headers: Record<string, string> = {}): void => void res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', ...headers }).end(soapResult(call.method, ns, result));
    const injected = this.takeFault(call.method);
    if (injected) return fault(injected);
    if (call.obj.type === 'ServiceInstance' && call.method === 'RetrieveServiceContent') return ok(this.serviceContent());
    if (call.obj.type === 'SessionManager' && call.method === 'Login') {
      if (call.params['userName'] !== this.user || call.params['password'] !== this.password) return fault(new FakeFault('InvalidLogin', 'Cannot complete login due to an incorrect user name or password.'));
      const token = this.newSession();
      return ok({ _typeName: 'UserSession', key: randomBytes(8).toString('hex'), userName: this.user }, { 'set-cookie': `vmware_soap_session="${token}"; Path=/; HttpOnly; Secure;` });
    }
    const token = /vmware_soap_session="?([0-9a-f]+)"?/.exec(req.headers['cookie'] ?? '')?.[1];
    if (!token || !this.sessions.has(token)) return fault(new FakeFault('NotAuthenticated', 'The session is not authenticated.'));
    try {
      const result = await this.dispatch(call.obj, call.method, call.params, vsan);
      if (call.method === 'Logout') this.sessions.delete(token);
      return ok(result);
    } catch (err) {
      if (err instanceof FakeFault) return fault(err);
      throw err;
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
