/**
 * The fake vCenter's inventory and PropertyCollector (reference §C.2.4–5): seeded VMs, hosts and
 * clusters; container views; RetrievePropertiesEx honouring maxObjects with a continuation token;
 * tasks whose `info` is read through the same collector; VsanClusterGetConfig. Only the traversal
 * shape of §B.5 (and a plain object spec for tasks) is supported — anything else is a fault, so a
 * client that builds another shape finds out here.
 */
import { arr, FakeFault } from './fake-vcenter-crypto.js';

export interface KeyRef {
  keyId: string;
  providerId?: string;
}

export interface FakeVm {
  id: string;
  name: string;
  key?: KeyRef | undefined;
  template?: boolean;
}

export interface FakeHost {
  id: string;
  name: string;
  key?: KeyRef | undefined;
}

export interface FakeCluster {
  id: string;
  name: string;
  vsan?: { enabled: boolean; encryptionProvider?: string; changing?: boolean };
  hostKeyPolicyProvider?: string;
}

type Ref = { type: string; value: string };
type Props = Record<string, unknown>;

const keyId = (k: KeyRef) => ({ _typeName: 'CryptoKeyId', keyId: k.keyId, ...(k.providerId !== undefined ? { providerId: { _typeName: 'KeyProviderId', id: k.providerId } } : {}) });
const s = (v: string) => ({ _typeName: 'string', _value: v });
const b = (v: boolean) => ({ _typeName: 'boolean', _value: v });

interface Task {
  info: Record<string, unknown>;
  /** Polls still to answer "running" after the work is done (a slow task). */
  slowPolls: number;
  done: boolean;
}

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
  slowTaskPolls = 0;
  private readonly views = new Map<string, Ref[]>();
  private readonly pending = new Map<string, Array<{ obj: Ref; propSet: unknown[] }>>();
  private readonly tasks = new Map<string, Task>();
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

  private props(ref: Ref): Props | undefined {
    if (ref.type === 'VirtualMachine') {
      const vm = this.vms.find((v) => v.id === ref.value);
      return vm && { name: s(vm.name), 'config.template': b(vm.template === true), 'runtime.cryptoState': s(vm.key ? 'safe' : 'unlocked'), ...(vm.key ? { 'config.keyId': keyId(vm.key) } : {}) };
    }
    if (ref.type === 'HostSystem') {
      const h = this.hosts.find((x) => x.id === ref.value);
      return h && { name: s(h.name), 'runtime.cryptoState': s(h.key ? 'safe' : 'incapable'), ...(h.key ? { 'runtime.cryptoKeyId': keyId(h.key) } : {}) };
    }
    if (ref.type === 'ClusterComputeResource') {
      const c = this.clusters.find((x) => x.id === ref.value);
      return (
        c && {
          name: s(c.name),
          configurationEx: {
            _typeName: 'ClusterConfigInfoEx',
            vsanConfigInfo: { _typeName: 'VsanClusterConfigInfo', enabled: c.vsan?.enabled === true },
            ...(c.hostKeyPolicyProvider
              ? { cryptoConfig: { _typeName: 'ClusterCryptoConfigInfo', cryptoMode: 'forceEnable', policy: { _typeName: 'ClusterComputeResourceCryptoModePolicy', providerId: { _typeName: 'KeyProviderId', id: c.hostKeyPolicyProvider } } } }
              : {}),
          },
        }
      );
    }
    if (ref.type === 'Task') {
      const t = this.tasks.get(ref.value);
      if (!t) return undefined;
      if (t.done && t.slowPolls > 0) {
        t.slowPolls--;
        return { info: { ...t.info, state: 'running' } };
      }
      return { info: t.info };
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
    const id = `task-${++this.seq}`;
    const task: Task = { info: { _typeName: 'TaskInfo', key: id, task: { _typeName: 'ManagedObjectReference', type: 'Task', value: id }, descriptionId: what, state: 'running' }, slowPolls: this.slowTaskPolls, done: false };
    this.tasks.set(id, task);
    work.then(
      (result) => {
        task.info = { ...task.info, state: 'success', result };
        task.done = true;
      },
      (err: Error) => {
        const fault = err instanceof FakeFault ? err.type : 'SystemError';
        task.info = { ...task.info, state: 'error', error: { _typeName: 'LocalizedMethodFault', fault: { _typeName: fault }, localizedMessage: err.message } };
        task.done = true;
      },
    );
    return { _typeName: 'ManagedObjectReference', type: 'Task', value: id } as Ref;
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
    return {
      _typeName: 'VsanConfigInfoEx',
      enabled: v?.enabled === true,
      dataEncryptionConfig: {
        _typeName: 'VsanDataEncryptionConfig',
        encryptionEnabled: v?.encryptionProvider !== undefined,
        ...(v?.encryptionProvider !== undefined ? { kmsProviderId: { _typeName: 'KeyProviderId', id: v.encryptionProvider } } : {}),
        ...(v?.changing ? { changing: true } : {}),
      },
    };
  }
}

/** Paths that exist but may be unset on an object (then they are simply missing from propSet). */
const KNOWN_PATHS: Record<string, string[]> = {
  VirtualMachine: ['name', 'config.keyId', 'config.template', 'runtime.cryptoState'],
  HostSystem: ['name', 'runtime.cryptoKeyId', 'runtime.cryptoState'],
  ClusterComputeResource: ['name', 'configurationEx'],
  Task: ['info'],
};
