/**
 * A mixed inventory on the OLD key provider for tests of a provider-change rekey (rekey reference §2.4,
 * §3, §4, §8): VMs of every kind the migration must handle or refuse, templates, hosts, clusters and
 * vSAN clusters, OLD as global and entity default, NEW registered and trusted both ways. Deterministic
 * for a seed (ids, names, disk counts, power states, key ids, order). Call once per fake.
 */
import type { FakeVcenter } from './fake-vcenter.js';
import type { FakeCluster, FakeDisk, FakeHost, FakeSnapshot, FakeVm, KeyRef } from './fake-vcenter-inventory.js';
import { keysOfVm } from './fake-vcenter-keys.js';
import { poolOf } from './fake-vcenter-props.js';
import { prng } from './prng.js';

export const VM_CATEGORIES = {
  /** Home and 1–3 disks on OLD: rekeyable. */
  encrypted: 120,
  /** Home on OLD, one disk already on NEW (added after a default change): rekeyable. */
  mixed: 10,
  /** Not encrypted: never touched. */
  unencrypted: 40,
  /** One snapshot chain (disks with a delta chain on OLD): rekeyable. */
  snapshotChain: 8,
  /** A snapshot tree: refused (InvalidState "vm has snapshot tree"). */
  snapshotTree: 4,
  /** Linked clone of a shared OLD base disk: refused (NotSupported). */
  linkedClone: 4,
  /** Powered on with an IDE controller: refused while on (InvalidPowerState). */
  ideOn: 6,
  /** Powered off with an IDE controller: rekeyable. */
  ideOff: 2,
  /** runtime.cryptoState locked: refused (InvalidState). */
  locked: 3,
  /** config.keyId on OLD, a vTPM, no encrypted disk: rekeyable (no deviceChange). */
  vtpmOnly: 6,
  /** Already entirely on NEW: nothing to do. */
  onNew: 5,
  /** Encrypted on OLD, on a disconnected host: refused (HostNotConnected). */
  onDisconnectedHost: 2,
  /** Encrypted templates on OLD: rekeyable through MarkAsVirtualMachine … MarkAsTemplate. */
  template: 5,
  /** An unencrypted template: never touched. */
  plainTemplate: 1,
} as const;
export type VmCategory = keyof typeof VM_CATEGORIES;

const PREFIX: Record<VmCategory, string> = {
  encrypted: 'app',
  mixed: 'mixed',
  unencrypted: 'plain',
  snapshotChain: 'snapchain',
  snapshotTree: 'snaptree',
  linkedClone: 'clone',
  ideOn: 'legacy-ide',
  ideOff: 'legacy-ide-off',
  locked: 'locked',
  vtpmOnly: 'vtpm',
  onNew: 'migrated',
  onDisconnectedHost: 'stranded',
  template: 'tpl',
  plainTemplate: 'tpl-plain',
};
export const REKEYABLE: readonly VmCategory[] = ['encrypted', 'mixed', 'snapshotChain', 'ideOff', 'vtpmOnly', 'template'];
export const REFUSED: readonly VmCategory[] = ['snapshotTree', 'linkedClone', 'ideOn', 'locked', 'onDisconnectedHost'];

export interface MigrationSeedOptions {
  readonly oldProvider?: string;
  readonly newProvider?: string;
  readonly seed?: number;
  /** VMs per category (defaults: VM_CATEGORIES). */
  readonly vms?: Partial<Record<VmCategory, number>>;
  /** Encrypted templates (shorthand for vms.template). */
  readonly templates?: number;
  /** vSAN clusters encrypted with OLD (default 3: healthy, health red, resync running). */
  readonly vsanClusters?: number;
  /** Clusters without vSAN, host-key policy on OLD, the first one OLD's entity default (default 1). */
  readonly plainClusters?: number;
  /** Hosts per cluster (default 4, at least 3). */
  readonly hostsPerCluster?: number;
  /** Register NEW (default true; false when the test registers it itself). */
  readonly registerNew?: boolean;
  /** NEW's KMIP server (default 127.0.0.1:5696); trust is simulated, no connection is made. */
  readonly newServer?: { readonly address: string; readonly port: number };
}

export interface MigrationInventory {
  readonly oldProvider: string;
  readonly newProvider: string;
  /** VM / template ids per category. */
  readonly vms: Record<VmCategory, string[]>;
  readonly hosts: {
    readonly all: string[];
    readonly safeOnOld: string[];
    readonly disconnected: string[];
    readonly incapable: string[];
    readonly prepared: string[];
    readonly esxi7: string[];
    /** ESXi 8 below 8.0 U3e (build 24674464). */
    readonly esxi8BelowU3e: string[];
  };
  readonly clusters: {
    readonly all: string[];
    readonly vsan: string[];
    readonly vsanHealthRed: string[];
    readonly vsanResyncing: string[];
    readonly plain: string[];
    readonly hostKeyPolicyOnOld: string[];
    readonly entityDefaultOfOld: string[];
  };
  readonly counts: {
    /** VMs + templates + hosts + clusters. */
    readonly objects: number;
    readonly vms: number;
    readonly templates: number;
    readonly hosts: number;
    readonly clusters: number;
    /** VMs and templates with any key (home or disk) on OLD. */
    readonly usingOld: number;
    readonly rekeyable: number;
    readonly refused: number;
    /** Distinct OLD keys used by VMs, templates and hosts. */
    readonly oldKeys: number;
  };
}


export function seedMigrationInventory(fake: FakeVcenter, options: MigrationSeedOptions = {}): MigrationInventory {
  const OLD = options.oldProvider ?? 'kmip-for-vmware';
  const NEW = options.newProvider ?? 'kmipd';
  if (OLD === NEW) throw new Error('OLD and NEW must differ');
  const rnd = prng(options.seed ?? 1);
  const pick = (n: number) => Math.floor(rnd() * n);
  const hex = (n: number) => Array.from({ length: n }, () => pick(16).toString(16)).join('');
  const newKey = (provider: string): KeyRef => {
    const k = { keyId: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`, providerId: provider };
    fake.keys.seedKey(provider, k.keyId);
    return k;
  };
  const inv = fake.inventory;
  if (inv.vms.some((v) => v.id.startsWith('vm-m'))) throw new Error('seedMigrationInventory was already called on this fake');

  // Providers: OLD (IBM "KMIP for VMware": two endpoints), NEW; both trusted both ways.
  const trust = { clientTrustServer: true, serverTrustClient: true };
  fake.crypto.seed({
    id: OLD,
    useAsDefault: true,
    simulatedTrust: trust,
    servers: new Map(['1', '2'].map((n) => [`${OLD}-${n}`, { name: `${OLD}-${n}`, address: `kmip-${n}.us-south.kms.example`, port: 5696 }])),
  });
  if (options.registerNew !== false && !fake.crypto.providers.has(NEW)) {
    const server = { name: `${NEW}-1`, address: options.newServer?.address ?? '127.0.0.1', port: options.newServer?.port ?? 5696 };
    fake.crypto.seed({ id: NEW, simulatedTrust: trust, servers: new Map([[server.name, server]]) });
  }

  // Clusters and hosts.
  const nVsan = options.vsanClusters ?? 3;
  const nPlain = options.plainClusters ?? 1;
  const perCluster = Math.max(3, options.hostsPerCluster ?? 4);
  const clusters: FakeCluster[] = [];
  const hosts: FakeHost[] = [];
  for (let c = 0; c < nVsan + nPlain; c++) {
    const id = `domain-c${101 + c}`;
    const vsan = c < nVsan;
    const hostKey = vsan ? newKey(OLD) : undefined;
    const cluster: FakeCluster = { id, name: vsan ? `vsan-${String(c + 1).padStart(2, '0')}` : `compute-${String(c - nVsan + 1).padStart(2, '0')}` };
    if (vsan) {
      const kek = newKey(OLD);
      cluster.vsan = { enabled: true, encryptionProvider: OLD, kekId: kek.keyId, hostKeyId: hostKey!.keyId, dekGenerationId: 1, ...(c === 1 ? { health: 'red' } : {}), ...(c === 2 ? { resync: { objects: 42, bytes: 42 * 256 * 1024 * 1024 } } : {}) };
    }
    if (!vsan || c === 0) cluster.cryptoConfig = { cryptoMode: 'forceEnable', policy: { providerId: OLD } };
    clusters.push(cluster);
    for (let h = 0; h < perCluster; h++) {
      const host: FakeHost = { id: `host-${1001 + hosts.length}`, name: `esx-${String(hosts.length + 1).padStart(3, '0')}.lab.example`, cluster: id };
      const plainIndex = c - nVsan;
      if (!vsan && plainIndex === 0 && h === perCluster - 1) host.cryptoState = 'incapable';
      else if (!vsan && plainIndex === 0 && h === perCluster - 2) host.cryptoState = 'prepared';
      else host.key = hostKey ?? newKey(OLD);
      if (c === 0 && h === perCluster - 1) host.connectionState = 'disconnected';
      hosts.push(host);
    }
  }
  // Host versions for the CBT warning (rekey reference §8.1): one ESXi 7, one ESXi 8 below 8.0 U3e.
  const others = hosts.filter((h) => h.connectionState === undefined);
  const esxi7 = others[1];
  const esxi802 = others[perCluster + 1];
  if (esxi7) Object.assign(esxi7, { version: '7.0.3', build: '21930508' });
  if (esxi802) Object.assign(esxi802, { version: '8.0.2', build: '22380479' });
  const plainIds = clusters.slice(nVsan).map((c) => c.id);
  const entityDefault = plainIds[0] ?? clusters[0]?.id;
  if (entityDefault) fake.crypto.providers.get(OLD)!.entityDefaults.push({ type: 'ClusterComputeResource', value: entityDefault });
  const connected = hosts.filter((h) => h.connectionState === undefined);
  const disconnected = hosts.filter((h) => h.connectionState === 'disconnected');

  // VMs and templates.
  const counts = { ...VM_CATEGORIES, ...(options.templates !== undefined ? { template: options.templates } : {}), ...options.vms } as Record<VmCategory, number>;
  const ids = Object.fromEntries(Object.keys(VM_CATEGORIES).map((k) => [k, [] as string[]])) as unknown as Record<VmCategory, string[]>;
  const base = { fileName: '[vsanDatastore] golden-base/golden-base.vmdk', keyId: newKey(OLD) };
  const all: FakeVm[] = [];
  let n = 0;
  for (const category of Object.keys(VM_CATEGORIES) as VmCategory[]) {
    for (let i = 0; i < counts[category]; i++) {
      const name = `${PREFIX[category]}-${String(i + 1).padStart(3, '0')}`;
      const home = category === 'unencrypted' || category === 'plainTemplate' ? undefined : newKey(category === 'onNew' ? NEW : OLD);
      const host = category === 'onDisconnectedHost' && disconnected.length ? disconnected[pick(disconnected.length)]! : connected[pick(connected.length)]!;
      const cluster = clusters.find((c) => c.id === host.cluster)!;
      const template = category === 'template' || category === 'plainTemplate';
      const chain = category === 'snapshotChain' ? 1 + pick(3) : 0;
      const diskCount = category === 'vtpmOnly' ? 1 : 1 + pick(3);
      const disks: FakeDisk[] = Array.from({ length: diskCount }, (_, d) => {
        const file = `[vsanDatastore] ${name}/${name}${d ? `_${d}` : ''}.vmdk`;
        const keyId = category === 'vtpmOnly' ? undefined : category === 'mixed' && d === diskCount - 1 ? newKey(NEW) : home;
        let backing: FakeDisk['parent'] = category === 'linkedClone' ? { ...base } : undefined;
        for (let s = 1; s <= chain; s++) backing = { fileName: file.replace('.vmdk', `-${String(s).padStart(6, '0')}.vmdk`), keyId, parent: backing ?? { fileName: file, keyId } };
        const top = chain ? backing! : { fileName: file.replace('.vmdk', category === 'linkedClone' ? '-delta.vmdk' : '.vmdk'), keyId, parent: backing };
        return { key: 2000 + d, label: `Hard disk ${d + 1}`, capacityKb: (16 + pick(8) * 16) * 1024 * 1024, ...top };
      });
      let snapshots: FakeSnapshot[] | undefined;
      if (category === 'snapshotTree') snapshots = [{ name: 'base', children: [{ name: 'branch-a' }, { name: 'branch-b' }] }];
      else if (chain) {
        let node: FakeSnapshot | undefined;
        for (let s = chain; s >= 1; s--) node = { name: `snap-${s}`, ...(node ? { children: [node] } : {}) };
        snapshots = [node!];
      }
      const on = !template && category !== 'ideOff' && category !== 'locked' && (category === 'ideOn' || rnd() < 0.85);
      const vm: FakeVm = {
        id: `vm-m${String(++n).padStart(4, '0')}`,
        name,
        ...(home ? { key: home } : {}),
        ...(template ? { template: true } : { pool: poolOf(cluster) }),
        powerState: on ? 'poweredOn' : rnd() < 0.2 && !template && category !== 'ideOff' && category !== 'locked' ? 'suspended' : 'poweredOff',
        disks,
        host: host.id,
        ...(category === 'ideOn' || category === 'ideOff' ? { ide: true } : {}),
        ...(category === 'vtpmOnly' ? { vtpm: true } : {}),
        ...(category === 'linkedClone' ? { linkedClone: true } : {}),
        ...(category === 'locked' ? { locked: true } : {}),
        ...(snapshots ? { snapshots } : {}),
        ...(!template && rnd() < 0.3 ? { cbt: true } : {}),
      };
      all.push(vm);
      ids[category].push(vm.id);
    }
  }
  // A deterministic shuffle: the inventory's order says nothing about the categories.
  for (let i = all.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  inv.vms.push(...all);
  inv.hosts.push(...hosts);
  inv.clusters.push(...clusters);

  const oldKeys = new Set([...all.flatMap(keysOfVm), ...hosts.flatMap((h) => (h.key ? [h.key] : []))].filter((k) => k.providerId === OLD).map((k) => k.keyId));
  const sum = (cats: readonly VmCategory[]) => cats.reduce((t, c) => t + ids[c].length, 0);
  const templates = ids.template.length + ids.plainTemplate.length;
  return {
    oldProvider: OLD,
    newProvider: NEW,
    vms: ids,
    hosts: {
      all: hosts.map((h) => h.id),
      safeOnOld: hosts.filter((h) => h.key?.providerId === OLD).map((h) => h.id),
      disconnected: disconnected.map((h) => h.id),
      incapable: hosts.filter((h) => h.cryptoState === 'incapable').map((h) => h.id),
      prepared: hosts.filter((h) => h.cryptoState === 'prepared').map((h) => h.id),
      esxi7: hosts.filter((h) => h.version?.startsWith('7.')).map((h) => h.id),
      esxi8BelowU3e: hosts.filter((h) => h.version?.startsWith('8.') && Number(h.build) < 24674464).map((h) => h.id),
    },
    clusters: {
      all: clusters.map((c) => c.id),
      vsan: clusters.filter((c) => c.vsan).map((c) => c.id),
      vsanHealthRed: clusters.filter((c) => c.vsan?.health === 'red').map((c) => c.id),
      vsanResyncing: clusters.filter((c) => (c.vsan?.resync?.objects ?? 0) > 0).map((c) => c.id),
      plain: plainIds,
      hostKeyPolicyOnOld: clusters.filter((c) => c.cryptoConfig?.policy?.providerId === OLD).map((c) => c.id),
      entityDefaultOfOld: entityDefault ? [entityDefault] : [],
    },
    counts: {
      objects: all.length + hosts.length + clusters.length,
      vms: all.length - templates,
      templates,
      hosts: hosts.length,
      clusters: clusters.length,
      usingOld: all.filter((vm) => keysOfVm(vm).some((k) => k.providerId === OLD)).length,
      rekeyable: sum(REKEYABLE),
      refused: sum(REFUSED),
      oldKeys: oldKeys.size,
    },
  };
}
