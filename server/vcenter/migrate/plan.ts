/**
 * The migration plan, a pure function of the inventory: every object that references the old provider, in
 * VMware's safe order (defaults first, so nothing new is created under the old provider; then VMs, templates,
 * vSAN clusters, hosts, cluster host-key policies), with each precondition and whether it holds. Objects whose
 * preconditions fail are listed as blocked with the reason; nothing is silently left out, so a verify after
 * the apply names exactly what still references the old provider and why.
 */
import type { MoRef } from '../transport.js';
import type { ClusterRecord, HostRecord, MigrationInventory, ProviderRecord, VmRecord } from './inventory.js';

export type ItemKind = 'default' | 'entity-default' | 'vm' | 'template' | 'vsan-cluster' | 'host' | 'cluster-policy';
/** The order of the apply: each kind finishes before the next starts. */
export const PHASES: readonly ItemKind[] = ['default', 'entity-default', 'vm', 'template', 'vsan-cluster', 'host', 'cluster-policy'];

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface PlanItem {
  /** Stable across runs: `kind:moref` (the journal's key). */
  readonly id: string;
  readonly kind: ItemKind;
  readonly ref?: MoRef;
  readonly name: string;
  readonly action: string;
  readonly checks: readonly Check[];
  /** Why it cannot be done now (a failed check, or something the tool does not do). */
  readonly blocked?: string;
  /** The ESXi/vCenter versions IBM documents as restarting VMs on a rekey (KB 387897). */
  readonly restartRisk?: string;
  /** Old-provider key ids it uses now (for verify's key-status cross-check). */
  readonly oldKeys: readonly string[];
}

export interface MigrationPlan {
  readonly from: string;
  readonly to: string;
  readonly vcenter: string;
  /** Reasons the whole migration is refused (providers); empty when it may go ahead. */
  readonly refusals: readonly string[];
  readonly warnings: readonly string[];
  readonly items: readonly PlanItem[];
}

export interface TargetStatus {
  readonly ok: boolean;
  readonly detail: string;
}

/** ESXi 8.0 Update 3e (build 24674464): IBM's notice says rekeys on earlier 8.0 builds (and 7.x) can restart VMs. */
export const FIRST_SAFE_ESXI8_BUILD = 24_674_464;

const STANDARD = new Set(['vCenter', undefined]);

function providerRefusals(from: ProviderRecord | undefined, to: ProviderRecord | undefined, fromId: string, toId: string, target: TargetStatus | undefined): string[] {
  const out: string[] = [];
  if (fromId === toId) out.push(`--from and --to are both ${fromId}: objects find their provider by name, so a new provider needs a new name`);
  if (!from) out.push(`vCenter has no key provider named ${fromId} (the old provider)`);
  else if (!STANDARD.has(from.managementType)) out.push(`${fromId} is a ${from.managementType} key provider: only a Standard Key Provider (KMIP) can be migrated from here`);
  if (!to) out.push(`vCenter has no key provider named ${toId}: register ours first (kmipctl vcenter register)`);
  else if (!STANDARD.has(to.managementType)) out.push(`${toId} is a ${to.managementType} key provider: the target must be a Standard Key Provider (ours)`);
  if (to && STANDARD.has(to.managementType) && target && !target.ok) out.push(`${toId} is not usable from vCenter: ${target.detail}`);
  return out;
}

const onOld = (from: string, k: { providerId?: string } | undefined) => k?.providerId === from;

/** Hosts whose versions fall in the range IBM documents (vCenter 8 or later); an ESXi 8 of unknown build counts. */
function riskyHosts(inv: MigrationInventory): Map<string, string> {
  const out = new Map<string, string>();
  if (!(Number(inv.vcenterVersion?.split('.')[0]) >= 8)) return out;
  for (const h of inv.hosts) {
    const build = Number(h.build ?? NaN);
    if (h.version?.startsWith('7.')) out.set(h.ref.value, `ESXi ${h.version} under vCenter ${inv.vcenterVersion}`);
    else if (h.version?.startsWith('8.') && !(build >= FIRST_SAFE_ESXI8_BUILD)) {
      out.set(h.ref.value, `ESXi ${h.version} ${Number.isFinite(build) ? `build ${build} (before 8.0 U3e)` : '(build unknown)'} under vCenter ${inv.vcenterVersion}`);
    }
  }
  return out;
}

function vmItem(vm: VmRecord, from: string, to: string, hosts: ReadonlyMap<string, HostRecord>, pools: ReadonlyMap<string, MoRef | undefined>, risky: ReadonlyMap<string, string>): PlanItem | undefined {
  const oldDisks = vm.disks.filter((d) => onOld(from, d.key));
  const homeOld = onOld(from, vm.key);
  const unknownHome = vm.key !== undefined && vm.key.providerId === undefined;
  if (!homeOld && oldDisks.length === 0 && !unknownHome) return undefined;
  const host = vm.host ? hosts.get(vm.host.value) : undefined;
  const checks: Check[] = [
    { name: 'key names its provider', ok: !unknownHome, ...(unknownHome ? { detail: `key ${vm.key!.keyId} names no provider: vCenter finds it in its cache only` } : {}) },
    { name: 'not locked', ok: vm.cryptoState !== 'locked', ...(vm.cryptoState === 'locked' ? { detail: 'locked: its keys are missing; unlock it (CryptoUnlock) first' } : {}) },
    { name: 'no snapshot tree', ok: vm.snapshots !== 'tree', ...(vm.snapshots === 'tree' ? { detail: 'snapshot tree: a shallow rekey needs a single chain; consolidate or delete snapshots' } : {}) },
    { name: 'not a linked clone', ok: !(vm.snapshots === 'none' && vm.disks.some((d) => d.hasParent)), ...(vm.snapshots === 'none' && vm.disks.some((d) => d.hasParent) ? { detail: 'a disk has a parent without snapshots (linked clone): shallow rekey is not supported' } : {}) },
    { name: 'no IDE controller while powered on', ok: !(vm.hasIde && vm.powerState === 'poweredOn'), ...(vm.hasIde && vm.powerState === 'poweredOn' ? { detail: 'IDE controller on a powered-on VM: power it off for the rekey' } : {}) },
    { name: 'host connected', ok: host === undefined || host.connectionState === 'connected', ...(host && host.connectionState !== 'connected' ? { detail: `host ${host.name} is ${host.connectionState}` } : {}) },
  ];
  if (vm.template) {
    const pool = host?.parent ? pools.get(host.parent.value) : undefined;
    checks.push({ name: 'resource pool for the round trip', ok: pool !== undefined, ...(pool ? {} : { detail: "no resource pool found through the template's host: it cannot be turned into a VM for the rekey" }) });
  }
  const failed = checks.find((c) => !c.ok);
  const parts = [homeOld || unknownHome ? 'VM home' : undefined, oldDisks.length ? `${oldDisks.length} disk(s)` : undefined].filter(Boolean).join(' and ');
  // The documented failure restarts a running VM; one that is off cannot be restarted by it.
  const risk = vm.host && vm.powerState !== 'poweredOff' ? risky.get(vm.host.value) : undefined;
  return {
    id: `${vm.template ? 'template' : 'vm'}:${vm.ref.value}`,
    kind: vm.template ? 'template' : 'vm',
    ref: vm.ref,
    name: vm.name,
    action: `${vm.template ? 'to VM, ' : ''}shallow rekey of ${parts} onto ${to}${vm.template ? ', back to template' : ''}`,
    checks,
    ...(failed ? { blocked: failed.detail ?? failed.name } : {}),
    ...(risk && !vm.template ? { restartRisk: `${risk}${vm.changeTracking ? ', change block tracking on' : ''}` } : {}),
    oldKeys: [...new Set([...(homeOld && vm.key ? [vm.key.keyId] : []), ...oldDisks.map((d) => d.key!.keyId)])],
  };
}

function vsanItem(c: ClusterRecord, from: string, to: string, hosts: readonly HostRecord[]): PlanItem | undefined {
  const v = c.vsan;
  // A cluster is listed when its encryption is on the old provider, or when that cannot be read at all; a health
  // or resync query that fails only matters for a switch the cluster needs.
  if (!v || !(v.configUnreadable === true || (v.encryptionEnabled && v.provider === from))) return undefined;
  const members = hosts.filter((h) => h.parent?.value === c.ref.value);
  const down = members.filter((h) => h.connectionState !== 'connected');
  const checks: Check[] = [
    { name: 'settings readable', ok: v.unreadable === undefined, ...(v.unreadable ? { detail: v.unreadable } : {}) },
    { name: 'health not red', ok: v.health !== 'red', ...(v.health === 'red' ? { detail: 'vSAN health is red: fix it before changing keys' } : {}) },
    { name: 'no resync running', ok: (v.objectsToSync ?? 0) === 0, ...((v.objectsToSync ?? 0) > 0 ? { detail: `${v.objectsToSync} object(s) resyncing: wait for the resync to finish` } : {}) },
    { name: 'all hosts connected', ok: down.length === 0, ...(down.length ? { detail: `host(s) not connected: ${down.map((h) => h.name).join(', ')} (they would reboot without the new key)` } : {}) },
    { name: 'no key change in progress', ok: !v.changing, ...(v.changing ? { detail: 'an encryption change is already in progress' } : {}) },
  ];
  const failed = checks.find((x) => !x.ok);
  return { id: `vsan-cluster:${c.ref.value}`, kind: 'vsan-cluster', ref: c.ref, name: c.name, action: `switch data-at-rest encryption to ${to} (shallow rekey; new host keys)`, checks, ...(failed ? { blocked: failed.detail ?? failed.name } : {}), oldKeys: [] };
}

function hostItem(h: HostRecord, from: string, to: string, vsanClusters: ReadonlySet<string>, vsanChanging: ReadonlySet<string>): PlanItem | undefined {
  if (!onOld(from, h.key)) return undefined;
  const changing = h.parent !== undefined && vsanChanging.has(h.parent.value);
  const checks: Check[] = [
    { name: "no vSAN key change in progress on its cluster", ok: !changing, ...(changing ? { detail: "its vSAN cluster's encryption change is in progress: vSAN gives it a new host key; plan again when it has finished" } : {}) },
    { name: 'connected', ok: h.connectionState === 'connected', ...(h.connectionState !== 'connected' ? { detail: `host is ${h.connectionState}` } : {}) },
    { name: 'crypto state safe', ok: h.cryptoState === 'safe' || h.cryptoState === undefined, ...(h.cryptoState && h.cryptoState !== 'safe' ? { detail: `crypto state ${h.cryptoState}` } : {}) },
  ];
  const failed = checks.find((x) => !x.ok);
  const viaVsan = h.parent !== undefined && vsanClusters.has(h.parent.value);
  return {
    id: `host:${h.ref.value}`,
    kind: 'host',
    ref: h.ref,
    name: h.name,
    action: viaVsan ? `new host key from ${to} with its vSAN cluster's switch (set directly if still on the old provider)` : `new host key from ${to} (ConfigureCryptoKey)`,
    checks,
    ...(failed ? { blocked: failed.detail ?? failed.name } : {}),
    oldKeys: [h.key!.keyId],
  };
}

export function planMigration(inv: MigrationInventory, from: string, to: string, target?: TargetStatus): MigrationPlan {
  const fromProvider = inv.providers.find((p) => p.id === from);
  const toProvider = inv.providers.find((p) => p.id === to);
  const refusals = providerRefusals(fromProvider, toProvider, from, to, target);
  const hosts = new Map(inv.hosts.map((h) => [h.ref.value, h]));
  const pools = new Map(inv.clusters.map((c) => [c.ref.value, c.resourcePool]));
  const risky = riskyHosts(inv);
  const items: PlanItem[] = [];
  if (fromProvider?.isDefault) items.push({ id: 'default:global', kind: 'default', name: "vCenter's default key provider", action: `make ${to} the default (new VMs and disks get its keys)`, checks: [], oldKeys: [] });
  for (const e of fromProvider?.entityDefaults ?? []) {
    items.push({ id: `entity-default:${e.value}`, kind: 'entity-default', ref: e, name: inv.names.get(`${e.type}:${e.value}`) ?? e.value, action: `make ${to} the default key provider of this ${e.type}`, checks: [], oldKeys: [] });
  }
  for (const vm of inv.vms) {
    const item = vmItem(vm, from, to, hosts, pools, risky);
    if (item) items.push(item);
  }
  const vsanOnOld = new Set<string>();
  for (const c of inv.clusters) {
    const item = vsanItem(c, from, to, inv.hosts);
    if (item) {
      items.push(item);
      vsanOnOld.add(c.ref.value);
    }
  }
  const vsanChanging = new Set(inv.clusters.filter((c) => c.vsan?.encryptionEnabled && c.vsan.changing).map((c) => c.ref.value));
  for (const h of inv.hosts) {
    const item = hostItem(h, from, to, vsanOnOld, vsanChanging);
    if (item) items.push(item);
  }
  for (const c of inv.clusters) {
    if (c.hostKeyPolicy?.providerId !== from) continue;
    items.push({ id: `cluster-policy:${c.ref.value}`, kind: 'cluster-policy', ref: c.ref, name: c.name, action: `hosts entering crypto safe mode take keys from ${to} (SetCryptoMode, ${c.hostKeyPolicy.cryptoMode ?? 'onDemand'})`, checks: [], oldKeys: [] });
  }
  items.sort((a, b) => PHASES.indexOf(a.kind) - PHASES.indexOf(b.kind));
  const warnings: string[] = [];
  const atRisk = items.filter((i) => i.restartRisk && !i.blocked);
  if (atRisk.length > 0) {
    warnings.push(`${atRisk.length} VM(s) run on hosts where IBM documents that a rekey can restart the VM (vCenter 8 with ESXi 7, or ESXi 8 before 8.0 U3e; Broadcom KB 387897): --apply needs --accept-vm-restart-risk, or upgrade those hosts first`);
  }
  return { from, to, vcenter: inv.vcenter, refusals, warnings, items };
}

export function planCounts(plan: MigrationPlan): Record<ItemKind, { ready: number; blocked: number }> {
  const out = Object.fromEntries(PHASES.map((k) => [k, { ready: 0, blocked: 0 }])) as Record<ItemKind, { ready: number; blocked: number }>;
  for (const i of plan.items) out[i.kind][i.blocked ? 'blocked' : 'ready']++;
  return out;
}
