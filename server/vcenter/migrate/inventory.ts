/**
 * What a migration needs to know about vCenter, read in one paged PropertyCollector pass (VMs and templates,
 * hosts, clusters), plus the vSAN endpoint for vSAN clusters (encryption, health, resync) and the key
 * providers with their defaults. Plain records out, so planning is a pure function of them; the same reading
 * of one object (readVm, readHost) serves the apply step, which always acts on fresh state.
 */
import { z } from 'zod';
import { CryptoManagerKmip } from '../crypto-manager.js';
import { VcenterError } from '../errors.js';
import { readObject, retrieveInventory, type InventoryObject } from '../property-collector.js';
import { policyProviderOf, VSAN_CONFIG_SYSTEM } from '../usage.js';
import type { VcenterSession } from '../session.js';
import { moRef, unwrapAny, type DataObject, type MoRef } from '../transport.js';
import { BoolSchema, ClusterConfigExSchema, CryptoKeyIdSchema, IntSchema, MoRefSchema, StrSchema, VsanConfigInfoExSchema, list, read } from '../wire.js';

export interface KeyRef {
  readonly keyId: string;
  /** Unset when the key names no provider (vCenter then looks it up in its cache). */
  readonly providerId?: string;
}

export interface DiskRecord {
  /** The VirtualDisk exactly as read: a rekey echoes it back. */
  readonly device: DataObject;
  readonly label: string;
  readonly key?: KeyRef;
  /** The backing has a parent disk: a snapshot delta or a linked clone. */
  readonly hasParent: boolean;
}

export interface VmRecord {
  readonly ref: MoRef;
  readonly name: string;
  readonly template: boolean;
  readonly key?: KeyRef;
  readonly changeVersion?: string;
  readonly disks: readonly DiskRecord[];
  /** An IDE controller with a device attached (a powered-on VM must be powered off for its rekey). */
  readonly hasIde: boolean;
  readonly snapshots: 'none' | 'chain' | 'tree';
  readonly powerState: string;
  readonly cryptoState?: string;
  readonly host?: MoRef;
  readonly changeTracking: boolean;
}

export interface HostRecord {
  readonly ref: MoRef;
  readonly name: string;
  readonly parent?: MoRef;
  readonly key?: KeyRef;
  readonly cryptoState?: string;
  readonly connectionState: string;
  readonly version?: string;
  readonly build?: string;
}

export interface VsanRecord {
  readonly encryptionEnabled: boolean;
  readonly provider?: string;
  readonly changing: boolean;
  readonly health?: string;
  readonly objectsToSync?: number;
  /** What could not be read (a switch it needs is then blocked: we cannot prove it safe). */
  readonly unreadable?: string;
  /** The encryption settings themselves could not be read: whether it uses the old provider is unknown. */
  readonly configUnreadable?: boolean;
}

export interface ClusterRecord {
  readonly ref: MoRef;
  readonly name: string;
  readonly resourcePool?: MoRef;
  readonly hostKeyPolicy?: { readonly cryptoMode?: string; readonly providerId?: string };
  readonly vsan?: VsanRecord;
}

export interface ProviderRecord {
  readonly id: string;
  readonly managementType?: string;
  readonly isDefault: boolean;
  readonly entityDefaults: readonly MoRef[];
}

export interface MigrationInventory {
  readonly vcenter: string;
  readonly vcenterVersion?: string;
  readonly providers: readonly ProviderRecord[];
  readonly vms: readonly VmRecord[];
  readonly hosts: readonly HostRecord[];
  readonly clusters: readonly ClusterRecord[];
  /** Names of everything read, by `type:value`. */
  readonly names: ReadonlyMap<string, string>;
}

export const VSAN_HEALTH_SYSTEM: MoRef = { type: 'VsanVcClusterHealthSystem', value: 'vsan-cluster-health-system' };
export const VSAN_OBJECT_SYSTEM: MoRef = { type: 'VsanObjectSystem', value: 'vsan-cluster-object-system' };

export const VM_PATHS = [
  'name',
  'config.template',
  'config.keyId',
  'config.changeVersion',
  'config.hardware.device',
  'config.changeTrackingEnabled',
  'snapshot',
  'runtime.powerState',
  'runtime.cryptoState',
  'runtime.host',
] as const;
export const HOST_PATHS = ['name', 'parent', 'runtime.cryptoKeyId', 'runtime.cryptoState', 'runtime.connectionState', 'config.product'] as const;
const CLUSTER_PATHS = ['name', 'configurationEx', 'resourcePool'] as const;

const DeviceSchema = z.object({ _typeName: z.string().optional(), key: IntSchema.optional(), deviceInfo: z.object({ label: z.string().optional() }).loose().optional(), backing: z.object({ keyId: CryptoKeyIdSchema.optional(), parent: z.unknown().optional() }).loose().optional() }).loose();
type SnapshotNode = { childSnapshotList?: unknown };
const AboutSchema = z.object({ version: StrSchema.optional(), build: StrSchema.optional() }).loose();

const keyRef = (k: z.infer<typeof CryptoKeyIdSchema> | undefined): KeyRef | undefined => (k && k.keyId !== '' ? { keyId: k.keyId, ...(k.providerId ? { providerId: k.providerId.id } : {}) } : undefined);

function prop<T extends z.ZodType>(o: InventoryObject, path: string, schema: T): z.infer<T> | undefined {
  const v = o.props.get(path);
  return v === undefined || v === '' ? undefined : read(schema, v, `${o.ref.type} ${o.ref.value} ${path}`);
}

/** 'tree' when any snapshot has more than one child (a shallow rekey refuses those), 'chain' for a line. */
function snapshotShape(snapshot: unknown): VmRecord['snapshots'] {
  const roots = list(z.unknown()).parse((snapshot as { rootSnapshotList?: unknown } | undefined)?.rootSnapshotList);
  if (roots.length === 0) return 'none';
  if (roots.length > 1) return 'tree';
  const walk = (nodes: readonly unknown[]): boolean => nodes.some((n) => {
    const children = list(z.unknown()).parse((n as SnapshotNode).childSnapshotList);
    return children.length > 1 || walk(children);
  });
  return walk(roots) ? 'tree' : 'chain';
}

export function vmRecord(o: InventoryObject): VmRecord {
  const devices = list(DeviceSchema).parse(unwrapAny(o.props.get('config.hardware.device')));
  const raw = list(z.unknown()).parse(unwrapAny(o.props.get('config.hardware.device')));
  const disks: DiskRecord[] = [];
  devices.forEach((d, i) => {
    if (d._typeName !== 'VirtualDisk') return;
    const key = keyRef(d.backing?.keyId);
    disks.push({ device: raw[i] as DataObject, label: d.deviceInfo?.label ?? `disk ${d.key ?? i}`, ...(key ? { key } : {}), hasParent: d.backing?.parent !== undefined && d.backing.parent !== '' });
  });
  const key = keyRef(prop(o, 'config.keyId', CryptoKeyIdSchema));
  const host = prop(o, 'runtime.host', MoRefSchema);
  const changeVersion = prop(o, 'config.changeVersion', StrSchema);
  const cryptoState = prop(o, 'runtime.cryptoState', StrSchema);
  return {
    ref: o.ref,
    name: prop(o, 'name', StrSchema) ?? o.ref.value,
    template: prop(o, 'config.template', BoolSchema) ?? false,
    ...(key ? { key } : {}),
    ...(changeVersion ? { changeVersion } : {}),
    disks,
    // Every VM lists IDE 0 and IDE 1; only a controller with a device on it makes a powered-on rekey fail.
    hasIde: devices.some((d) => d._typeName === 'VirtualIDEController' && list(z.unknown()).parse(unwrapAny((d as { device?: unknown }).device)).length > 0),
    snapshots: snapshotShape(o.props.get('snapshot')),
    powerState: prop(o, 'runtime.powerState', StrSchema) ?? 'unknown',
    ...(cryptoState ? { cryptoState } : {}),
    ...(host ? { host: { type: host.type, value: host.value } } : {}),
    changeTracking: prop(o, 'config.changeTrackingEnabled', BoolSchema) ?? false,
  };
}

export function hostRecord(o: InventoryObject): HostRecord {
  const key = keyRef(prop(o, 'runtime.cryptoKeyId', CryptoKeyIdSchema));
  const parent = prop(o, 'parent', MoRefSchema);
  const about = prop(o, 'config.product', AboutSchema);
  const cryptoState = prop(o, 'runtime.cryptoState', StrSchema);
  return {
    ref: o.ref,
    name: prop(o, 'name', StrSchema) ?? o.ref.value,
    ...(parent ? { parent: { type: parent.type, value: parent.value } } : {}),
    ...(key ? { key } : {}),
    ...(cryptoState ? { cryptoState } : {}),
    connectionState: prop(o, 'runtime.connectionState', StrSchema) ?? 'unknown',
    ...(about?.version ? { version: about.version } : {}),
    ...(about?.build ? { build: about.build } : {}),
  };
}

const HealthSchema = z.object({ overallHealth: StrSchema.optional() }).loose();
const ResyncSchema = z.object({ totalObjectsToSync: IntSchema.optional() }).loose();

/** vSAN encryption, health and resync of one cluster; what cannot be read is said, never guessed. */
export async function readVsan(session: VcenterSession, cluster: MoRef): Promise<VsanRecord> {
  let config;
  try {
    config = read(VsanConfigInfoExSchema, await session.callVsan(VSAN_CONFIG_SYSTEM, 'VsanClusterGetConfig', { cluster: moRef(cluster) }), 'VsanClusterGetConfig');
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    return { encryptionEnabled: false, changing: false, unreadable: `vSAN settings could not be read: ${err.message}`, configUnreadable: true };
  }
  const enc = config.dataEncryptionConfig;
  const base = { encryptionEnabled: enc?.encryptionEnabled === true, ...(enc?.kmsProviderId ? { provider: enc.kmsProviderId.id } : {}), changing: enc?.changing === true };
  const problems: string[] = [];
  let health: string | undefined;
  let objectsToSync: number | undefined;
  try {
    health = read(HealthSchema, await session.callVsan(VSAN_HEALTH_SYSTEM, 'VsanQueryVcClusterHealthSummary', { cluster: moRef(cluster), fields: ['overallHealth'], fetchFromCache: true }), 'VsanQueryVcClusterHealthSummary').overallHealth;
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    problems.push(`health: ${err.message}`);
  }
  try {
    objectsToSync = read(ResyncSchema, await session.callVsan(VSAN_OBJECT_SYSTEM, 'QuerySyncingVsanObjectsSummary', { cluster: moRef(cluster) }), 'QuerySyncingVsanObjectsSummary').totalObjectsToSync;
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    problems.push(`resync: ${err.message}`);
  }
  return { ...base, ...(health ? { health } : {}), ...(objectsToSync !== undefined ? { objectsToSync } : {}), ...(problems.length ? { unreadable: problems.join('; ') } : {}) };
}

export async function readProviders(session: VcenterSession): Promise<ProviderRecord[]> {
  return (await new CryptoManagerKmip(session).listKmsClusters()).map((c) => ({
    id: c.clusterId.id,
    ...(c.managementType ? { managementType: c.managementType } : {}),
    isDefault: c.useAsDefault,
    entityDefaults: c.useAsEntityDefault.map((r) => ({ type: r.type, value: r.value })),
  }));
}

/** The whole inventory a plan and a verify look at. vSAN is read only for clusters with vSAN enabled. */
export async function readMigrationInventory(session: VcenterSession, options: { pageSize?: number } = {}): Promise<MigrationInventory> {
  const providers = await readProviders(session);
  const objects = await retrieveInventory(
    session,
    [
      { type: 'VirtualMachine', paths: VM_PATHS },
      { type: 'HostSystem', paths: HOST_PATHS },
      { type: 'ClusterComputeResource', paths: CLUSTER_PATHS },
    ],
    options.pageSize ?? 100,
  );
  const names = new Map<string, string>();
  const vms: VmRecord[] = [];
  const hosts: HostRecord[] = [];
  const clusters: ClusterRecord[] = [];
  for (const o of objects) {
    names.set(`${o.ref.type}:${o.ref.value}`, prop(o, 'name', StrSchema) ?? o.ref.value);
    if (o.ref.type === 'VirtualMachine') vms.push(vmRecord(o));
    else if (o.ref.type === 'HostSystem') hosts.push(hostRecord(o));
    else if (o.ref.type === 'ClusterComputeResource') {
      const cfg = prop(o, 'configurationEx', ClusterConfigExSchema) ?? {};
      const pool = prop(o, 'resourcePool', MoRefSchema);
      const policyProvider = policyProviderOf(cfg);
      const policy = cfg.cryptoConfig ? { ...(cfg.cryptoConfig.cryptoMode ? { cryptoMode: cfg.cryptoConfig.cryptoMode } : {}), ...(policyProvider ? { providerId: policyProvider } : {}) } : undefined;
      clusters.push({
        ref: o.ref,
        name: prop(o, 'name', StrSchema) ?? o.ref.value,
        ...(pool ? { resourcePool: { type: pool.type, value: pool.value } } : {}),
        ...(policy ? { hostKeyPolicy: policy } : {}),
        ...(cfg.vsanConfigInfo?.enabled === true ? { vsan: await readVsan(session, o.ref) } : {}),
      });
    }
  }
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  return {
    vcenter: session.description,
    ...(session.content.about.version ? { vcenterVersion: session.content.about.version } : {}),
    providers,
    vms: vms.sort(byName),
    hosts: hosts.sort(byName),
    clusters: clusters.sort(byName),
    names,
  };
}

export async function readVm(session: VcenterSession, ref: MoRef): Promise<VmRecord> {
  return vmRecord(await readObject(session, ref, VM_PATHS));
}

export async function readHost(session: VcenterSession, ref: MoRef): Promise<HostRecord> {
  return hostRecord(await readObject(session, ref, HOST_PATHS));
}
