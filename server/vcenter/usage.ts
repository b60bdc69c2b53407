/**
 * Who still uses key provider X (reference §C.4): one PropertyCollector filter over a container view
 * of VirtualMachine, HostSystem and ClusterComputeResource (paged), then VsanClusterGetConfig for the
 * vSAN-enabled clusters, and the provider's default flags. Teardown refuses while anything is listed.
 */
import type { z } from 'zod';
import { CryptoManagerKmip } from './crypto-manager.js';
import { VcenterError } from './errors.js';
import { retrieveInventory, type InventoryObject } from './property-collector.js';
import type { VcenterSession } from './session.js';
import { moRef, type MoRef } from './transport.js';
import { BoolSchema, ClusterConfigExSchema, CryptoKeyIdSchema, StrSchema, VsanConfigInfoExSchema, read } from './wire.js';

export interface UsageEntry {
  readonly id: string;
  readonly name: string;
  readonly kind: 'vm' | 'template' | 'host' | 'vsan-cluster' | 'cluster-host-key-policy' | 'entity-default';
  /** Why it counts: the key id, or what could not be read. */
  readonly detail: string;
  /** The key vCenter holds for it (CryptoKeyId.keyId, the KMIP Unique Identifier), when it names one. */
  readonly keyId?: string;
}

export interface ProviderUsage {
  readonly provider: string;
  readonly vcenter: string;
  /** Whether vCenter lists the provider at all. */
  readonly registered: boolean;
  readonly isDefault: boolean;
  readonly users: readonly UsageEntry[];
  /** Encrypted VMs whose key names no provider: they might use this one (counted as users). */
  readonly unknownProvider: readonly UsageEntry[];
  /** vSAN clusters whose encryption settings could not be read (counted as users: we cannot prove otherwise). */
  readonly unreadable: readonly UsageEntry[];
  readonly counts: { readonly vms: number; readonly hosts: number; readonly clusters: number; readonly scanned: number };
  readonly inUse: boolean;
}

export const VSAN_CONFIG_SYSTEM: MoRef = { type: 'VsanVcClusterConfigSystem', value: 'vsan-cluster-config-system' };

const PROPERTIES = [
  { type: 'VirtualMachine', paths: ['name', 'config.keyId', 'config.template', 'runtime.cryptoState'] },
  { type: 'HostSystem', paths: ['name', 'runtime.cryptoKeyId', 'runtime.cryptoState'] },
  // configurationEx is heavy, but its subtype fields (vsanConfigInfo, cryptoConfig) cannot be selected on their own.
  { type: 'ClusterComputeResource', paths: ['name', 'configurationEx'] },
] as const;

function keyOf(o: InventoryObject, path: string) {
  const v = o.props.get(path);
  return v === undefined || v === '' ? undefined : read(CryptoKeyIdSchema, v, `${o.ref.type} ${o.ref.value} ${path}`);
}

function nameOf(o: InventoryObject): string {
  const n = o.props.get('name');
  return n === undefined ? o.ref.value : read(StrSchema, n, `${o.ref.value} name`);
}

/** The provider a cluster's host-key policy names: directly, or through the key it names (8.0.3+). */
export function policyProviderOf(cfg: z.infer<typeof ClusterConfigExSchema>): string | undefined {
  return cfg.cryptoConfig?.policy?.providerId?.id ?? cfg.cryptoConfig?.policy?.keyId?.providerId?.id;
}

export async function providerUsage(session: VcenterSession, provider: string, options: { pageSize?: number } = {}): Promise<ProviderUsage> {
  const cm = new CryptoManagerKmip(session);
  const info = (await cm.listKmsClusters()).find((c) => c.clusterId.id === provider);
  const inventory = await retrieveInventory(session, PROPERTIES, options.pageSize ?? 100);
  const users: UsageEntry[] = [];
  const unknownProvider: UsageEntry[] = [];
  const unreadable: UsageEntry[] = [];
  const names = new Map(inventory.map((o) => [`${o.ref.type}:${o.ref.value}`, nameOf(o)]));
  let vms = 0;
  let hosts = 0;
  let clusters = 0;

  for (const o of inventory) {
    if (o.ref.type === 'VirtualMachine') {
      const key = keyOf(o, 'config.keyId');
      if (!key) continue;
      const template = o.props.has('config.template') && read(BoolSchema, o.props.get('config.template'), 'config.template');
      const entry: UsageEntry = { id: o.ref.value, name: nameOf(o), kind: template ? 'template' : 'vm', detail: `key ${key.keyId}`, ...(key.keyId ? { keyId: key.keyId } : {}) };
      if (!key.providerId) unknownProvider.push({ ...entry, detail: `key ${key.keyId} names no provider` });
      else if (key.providerId.id === provider) {
        users.push(entry);
        vms++;
      }
    } else if (o.ref.type === 'HostSystem') {
      const key = keyOf(o, 'runtime.cryptoKeyId');
      if (key?.providerId?.id === provider) {
        users.push({ id: o.ref.value, name: nameOf(o), kind: 'host', detail: `host key ${key.keyId}`, ...(key.keyId ? { keyId: key.keyId } : {}) });
        hosts++;
      }
    } else if (o.ref.type === 'ClusterComputeResource') {
      const raw = o.props.get('configurationEx');
      const cfg = raw === undefined ? {} : read(ClusterConfigExSchema, raw, `${o.ref.value} configurationEx`);
      let counted = false;
      if (policyProviderOf(cfg) === provider) {
        const pinned = cfg.cryptoConfig?.policy?.keyId?.keyId;
        users.push({ id: o.ref.value, name: nameOf(o), kind: 'cluster-host-key-policy', detail: `host key policy (${cfg.cryptoConfig?.cryptoMode ?? 'crypto mode unset'})`, ...(pinned ? { keyId: pinned } : {}) });
        counted = true;
      }
      if (cfg.vsanConfigInfo?.enabled === true) {
        try {
          const vsan = read(VsanConfigInfoExSchema, await session.callVsan(VSAN_CONFIG_SYSTEM, 'VsanClusterGetConfig', { cluster: moRef(o.ref) }), 'VsanClusterGetConfig');
          const enc = vsan.dataEncryptionConfig;
          if (enc?.encryptionEnabled === true && enc.kmsProviderId?.id === provider) {
            users.push({ id: o.ref.value, name: nameOf(o), kind: 'vsan-cluster', detail: `vSAN data-at-rest encryption${enc.changing ? ' (being changed)' : ''}` });
            counted = true;
          }
        } catch (err) {
          if (!(err instanceof VcenterError)) throw err;
          unreadable.push({ id: o.ref.value, name: nameOf(o), kind: 'vsan-cluster', detail: `vSAN encryption settings could not be read: ${err.message}` });
        }
      }
      if (counted) clusters++;
    }
  }
  for (const e of info?.useAsEntityDefault ?? []) {
    users.push({ id: e.value, name: names.get(`${e.type}:${e.value}`) ?? e.value, kind: 'entity-default', detail: `default key provider of this ${e.type}` });
  }
  const isDefault = info?.useAsDefault === true;
  return {
    provider,
    vcenter: session.description,
    registered: info !== undefined,
    isDefault,
    users,
    unknownProvider,
    unreadable,
    counts: { vms, hosts, clusters, scanned: inventory.length },
    inUse: isDefault || users.length > 0 || unknownProvider.length > 0 || unreadable.length > 0,
  };
}
