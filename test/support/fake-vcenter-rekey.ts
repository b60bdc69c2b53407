/**
 * The fake vCenter's VM side of a provider-change rekey (rekey reference §2, §7): ReconfigVM_Task with
 * CryptoSpecShallowRecrypt on the VM home and on disks, MarkAsTemplate / MarkAsVirtualMachine, plus
 * test hooks (touchVm, failNextReconfig, rekeys). ReconfigVM_Task always answers a Task; every
 * refusal is that task's error (as vcsim does), checked when the task ends — so an edit made while it
 * runs (touchVm) ends it in ConcurrentAccess. Checks, in this order:
 *   template → NotSupported; snapshot tree → InvalidState "vm has snapshot tree"; no config.keyId →
 *   InvalidState "vm is not encrypted"; locked → InvalidState "vm is locked"; host not connected →
 *   HostNotConnected; an IDE controller while not powered off → InvalidPowerState; linked clone →
 *   NotSupported; a deviceChange that is not an edit of an encrypted VirtualDisk of this VM (or
 *   carries backing.parent) → InvalidDeviceSpec; key (fake-vcenter-keys.ts `resolve`) →
 *   InvalidArgument / SystemError; current key's provider unreachable → SystemError; changeVersion
 *   not current → ConcurrentAccess.
 */
import { arr, FakeFault } from './fake-vcenter-crypto.js';
import type { FakeInventory, FakeSnapshot, FakeVm, KeyRef } from './fake-vcenter-inventory.js';
import { keysOfVm, type FakeKeys } from './fake-vcenter-keys.js';
import { changeVersionOf, nextChangeVersion, poolOf, powerStateOf } from './fake-vcenter-props.js';
import type { Ref } from './fake-vcenter-tasks.js';

export interface ReconfigFailure {
  readonly type: string;
  readonly message: string;
  /** The VM home gets the new key but no disk does (a rekey that failed midway). */
  readonly afterHome: boolean;
}

const hasTree = (nodes: readonly FakeSnapshot[] | undefined): boolean => (nodes ?? []).length > 1 || (nodes ?? []).some((n) => hasTree(n.children));
const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

export class FakeVmRekey {
  private readonly failures = new Map<string, ReconfigFailure[]>();
  private readonly counts = new Map<string, number>();
  private readonly running = new Set<string>();

  constructor(
    private readonly inv: FakeInventory,
    private readonly keys: FakeKeys,
  ) {}

  /** Successful ReconfigVM_Task calls that changed a key of this VM. */
  rekeys(vmId: string): number {
    return this.counts.get(vmId) ?? 0;
  }

  /** Someone else edits the VM: its config.changeVersion moves on. */
  touchVm(vmId: string): string {
    const vm = this.inv.vm(vmId);
    vm.changeVersion = nextChangeVersion();
    return vm.changeVersion;
  }

  /** The next ReconfigVM_Task of this VM ends in `type` (after the usual running polls). */
  failNextReconfig(vmId: string, type: string, options: { message?: string; afterHome?: boolean } = {}): void {
    const list = this.failures.get(vmId) ?? [];
    list.push({ type, message: options.message ?? `${type} (injected)`, afterHome: options.afterHome === true });
    this.failures.set(vmId, list);
  }

  reconfigVm(vmId: string, params: Record<string, unknown>): Ref {
    const vm = this.inv.vm(vmId);
    const spec = obj(params['spec']);
    if (!spec) throw new FakeFault('InvalidArgument', 'spec is required', { invalidProperty: 'spec' });
    if (this.running.has(vmId)) throw new FakeFault('TaskInProgress', `another task is running on ${vm.name}`, { task: { _typeName: 'ManagedObjectReference', type: 'Task', value: 'unknown' } });
    this.running.add(vmId);
    return this.inv.tasks.startDeferred('VirtualMachine.reconfigure', { ref: { type: 'VirtualMachine', value: vm.id }, name: vm.name }, () => {
      this.running.delete(vmId);
      this.apply(vm, spec);
    });
  }

  private apply(vm: FakeVm, spec: Record<string, unknown>): void {
    const failure = this.failures.get(vm.id)?.shift();
    const home = obj(spec['crypto']);
    const changes = arr(spec['deviceChange']).map((c, i) => ({ spec: obj(c) ?? {}, index: i }));
    const crypto = home !== undefined || changes.some((c) => obj(c.spec['backing'])?.['crypto'] !== undefined);
    if (failure && !failure.afterHome) throw new FakeFault(failure.type, failure.message);
    if (vm.template) throw new FakeFault('NotSupported', 'The operation is not supported on a template');
    if (crypto) {
      if (hasTree(vm.snapshots)) throw new FakeFault('InvalidState', 'vm has snapshot tree', { faultCause: { _typeName: 'LocalizedMethodFault', fault: { _typeName: 'SystemError', reason: 'vm has snapshot tree' }, localizedMessage: 'vm has snapshot tree' } });
      if (!vm.key) throw new FakeFault('InvalidState', 'vm is not encrypted');
      if (vm.locked) throw new FakeFault('InvalidState', 'vm is locked: a key it needs is missing');
    }
    const host = vm.host === undefined ? undefined : this.inv.hosts.find((h) => h.id === vm.host);
    if (host && (host.connectionState ?? 'connected') !== 'connected') throw new FakeFault('HostNotConnected', `host ${host.name} is ${host.connectionState}`);
    if (crypto) {
      const power = powerStateOf(vm);
      if (vm.ide && power !== 'poweredOff') throw new FakeFault('InvalidPowerState', `a VM with an IDE controller must be powered off for a shallow rekey (it is ${power})`, { requestedState: 'poweredOff', existingState: power });
      if (vm.linkedClone) throw new FakeFault('NotSupported', 'shallow recrypt is not supported on a linked clone');
    }
    const disks = changes.map(({ spec: c, index }) => {
      const bad = (why: string) => new FakeFault('InvalidDeviceSpec', `deviceChange[${index}]: ${why}`, { property: `deviceChange[${index}]`, deviceIndex: index });
      if (c['operation'] !== 'edit') throw bad(`operation ${String(c['operation'])}: only edit is supported by this fake`);
      const key = Number(obj(c['device'])?.['key']);
      const disk = (vm.disks ?? []).find((d) => d.key === key);
      if (!disk) throw bad(`${vm.name} has no disk with key ${String(obj(c['device'])?.['key'])}`);
      const backing = obj(c['backing']);
      if (backing?.['parent'] !== undefined) throw bad('crypto on backing.parent is not supported');
      const recrypt = obj(backing?.['crypto']);
      if (recrypt && !disk.keyId) throw bad(`disk ${disk.label} is not encrypted`);
      return { disk, recrypt, index };
    });
    const generated = new Map<string, KeyRef>();
    const cluster = this.inv.clusterOfVm(vm);
    const homeKey = home ? this.keys.resolve(home['newKeyId'], 'spec.crypto.newKeyId', cluster, generated) : undefined;
    const diskKeys = disks.map((d) => (d.recrypt ? this.keys.resolve(d.recrypt['newKeyId'], `spec.deviceChange[${d.index}].backing.crypto.newKeyId`, cluster, generated) : undefined));
    if (crypto) this.checkCurrentProviders(vm);
    if (spec['changeVersion'] !== undefined && spec['changeVersion'] !== changeVersionOf(vm)) {
      throw new FakeFault('ConcurrentAccess', `${vm.name} was changed since changeVersion ${String(spec['changeVersion'])} (now ${changeVersionOf(vm)})`);
    }
    if (homeKey) {
      vm.key = homeKey;
      this.keys.markUsed(homeKey);
    }
    if (failure) {
      vm.changeVersion = nextChangeVersion();
      throw new FakeFault(failure.type, failure.message);
    }
    disks.forEach((d, i) => {
      const k = diskKeys[i];
      if (!k) return;
      this.keys.markUsed(k);
      // The whole delta chain of the disk is rewrapped (a linked clone's shared base never gets here).
      for (let bk: typeof d.disk.parent = d.disk; bk; bk = bk.parent) if (bk.keyId) bk.keyId = k;
    });
    vm.changeVersion = nextChangeVersion();
    if (crypto) this.counts.set(vm.id, this.rekeys(vm.id) + 1);
  }

  /** The VM's current keys must be reachable to be rewrapped: SystemError when a provider is down. */
  private checkCurrentProviders(vm: FakeVm): void {
    for (const k of keysOfVm(vm)) {
      if (!this.keys.providerReachable(k.providerId)) throw new FakeFault('SystemError', `Cannot connect to key provider ${k.providerId} holding the current key of ${vm.name}`, { reason: 'key provider not reachable' });
    }
  }

  /** MarkAsTemplate(): a powered-off VM becomes a template (vcsim's rules and faults). */
  markAsTemplate(vmId: string): void {
    const vm = this.inv.vm(vmId);
    if (vm.template) throw new FakeFault('NotSupported', `${vm.name} is already a template`);
    const state = powerStateOf(vm);
    if (state !== 'poweredOff') throw new FakeFault('InvalidPowerState', `${vm.name} is ${state}`, { requestedState: 'poweredOff', existingState: state });
    vm.template = true;
    vm.powerState = 'poweredOff';
    vm.pool = undefined;
    vm.changeVersion = nextChangeVersion();
  }

  /** MarkAsVirtualMachine(pool, host?): a template becomes a powered-off VM in `pool`. */
  markAsVirtualMachine(vmId: string, params: Record<string, unknown>): void {
    const vm = this.inv.vm(vmId);
    if (!vm.template) throw new FakeFault('NotSupported', `${vm.name} is not a template`);
    const pool = params['pool'] as Ref | undefined;
    const cluster = pool && this.inv.clusters.find((c) => poolOf(c) === pool.value);
    if (!pool || pool.type !== 'ResourcePool' || !cluster) throw new FakeFault('InvalidArgument', `no resource pool ${pool?.value}`, { invalidProperty: 'pool' });
    const hostRef = params['host'] as Ref | undefined;
    const inCluster = this.inv.hosts.filter((h) => h.cluster === cluster.id);
    const host = hostRef ? inCluster.find((h) => h.id === hostRef.value) : (inCluster.find((h) => h.id === vm.host) ?? inCluster.find((h) => (h.connectionState ?? 'connected') === 'connected'));
    if (hostRef && !host) throw new FakeFault('InvalidArgument', `host ${hostRef.value} is not in the cluster of pool ${pool.value}`, { invalidProperty: 'host' });
    vm.template = false;
    vm.powerState = 'poweredOff';
    vm.pool = pool.value;
    if (host) vm.host = host.id;
    vm.changeVersion = nextChangeVersion();
  }
}
