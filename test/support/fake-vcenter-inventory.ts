/**
 * The fake vCenter's inventory and PropertyCollector (reference §C.2.4–5): seeded VMs, hosts and
 * clusters; container views; RetrievePropertiesEx honouring maxObjects with a continuation token;
 * tasks whose `info` is read through the same collector; VsanClusterGetConfig. Only the traversal
 * shape of §B.5 (and a plain object spec for tasks) is supported — anything else is a fault, so a
 * client that builds another shape finds out here. What each property looks like is in
 * fake-vcenter-props.ts; what changes it (rekey, templates, host keys, vSAN) in fake-vcenter-rekey.ts
 * and fake-vcenter-vsan.ts.
 */
import { arr, FakeFault } from './fake-vcenter-crypto.js';
import { KNOWN_PATHS, clusterProps, hostProps, vmProps } from './fake-vcenter-props.js';
import { FakeTasks, type Ref } from './fake-vcenter-tasks.js';

export interface KeyRef {
  keyId: string;
  providerId?: string;
}

/** A disk backing (VirtualDiskFlatVer2BackingInfo); `parent` is the next one down a delta chain. */
export interface FakeBacking {
  fileName: string;
  keyId?: KeyRef | undefined;
  parent?: FakeBacking | undefined;
}

export interface FakeDisk extends FakeBacking {
  /** Device key (2000, 2001, …). */
  key: number;
  label: string;
  capacityKb?: number;
}

/** One node of snapshot.rootSnapshotList. */
export interface FakeSnapshot {
  name: string;
  children?: FakeSnapshot[];
}

export interface FakeVm {
  id: string;
  name: string;
  /** config.keyId (VM home / KEK): unset = not encrypted. */
  key?: KeyRef | undefined;
  template?: boolean;
  /** Default: poweredOff for templates, poweredOn otherwise. */
  powerState?: 'poweredOn' | 'poweredOff' | 'suspended';
  /** runtime.cryptoState 'locked' (a key is missing). */
  locked?: boolean;
  disks?: FakeDisk[];
  /** Has a VirtualIDEController (a powered-on one cannot be shallow-rekeyed). */
  ide?: boolean;
  /** Has a VirtualTPM device. */
  vtpm?: boolean;
  /** snapshot.rootSnapshotList. */
  snapshots?: FakeSnapshot[];
  /** A linked clone (its disks' parent chain is another VM's): shallow recrypt is refused. */
  linkedClone?: boolean;
  /** config.changeTrackingEnabled (CBT). */
  cbt?: boolean;
  /** config.changeVersion; set on first read and bumped by every reconfiguration. */
  changeVersion?: string;
  /** runtime.host (a HostSystem id). */
  host?: string | undefined;
  /** resourcePool (a ResourcePool id); never shown for templates. */
  pool?: string | undefined;
}

export interface FakeHost {
  id: string;
  name: string;
  /** runtime.cryptoKeyId (the host key). */
  key?: KeyRef | undefined;
  /** Default: 'safe' with a key, 'incapable' without. */
  cryptoState?: 'incapable' | 'prepared' | 'safe' | 'pendingIncapable';
  /** Default 'connected'. */
  connectionState?: 'connected' | 'disconnected' | 'notResponding';
  /** parent: the ClusterComputeResource id. */
  cluster?: string;
  /** config.product: ESXi version and build (default 8.0.3 / 24674464 = 8.0 U3e). */
  version?: string;
  build?: string;
}

export interface FakeVsan {
  enabled: boolean;
  encryptionProvider?: string | undefined;
  changing?: boolean;
  kekId?: string | undefined;
  hostKeyId?: string | undefined;
  dekGenerationId?: number;
  /** VsanQueryVcClusterHealthSummary.overallHealth (default green). */
  health?: 'green' | 'yellow' | 'red';
  /** QuerySyncingVsanObjectsSummary (default nothing to sync). */
  resync?: { objects: number; bytes: number };
}

export interface FakeCluster {
  id: string;
  name: string;
  vsan?: FakeVsan;
  /** Shorthand seed for cryptoConfig {forceEnable, policy.providerId}; SetCryptoMode replaces it. */
  hostKeyPolicyProvider?: string | undefined;
  cryptoConfig?: { cryptoMode: string; policy?: { keyId?: KeyRef; providerId?: string } } | undefined;
  /** resourcePool (default resgroup-<id>). */
  resourcePool?: string;
}

type Props = Record<string, unknown>;


export class FakeInventory {
  readonly vms: FakeVm[] = [];
  readonly hosts: FakeHost[] = [];
  readonly clusters: FakeCluster[] = [];
  /** When false, the vSAN endpoint answers 404 (as if the vSAN service were missing). */
  vsanAvailable = true;
  /** Largest page the collector returns, whatever maxObjects asks (vCenter has its own cap). */
  serverPageCap = 1000;
  /** Pages served, for tests of paging. */
  pagesServed = 0;
  /** Polls a task answers queued/running (see fake-vcenter-tasks.ts). */
  slowTaskPolls = 0;
  readonly tasks = new FakeTasks(() => this.slowTaskPolls);
  private readonly views = new Map<string, Ref[]>();
  private readonly pending = new Map<string, Array<{ obj: Ref; propSet: unknown[] }>>();
  private seq = 0;

  /** Adds n VMs named prefix-0001… encrypted with `provider` (undefined: not encrypted). */
  seedVms(n: number, prefix: string, provider?: string): FakeVm[] {
    const added = Array.from({ length: n }, (_, i) => ({
      id: `vm-${++this.seq}`,
      name: `${prefix}-${String(i + 1).padStart(4, '0')}`,
      ...(provider !== undefined ? { key: { keyId: `key-${this.seq}`, providerId: provider } } : {}),
    }));
    this.vms.push(...added);
    return added;
  }

  get viewCount(): number {
    return this.views.size;
  }

  vm(id: string): FakeVm {
    const vm = this.vms.find((v) => v.id === id);
    if (!vm) throw new FakeFault('ManagedObjectNotFound', `VirtualMachine ${id} does not exist`, { obj: { _typeName: 'ManagedObjectReference', type: 'VirtualMachine', value: id } });
    return vm;
  }

  host(id: string): FakeHost {
    const h = this.hosts.find((x) => x.id === id);
    if (!h) throw new FakeFault('ManagedObjectNotFound', `HostSystem ${id} does not exist`, { obj: { _typeName: 'ManagedObjectReference', type: 'HostSystem', value: id } });
    return h;
  }

  cluster(id: string): FakeCluster {
    const c = this.clusters.find((x) => x.id === id);
    if (!c) throw new FakeFault('ManagedObjectNotFound', `ClusterComputeResource ${id} does not exist`, { obj: { _typeName: 'ManagedObjectReference', type: 'ClusterComputeResource', value: id } });
    return c;
  }

  /** The cluster a VM runs in (through its host), if any. */
  clusterOfVm(vm: FakeVm): FakeCluster | undefined {
    const host = vm.host === undefined ? undefined : this.hosts.find((h) => h.id === vm.host);
    return host?.cluster === undefined ? undefined : this.clusters.find((c) => c.id === host.cluster);
  }

  private props(ref: Ref): Props | undefined {
    if (ref.type === 'VirtualMachine') {
      const vm = this.vms.find((v) => v.id === ref.value);
      return vm && vmProps(vm);
    }
    if (ref.type === 'HostSystem') {
      const h = this.hosts.find((x) => x.id === ref.value);
      return h && hostProps(h);
    }
    if (ref.type === 'ClusterComputeResource') {
      const c = this.clusters.find((x) => x.id === ref.value);
      return c && clusterProps(c, this.hosts);
    }
    if (ref.type === 'Task') {
      const info = this.tasks.info(ref.value);
      return info && { info };
    }
    return undefined;
  }

  private all(type: string): Ref[] {
    const list = type === 'VirtualMachine' ? this.vms : type === 'HostSystem' ? this.hosts : type === 'ClusterComputeResource' ? this.clusters : undefined;
    if (!list) throw new FakeFault('InvalidArgument', `this fake has no ${type} objects`, { invalidProperty: 'type' });
    return list.map((o) => ({ type, value: o.id }));
  }

  createContainerView(params: Record<string, unknown>): Ref {
    const container = params['container'] as Ref | undefined;
    if (container?.value !== 'group-d1' || params['recursive'] === undefined) throw new FakeFault('InvalidArgument', 'only recursive views of the root folder are supported', { invalidProperty: 'container' });
    const id = `session[fake]view-${++this.seq}`;
    this.views.set(id, arr(params['type']).flatMap((t) => this.all(String(t))));
    return { _typeName: 'ManagedObjectReference', type: 'ContainerView', value: id } as Ref;
  }

  destroyView(id: string): void {
    if (!this.views.delete(id)) throw new FakeFault('ManagedObjectNotFound', `no view ${id}`);
  }

  /** Starts a task whose work is `work`; returns its reference. */
  startTask(work: Promise<unknown>, what: string): Ref {
    return this.tasks.start(work, what);
  }

  retrievePropertiesEx(params: Record<string, unknown>): unknown {
    const spec = arr(params['specSet'])[0] as Record<string, unknown> | undefined;
    if (!spec) throw new FakeFault('InvalidArgument', 'specSet is required', { invalidProperty: 'specSet' });
    const propSets = arr(spec['propSet']) as Array<Record<string, unknown>>;
    const objectSpec = arr(spec['objectSet'])[0] as Record<string, unknown> | undefined;
    const start = objectSpec?.['obj'] as Ref | undefined;
    if (!start) throw new FakeFault('InvalidArgument', 'objectSet is required', { invalidProperty: 'objectSet' });
    let refs: Ref[];
    if (start.type === 'ContainerView') {
      const sel = arr(objectSpec!['selectSet'])[0] as Record<string, unknown> | undefined;
      // The selection is declared as SelectionSpec: a TraversalSpec must say so (_typeName / xsi:type).
      if (sel?.['_typeName'] !== 'TraversalSpec' || sel['path'] !== 'view' || sel['type'] !== 'ContainerView' || String(objectSpec!['skip']) !== 'true') {
        throw new FakeFault('InvalidArgument', 'expected ObjectSpec{view, skip: true, selectSet: [TraversalSpec{ContainerView, view}]}', { invalidProperty: 'objectSet' });
      }
      refs = this.views.get(start.value) ?? [];
      if (!this.views.has(start.value)) throw new FakeFault('ManagedObjectNotFound', `no view ${start.value}`);
    } else {
      refs = [start];
    }
    const objects = refs.flatMap((ref) => {
      const want = propSets.find((p) => p['type'] === ref.type);
      if (!want) return [];
      const props = this.props(ref);
      if (!props) throw new FakeFault('ManagedObjectNotFound', `${ref.type} ${ref.value} does not exist`);
      const propSet = arr(want['pathSet']).flatMap((path) => {
        const p = String(path);
        if (!(p in props) && !KNOWN_PATHS[ref.type]?.includes(p)) throw new FakeFault('InvalidProperty', `${ref.type} has no property ${p}`, { name: p });
        return p in props ? [{ _typeName: 'DynamicProperty', name: p, val: props[p] }] : [];
      });
      return [{ obj: { _typeName: 'ManagedObjectReference', ...ref }, propSet }];
    });
    const options = (params['options'] ?? {}) as Record<string, unknown>;
    const max = Math.min(options['maxObjects'] === undefined ? this.serverPageCap : Number(options['maxObjects']), this.serverPageCap);
    return this.page(objects, max);
  }

  continueRetrievePropertiesEx(params: Record<string, unknown>): unknown {
    const token = String(params['token']);
    const rest = this.pending.get(token);
    if (!rest) throw new FakeFault('InvalidArgument', 'unknown token', { invalidProperty: 'token' });
    this.pending.delete(token);
    const max = Number(token.split(':')[1]);
    return this.page(rest, max);
  }

  private page(objects: Array<{ obj: Ref; propSet: unknown[] }>, max: number): unknown {
    this.pagesServed++;
    const head = objects.slice(0, max);
    const rest = objects.slice(max);
    let token: string | undefined;
    if (rest.length > 0) {
      token = `t${++this.seq}:${max}`;
      this.pending.set(token, rest);
    }
    return { _typeName: 'RetrieveResult', ...(token ? { token } : {}), objects: head.map((o) => ({ _typeName: 'ObjectContent', ...o })) };
  }

  vsanClusterGetConfig(params: Record<string, unknown>): unknown {
    const ref = params['cluster'] as Ref | undefined;
    const c = this.clusters.find((x) => x.id === ref?.value);
    if (!c) throw new FakeFault('NotFound', `no cluster ${ref?.value}`);
    const v = c.vsan;
    const on = v?.encryptionProvider !== undefined;
    return {
      _typeName: 'VsanConfigInfoEx',
      enabled: v?.enabled === true,
      dataEncryptionConfig: {
        _typeName: 'VsanDataEncryptionConfig',
        encryptionEnabled: on,
        ...(on ? { kmsProviderId: { _typeName: 'KeyProviderId', id: v!.encryptionProvider } } : {}),
        ...(on && v!.kekId !== undefined ? { kekId: v!.kekId } : {}),
        ...(on && v!.hostKeyId !== undefined ? { hostKeyId: v!.hostKeyId } : {}),
        ...(on && v!.dekGenerationId !== undefined ? { dekGenerationId: v!.dekGenerationId } : {}),
        ...(v?.changing ? { changing: true } : {}),
      },
    };
  }
}
