/**
 * What the fake's PropertyCollector answers for each property path of a VM, host and cluster, in the
 * VI/JSON shape (the SOAP side writes the same with xsi:type; fake-vcenter-soap.ts). Values of
 * `any`-typed DynamicProperty.val carry `_typeName` (primitives as {_typeName, _value}, arrays as
 * ArrayOfX), data objects list their fields in WSDL order so that a client echoing a VirtualDisk
 * back (ReconfigVM_Task deviceChange) sends them in an order vCenter accepts. A path that is unset on
 * an object is absent from the map (and so from propSet).
 */
import type { FakeBacking, FakeCluster, FakeDisk, FakeHost, FakeSnapshot, FakeVm, KeyRef } from './fake-vcenter-inventory.js';

type Props = Record<string, unknown>;

export const moref = (type: string, value: string) => ({ _typeName: 'ManagedObjectReference', type, value });
export const cryptoKeyId = (k: KeyRef) => ({ _typeName: 'CryptoKeyId', keyId: k.keyId, ...(k.providerId !== undefined ? { providerId: { _typeName: 'KeyProviderId', id: k.providerId } } : {}) });
const s = (v: string) => ({ _typeName: 'string', _value: v });
const b = (v: boolean) => ({ _typeName: 'boolean', _value: v });

/** Paths that exist but may be unset on an object (then they are simply missing from propSet). */
export const KNOWN_PATHS: Record<string, string[]> = {
  VirtualMachine: [
    'name',
    'config.keyId',
    'config.template',
    'config.changeVersion',
    'config.hardware.device',
    'config.changeTrackingEnabled',
    'snapshot',
    'runtime.cryptoState',
    'runtime.powerState',
    'runtime.host',
    'resourcePool',
  ],
  HostSystem: ['name', 'parent', 'runtime.cryptoKeyId', 'runtime.cryptoState', 'runtime.connectionState', 'config.product'],
  ClusterComputeResource: ['name', 'configurationEx', 'resourcePool', 'host'],
  Task: ['info'],
};

let lastVersion = 0;
/** A config.changeVersion: an ISO timestamp, strictly later than every one handed out before. */
export function nextChangeVersion(): string {
  lastVersion = Math.max(Date.now(), lastVersion + 1);
  return new Date(lastVersion).toISOString();
}

export function changeVersionOf(vm: FakeVm): string {
  vm.changeVersion ??= nextChangeVersion();
  return vm.changeVersion;
}

export const powerStateOf = (vm: FakeVm) => vm.powerState ?? (vm.template ? 'poweredOff' : 'poweredOn');

/** VirtualDiskFlatVer2BackingInfo, fields in WSDL order (fileName … uuid, parent, keyId). */
function backing(bk: FakeBacking): Record<string, unknown> {
  return {
    _typeName: 'VirtualDiskFlatVer2BackingInfo',
    fileName: bk.fileName,
    diskMode: 'persistent',
    thinProvisioned: true,
    ...(bk.parent ? { parent: backing(bk.parent) } : {}),
    ...(bk.keyId ? { keyId: cryptoKeyId(bk.keyId) } : {}),
  };
}

const description = (label: string, summary: string) => ({ _typeName: 'Description', label, summary });
const SCSI_KEY = 1000;
const IDE_KEY = 200;
const IDE_CDROM_KEY = 3002;

function disk(d: FakeDisk, unit: number): Record<string, unknown> {
  const kb = d.capacityKb ?? 16 * 1024 * 1024;
  return {
    _typeName: 'VirtualDisk',
    key: d.key,
    deviceInfo: description(d.label, `${kb.toLocaleString('en-US')} KB`),
    backing: backing(d),
    controllerKey: SCSI_KEY,
    unitNumber: unit,
    capacityInKB: kb,
    capacityInBytes: kb * 1024,
  };
}

/** config.hardware.device: a SCSI controller, the disks, an IDE controller, a vTPM (as configured). */
export function devices(vm: FakeVm): Array<Record<string, unknown>> {
  const disks = vm.disks ?? [];
  return [
    // Every real VM has two IDE controllers (govmomi's captured device list); only an "ide" VM has something on one.
    { _typeName: 'VirtualIDEController', key: IDE_KEY, deviceInfo: description('IDE 0', 'IDE 0'), busNumber: 0, ...(vm.ide ? { device: [IDE_CDROM_KEY] } : {}) },
    { _typeName: 'VirtualIDEController', key: IDE_KEY + 1, deviceInfo: description('IDE 1', 'IDE 1'), busNumber: 1 },
    ...(vm.ide ? [{ _typeName: 'VirtualCdrom', key: IDE_CDROM_KEY, deviceInfo: description('CD/DVD drive 1', 'Remote device'), controllerKey: IDE_KEY, unitNumber: 0 }] : []),
    { _typeName: 'ParaVirtualSCSIController', key: SCSI_KEY, deviceInfo: description('SCSI controller 0', 'VMware paravirtual SCSI'), busNumber: 0, device: disks.map((d) => d.key), sharedBus: 'noSharing' },
    ...disks.map((d, i) => disk(d, i)),
    ...(vm.vtpm ? [{ _typeName: 'VirtualTPM', key: 11000, deviceInfo: description('Virtual TPM', 'Virtual TPM') }] : []),
  ];
}

function snapshotTree(vm: FakeVm, node: FakeSnapshot, counter: { n: number }): Record<string, unknown> {
  const id = ++counter.n;
  return {
    _typeName: 'VirtualMachineSnapshotTree',
    snapshot: moref('VirtualMachineSnapshot', `snapshot-${vm.id.replace(/^vm-/, '')}-${id}`),
    vm: moref('VirtualMachine', vm.id),
    name: node.name,
    description: '',
    id,
    createTime: '2026-01-01T00:00:00Z',
    state: 'poweredOff',
    quiesced: false,
    ...(node.children?.length ? { childSnapshotList: node.children.map((c) => snapshotTree(vm, c, counter)) } : {}),
  };
}

export function vmProps(vm: FakeVm): Props {
  return {
    name: s(vm.name),
    'config.template': b(vm.template === true),
    ...(vm.key ? { 'config.keyId': cryptoKeyId(vm.key) } : {}),
    'config.changeVersion': s(changeVersionOf(vm)),
    'config.hardware.device': { _typeName: 'ArrayOfVirtualDevice', _value: devices(vm) },
    'config.changeTrackingEnabled': b(vm.cbt === true),
    ...(vm.snapshots?.length ? { snapshot: { _typeName: 'VirtualMachineSnapshotInfo', rootSnapshotList: vm.snapshots.map((n) => snapshotTree(vm, n, { n: 0 })) } } : {}),
    'runtime.cryptoState': s(vm.locked ? 'locked' : 'unlocked'),
    'runtime.powerState': s(powerStateOf(vm)),
    ...(vm.host !== undefined ? { 'runtime.host': moref('HostSystem', vm.host) } : {}),
    ...(vm.pool !== undefined && !vm.template ? { resourcePool: moref('ResourcePool', vm.pool) } : {}),
  };
}

export function hostProps(h: FakeHost): Props {
  const version = h.version ?? '8.0.3';
  const build = h.build ?? '24674464';
  return {
    name: s(h.name),
    ...(h.cluster !== undefined ? { parent: moref('ClusterComputeResource', h.cluster) } : {}),
    ...(h.key ? { 'runtime.cryptoKeyId': cryptoKeyId(h.key) } : {}),
    'runtime.cryptoState': s(h.cryptoState ?? (h.key ? 'safe' : 'incapable')),
    'runtime.connectionState': s(h.connectionState ?? 'connected'),
    'config.product': {
      _typeName: 'AboutInfo',
      name: 'VMware ESXi',
      fullName: `VMware ESXi ${version} build-${build}`,
      vendor: 'VMware, Inc.',
      version,
      build,
      osType: 'vmnix-x86',
      productLineId: 'embeddedEsx',
      apiType: 'HostAgent',
      apiVersion: `${version}.0`,
    },
  };
}

export const poolOf = (c: FakeCluster) => c.resourcePool ?? `resgroup-${c.id.replace(/^domain-/, '')}`;

/** configurationEx.cryptoConfig as vCenter reports it (ClusterCryptoConfigInfo). */
function cryptoConfig(c: FakeCluster): Record<string, unknown> | undefined {
  const cfg = c.cryptoConfig ?? (c.hostKeyPolicyProvider !== undefined ? { cryptoMode: 'forceEnable', policy: { providerId: c.hostKeyPolicyProvider } } : undefined);
  if (!cfg) return undefined;
  const p = cfg.policy;
  return {
    _typeName: 'ClusterCryptoConfigInfo',
    cryptoMode: cfg.cryptoMode,
    ...(p && (p.keyId || p.providerId !== undefined)
      ? {
          policy: {
            _typeName: 'ClusterComputeResourceCryptoModePolicy',
            ...(p.keyId ? { keyId: cryptoKeyId(p.keyId) } : {}),
            ...(p.providerId !== undefined ? { providerId: { _typeName: 'KeyProviderId', id: p.providerId } } : {}),
          },
        }
      : {}),
  };
}

export function clusterProps(c: FakeCluster, hosts: readonly FakeHost[]): Props {
  const crypto = cryptoConfig(c);
  return {
    name: s(c.name),
    configurationEx: {
      _typeName: 'ClusterConfigInfoEx',
      vsanConfigInfo: { _typeName: 'VsanClusterConfigInfo', enabled: c.vsan?.enabled === true },
      ...(crypto ? { cryptoConfig: crypto } : {}),
    },
    resourcePool: moref('ResourcePool', poolOf(c)),
    host: { _typeName: 'ArrayOfManagedObjectReference', _value: hosts.filter((h) => h.cluster === c.id).map((h) => moref('HostSystem', h.id)) },
  };
}
