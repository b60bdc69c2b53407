/**
 * The request contract the fake vCenter enforces, per method (reference §B.2/§B.3, field names and
 * WSDL order as in govmomi's types.go): in VI/JSON, arrays are arrays, numbers numbers, booleans
 * booleans, no unknown fields, and a subtype sent where its base type is declared carries its
 * `_typeName`; in SOAP, the same fields as elements in WSDL order with references as `type`
 * attributes and a subtype's xsi:type. A client that sends another shape gets a fault here.
 */
import { attr, XSI_NS, type XmlElement } from '../../server/vcenter/soap-xml.js';
import { FakeFault } from './fake-vcenter-crypto.js';

type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'moref'
  | { readonly array: Shape }
  | { readonly object: Readonly<Record<string, Shape>>; readonly subtype?: string }
  /**
   * A data object of one of these types (`_typeName` / xsi:type), its fields not checked (a device echoed as
   * read) except `typed`: fields declared as a base type, whose every value must name its subtype.
   */
  | { readonly anyOf: readonly string[]; readonly typed?: Readonly<Record<string, readonly string[]>> };

const ProviderId: Shape = { object: { id: 'string' } };
const ServerInfo: Shape = { object: { name: 'string', address: 'string', port: 'number', proxyAddress: 'string', proxyPort: 'number', reconnect: 'number', protocol: 'string', nbio: 'number', timeout: 'number', userName: 'string' } };
const ServerSpec: Shape = { object: { clusterId: ProviderId, info: ServerInfo, password: 'string' } };
const ClusterInfo: Shape = { object: { clusterId: ProviderId, servers: { array: ServerInfo }, useAsDefault: 'boolean', managementType: 'string', useAsEntityDefault: { array: 'moref' } } };
const Traversal: Shape = { object: { name: 'string', type: 'string', path: 'string', skip: 'boolean' }, subtype: 'TraversalSpec' };
const FilterSpec: Shape = {
  object: {
    propSet: { array: { object: { type: 'string', all: 'boolean', pathSet: { array: 'string' } } } },
    objectSet: { array: { object: { obj: 'moref', skip: 'boolean', selectSet: { array: Traversal } } } },
    reportMissingObjectsInResults: 'boolean',
  },
};

const CryptoKeyId: Shape = { object: { keyId: 'string', providerId: ProviderId } };
const ShallowRecrypt: Shape = { object: { newKeyId: CryptoKeyId }, subtype: 'CryptoSpecShallowRecrypt' };
/** VirtualDeviceConfigSpec as a shallow rekey sends it (operation, fileOperation, device, profile, backing). */
const DeviceConfigSpec: Shape = {
  object: {
    operation: 'string',
    fileOperation: 'string',
    // independentFilters is declared as VirtualMachineBaseIndependentFilterSpec: vCenter cannot read one without its type.
    device: { anyOf: ['VirtualDisk'], typed: { independentFilters: ['VirtualMachineIndependentFilterSpec'] } },
    profile: { array: { anyOf: ['VirtualMachineDefinedProfileSpec', 'VirtualMachineEmptyProfileSpec'] } },
    backing: { object: { parent: { object: { crypto: ShallowRecrypt } }, crypto: ShallowRecrypt } },
  },
};
/** VirtualMachineConfigSpec: only what a rekey sends (changeVersion … deviceChange … crypto). */
const VmConfigSpec: Shape = { object: { changeVersion: 'string', deviceChange: { array: DeviceConfigSpec }, crypto: ShallowRecrypt } };
const VsanReconfigSpec: Shape = {
  object: {
    modify: 'boolean',
    allowReducedRedundancy: 'boolean',
    dataEncryptionConfig: { object: { encryptionEnabled: 'boolean', kmsProviderId: ProviderId, eraseDisksBeforeUse: 'boolean' } },
  },
};

/** Parameters of each method we emulate, in WSDL order. */
export const METHOD_PARAMS: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
  RetrieveServiceContent: {},
  Login: { userName: 'string', password: 'string', locale: 'string' },
  Logout: {},
  ListKmsClusters: { includeKmsServers: 'boolean', managementTypeFilter: 'number', statusFilter: 'number' },
  ListKmipServers: { limit: 'number' },
  RegisterKmipServer: { server: ServerSpec },
  UpdateKmipServer: { server: ServerSpec },
  RemoveKmipServer: { clusterId: ProviderId, serverName: 'string' },
  MarkDefault: { clusterId: ProviderId },
  RetrieveKmipServerCert: { keyProvider: ProviderId, server: ServerInfo },
  UploadKmipServerCert: { cluster: ProviderId, certificate: 'string' },
  RetrieveClientCert: { cluster: ProviderId },
  RetrieveClientCsr: { cluster: ProviderId },
  GenerateClientCsr: { cluster: ProviderId },
  UpdateKmsSignedCsrClientCert: { cluster: ProviderId, certificate: 'string' },
  RetrieveKmipServersStatus_Task: { clusters: { array: ClusterInfo } },
  CreateContainerView: { container: 'moref', type: { array: 'string' }, recursive: 'boolean' },
  DestroyView: {},
  RetrievePropertiesEx: { specSet: { array: FilterSpec }, options: { object: { maxObjects: 'number' } } },
  ContinueRetrievePropertiesEx: { token: 'string' },
  VsanClusterGetConfig: { cluster: 'moref' },
  // The provider-change rekey (rekey reference §2–§4).
  ReconfigVM_Task: { spec: VmConfigSpec },
  MarkAsTemplate: {},
  MarkAsVirtualMachine: { pool: 'moref', host: 'moref' },
  GenerateKey: { keyProvider: ProviderId },
  QueryCryptoKeyStatus: { keyIds: { array: CryptoKeyId }, checkKeyBitMap: 'number' },
  SetDefaultKmsCluster: { entity: 'moref', clusterId: ProviderId },
  GetDefaultKmsCluster: { entity: 'moref', defaultsToParent: 'boolean' },
  UnregisterKmsCluster: { clusterId: ProviderId },
  ConfigureCryptoKey: { keyId: CryptoKeyId },
  SetCryptoMode: { cryptoMode: 'string', policy: { object: { keyId: CryptoKeyId, providerId: ProviderId } } },
  VsanClusterReconfig: { cluster: 'moref', vsanReconfigSpec: VsanReconfigSpec },
  VsanQueryVcClusterHealthSummary: { cluster: 'moref', vmCreateTimeout: 'number', objUuids: { array: 'string' }, includeObjUuids: 'boolean', fields: { array: 'string' }, fetchFromCache: 'boolean', perspective: 'string' },
  QuerySyncingVsanObjectsSummary: { cluster: 'moref', syncingObjectFilter: { object: { resyncType: 'string', resyncStatus: 'string', numberOfObjects: 'number', offset: 'number' } } },
};

const bad = (path: string, why: string): never => {
  throw new FakeFault('InvalidRequest', `${path}: ${why}`);
};

function checkJson(shape: Shape, v: unknown, path: string): void {
  if (shape === 'string' || shape === 'number' || shape === 'boolean') {
    if (typeof v !== shape) bad(path, `expected a ${shape}, got ${JSON.stringify(v)}`);
    return;
  }
  if (shape === 'moref') {
    const r = v as { type?: unknown; value?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.type !== 'string' || typeof r.value !== 'string') bad(path, 'expected a managed object reference');
    return;
  }
  if ('array' in shape) {
    if (!Array.isArray(v)) bad(path, 'expected an array');
    (v as unknown[]).forEach((x, i) => checkJson(shape.array, x, `${path}[${i}]`));
    return;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'expected an object');
  if ('anyOf' in shape) {
    const t = (v as Record<string, unknown>)['_typeName'];
    if (typeof t !== 'string' || !shape.anyOf.includes(t)) bad(path, `needs "_typeName" of ${shape.anyOf.join(' | ')}, got ${JSON.stringify(t)}`);
    for (const [k, types] of Object.entries(shape.typed ?? {})) {
      const values = (v as Record<string, unknown>)[k];
      (Array.isArray(values) ? values : values === undefined ? [] : [values]).forEach((x, i) => checkJson({ anyOf: types }, x, `${path}.${k}[${i}]`));
    }
    return;
  }
  const o = v as Record<string, unknown>;
  if (shape.subtype && o['_typeName'] !== shape.subtype) bad(path, `a ${shape.subtype} here needs "_typeName": "${shape.subtype}"`);
  for (const [k, x] of Object.entries(o)) {
    if (k === '_typeName') continue;
    const field = shape.object[k];
    if (!field) bad(`${path}.${k}`, 'unknown field');
    checkJson(field!, x, `${path}.${k}`);
  }
}

function checkXml(shape: Shape, el: XmlElement, path: string): void {
  if (shape === 'string') return;
  if (shape === 'number') {
    if (!/^-?\d+$/.test(el.text)) bad(path, `expected an integer, got ${el.text}`);
    return;
  }
  if (shape === 'boolean') {
    if (el.text !== 'true' && el.text !== 'false') bad(path, `expected true or false, got ${el.text}`);
    return;
  }
  if (shape === 'moref') {
    if (attr(el, 'type') === undefined || el.children.length > 0) bad(path, 'expected a managed object reference (type attribute)');
    return;
  }
  if ('array' in shape) return checkXml(shape.array, el, path);
  if ('anyOf' in shape) {
    const t = attr(el, 'type', XSI_NS)?.replace(/^.*:/, '');
    if (t === undefined || !shape.anyOf.includes(t)) bad(path, `needs xsi:type of ${shape.anyOf.join(' | ')}, got ${t ?? 'none'}`);
    for (const c of el.children) {
      const types = shape.typed?.[c.name];
      if (types) checkXml({ anyOf: types }, c, `${path}.${c.name}`);
    }
    return;
  }
  if (shape.subtype && attr(el, 'type', XSI_NS)?.replace(/^.*:/, '') !== shape.subtype) bad(path, `a ${shape.subtype} here needs xsi:type="${shape.subtype}"`);
  checkChildren(shape.object, el.children, path);
}

/** Children must be known fields, in WSDL order (a field repeated only when it is an array). */
function checkChildren(fields: Readonly<Record<string, Shape>>, children: readonly XmlElement[], path: string): void {
  const order = Object.keys(fields);
  let last = -1;
  let lastName = '';
  for (const c of children) {
    const i = order.indexOf(c.name);
    if (i === -1) bad(`${path}.${c.name}`, 'unknown element');
    if (i < last || (i === last && !(typeof fields[c.name] === 'object' && 'array' in (fields[c.name] as object)))) bad(`${path}.${c.name}`, `out of WSDL order (after ${lastName})`);
    last = i;
    lastName = c.name;
    checkXml(fields[c.name]!, c, `${path}.${c.name}`);
  }
}

export function checkJsonRequest(method: string, params: Record<string, unknown>): void {
  const fields = METHOD_PARAMS[method];
  if (fields) checkJson({ object: fields }, params, method);
}

/** `call` is the method element of the SOAP body (its first child is _this). */
export function checkSoapRequest(method: string, call: XmlElement): void {
  const fields = METHOD_PARAMS[method];
  if (!fields) return;
  if (call.children[0]?.name !== '_this') bad(method, '_this must come first');
  checkChildren(fields, call.children.slice(1), method);
}
