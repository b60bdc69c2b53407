/**
 * The fake vCenter's host and cluster side of a provider-change rekey (rekey reference §3, §4):
 * HostSystem.ConfigureCryptoKey, ClusterComputeResource.SetCryptoMode, and on the vSAN endpoint
 * VsanClusterReconfig (provider switch: `changing` while the task runs, then a new KEK and host key
 * id on the new provider and a new host key for every connected host of the cluster),
 * VsanQueryVcClusterHealthSummary and QuerySyncingVsanObjectsSummary (per-cluster settings).
 */
import { FakeFault } from './fake-vcenter-crypto.js';
import type { FakeCluster, FakeHost, FakeInventory, KeyRef } from './fake-vcenter-inventory.js';
import { keysOfVm, parseKeyId, type FakeKeys } from './fake-vcenter-keys.js';
import type { Ref } from './fake-vcenter-tasks.js';

const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const truthy = (v: unknown) => v === true || v === 'true';
const CRYPTO_MODES = new Set(['onDemand', 'forceEnable']);
/** vSAN managed objects (moId → accepted types). The object system's WSDL type is VsanObjectSystem; VsanVcObjectSystem is accepted too. */
const VSAN_OBJECTS: Record<string, readonly string[]> = {
  'vsan-cluster-config-system': ['VsanVcClusterConfigSystem'],
  'vsan-cluster-health-system': ['VsanVcClusterHealthSystem'],
  'vsan-cluster-object-system': ['VsanObjectSystem', 'VsanVcObjectSystem'],
};

export class FakeHostCrypto {
  private readonly hostCounts = new Map<string, number>();
  private readonly vsanFailures = new Map<string, string[]>();

  constructor(
    private readonly inv: FakeInventory,
    private readonly keys: FakeKeys,
  ) {}

  /** ConfigureCryptoKey calls that succeeded on this host. */
  hostRekeys(hostId: string): number {
    return this.hostCounts.get(hostId) ?? 0;
  }

  /** The next VsanClusterReconfig task of this cluster ends in `type`; nothing changes. */
  failNextVsanReconfig(clusterId: string, type: string): void {
    this.vsanFailures.set(clusterId, [...(this.vsanFailures.get(clusterId) ?? []), type]);
  }

  private clusterOf(h: FakeHost): FakeCluster | undefined {
    return h.cluster === undefined ? undefined : this.inv.clusters.find((c) => c.id === h.cluster);
  }

  private setHostKey(h: FakeHost, key: KeyRef): void {
    h.key = key;
    h.cryptoState = 'safe';
    this.keys.markUsed(key);
    // "will … unlock all encrypted VMs on the host" (rekey reference §3) — those whose keys are there.
    for (const vm of this.inv.vms) {
      if (vm.host === h.id && vm.locked && keysOfVm(vm).every((k) => this.keys.known(k) && this.keys.providerReachable(k.providerId))) vm.locked = false;
    }
  }

  /**
   * ConfigureCryptoKey(keyId?): host connected (else HostNotConnected) and in crypto state safe or
   * prepared (else InvalidState). Without keyId: keeps the host's key, else a new key from the
   * cluster's policy provider, else from the default provider.
   */
  configureCryptoKey(hostId: string, params: Record<string, unknown>): void {
    const h = this.inv.host(hostId);
    if ((h.connectionState ?? 'connected') !== 'connected') throw new FakeFault('HostNotConnected', `host ${h.name} is ${h.connectionState}`);
    const state = h.cryptoState ?? (h.key ? 'safe' : 'incapable');
    if (state !== 'safe' && state !== 'prepared') throw new FakeFault('InvalidState', `host ${h.name} is in crypto state ${state}, not safe or prepared`);
    const cluster = this.clusterOf(h);
    let key: KeyRef;
    if (params['keyId'] !== undefined) key = this.keys.resolve(params['keyId'], 'keyId', cluster, new Map(), 'host');
    else if (h.key) key = h.key;
    else {
      const policy = cluster?.cryptoConfig?.policy ?? (cluster?.hostKeyPolicyProvider !== undefined ? { providerId: cluster.hostKeyPolicyProvider } : undefined);
      const provider = policy?.keyId ?? (policy?.providerId !== undefined ? { keyId: '', providerId: policy.providerId } : { keyId: '' });
      key = this.keys.resolve({ keyId: provider.keyId, ...(provider.providerId !== undefined ? { providerId: { id: provider.providerId } } : {}) }, 'keyId', cluster, new Map(), 'host');
    }
    this.setHostKey(h, key);
    this.hostCounts.set(h.id, this.hostRekeys(h.id) + 1);
  }

  /** SetCryptoMode(cryptoMode, policy?{keyId? | providerId?}). */
  setCryptoMode(clusterId: string, params: Record<string, unknown>): void {
    const c = this.inv.cluster(clusterId);
    const mode = params['cryptoMode'];
    if (typeof mode !== 'string' || !CRYPTO_MODES.has(mode)) throw new FakeFault('InvalidArgument', `cryptoMode ${String(mode)} is not onDemand or forceEnable`, { invalidProperty: 'cryptoMode' });
    const policy = obj(params['policy']);
    const keyId = policy?.['keyId'] === undefined ? undefined : parseKeyId(policy['keyId']);
    const providerId = obj(policy?.['providerId'])?.['id'];
    if (keyId && providerId !== undefined) throw new FakeFault('InvalidArgument', 'only one of policy.keyId and policy.providerId may be set', { invalidProperty: 'policy' });
    if (providerId !== undefined && !this.keys.registered(String(providerId))) throw new FakeFault('InvalidArgument', `unknown key provider ${String(providerId)}`, { invalidProperty: 'policy.providerId' });
    if (keyId && !this.keys.known(keyId)) throw new FakeFault('InvalidArgument', `key ${keyId.keyId} is not a key of provider ${keyId.providerId}`, { invalidProperty: 'policy.keyId' });
    c.hostKeyPolicyProvider = undefined;
    c.cryptoConfig = { cryptoMode: mode, ...(keyId ? { policy: { keyId } } : providerId !== undefined ? { policy: { providerId: String(providerId) } } : {}) };
  }

  private vsanCluster(params: Record<string, unknown>): FakeCluster {
    const ref = params['cluster'] as Ref | undefined;
    const c = this.inv.clusters.find((x) => x.id === ref?.value);
    if (!c) throw new FakeFault('NotFound', `no cluster ${ref?.value}`);
    return c;
  }

  /**
   * VsanClusterReconfig(cluster, vsanReconfigSpec{modify, dataEncryptionConfig{encryptionEnabled,
   * kmsProviderId}}). The spec is checked at the call (faults), the change happens when the task ends.
   */
  vsanClusterReconfig(params: Record<string, unknown>): Ref {
    const c = this.vsanCluster(params);
    const spec = obj(params['vsanReconfigSpec']);
    if (!spec || spec['modify'] === undefined) throw new FakeFault('InvalidArgument', 'vsanReconfigSpec.modify is required', { invalidProperty: 'vsanReconfigSpec.modify' });
    if (!c.vsan?.enabled) throw new FakeFault('InvalidState', `vSAN is not enabled on ${c.name}`);
    if (c.vsan.changing) throw new FakeFault('InvalidState', `a vSAN encryption change is already in progress on ${c.name}`);
    const enc = obj(spec['dataEncryptionConfig']);
    const enable = enc !== undefined && truthy(enc['encryptionEnabled']);
    const provider = obj(enc?.['kmsProviderId'])?.['id'];
    if (enable && typeof provider !== 'string') throw new FakeFault('InvalidArgument', 'kmsProviderId is required to enable encryption', { invalidProperty: 'dataEncryptionConfig.kmsProviderId' });
    if (enable && !this.keys.registered(String(provider))) throw new FakeFault('InvalidArgument', `unknown key provider ${String(provider)}`, { invalidProperty: 'dataEncryptionConfig.kmsProviderId' });
    const vsan = c.vsan;
    const change = enc !== undefined && (enable ? vsan.encryptionProvider !== provider : vsan.encryptionProvider !== undefined);
    if (change) vsan.changing = true;
    return this.inv.tasks.startDeferred('VsanClusterReconfig', { ref: { type: 'ClusterComputeResource', value: c.id }, name: c.name }, () => {
      vsan.changing = false;
      const failure = this.vsanFailures.get(c.id)?.shift();
      if (failure) throw new FakeFault(failure, `${failure} (injected)`);
      if (!change) return undefined;
      if (!enable) {
        vsan.encryptionProvider = vsan.kekId = vsan.hostKeyId = undefined;
        return undefined;
      }
      const p = String(provider);
      if (!this.keys.providerReachable(p) || !this.keys.providerReachable(vsan.encryptionProvider)) throw new FakeFault('SystemError', `Cannot connect to key provider`, { reason: 'key provider not reachable' });
      const kek = this.keys.create(p, 'vsan');
      const hostKey = this.keys.create(p, 'vsan');
      this.keys.markUsed(kek);
      this.keys.markUsed(hostKey);
      Object.assign(vsan, { encryptionProvider: p, kekId: kek.keyId, hostKeyId: hostKey.keyId, dekGenerationId: (vsan.dekGenerationId ?? 0) + 1 });
      // "A new host key is generated" for every host that takes part (rekey reference §3/§4).
      for (const h of this.inv.hosts) if (h.cluster === c.id && (h.connectionState ?? 'connected') === 'connected') this.setHostKey(h, this.keys.create(p, 'host'));
      return undefined;
    });
  }

  /** A method of the vSAN endpoint (/vsanHealth, /sdk/vsan/…). */
  vsanCall(obj: Ref, method: string, params: Record<string, unknown>): unknown {
    if (!VSAN_OBJECTS[obj.value]?.includes(obj.type)) throw new FakeFault('ManagedObjectNotFound', `no vSAN object ${obj.type}:${obj.value}`);
    switch (`${obj.value}.${method}`) {
      case 'vsan-cluster-config-system.VsanClusterGetConfig':
        return this.inv.vsanClusterGetConfig(params);
      case 'vsan-cluster-config-system.VsanClusterReconfig':
        return this.vsanClusterReconfig(params);
      case 'vsan-cluster-health-system.VsanQueryVcClusterHealthSummary':
        return this.vsanHealthSummary(params);
      case 'vsan-cluster-object-system.QuerySyncingVsanObjectsSummary':
        return this.syncingObjects(params);
      default:
        throw new FakeFault('MethodNotFound', `${obj.type}.${method} is not implemented by this fake`);
    }
  }

  vsanHealthSummary(params: Record<string, unknown>): unknown {
    const c = this.vsanCluster(params);
    const health = c.vsan?.health ?? 'green';
    return { _typeName: 'VsanClusterHealthSummary', overallHealth: health, overallHealthDescription: health === 'green' ? 'Healthy' : health === 'yellow' ? 'Warning' : 'Error' };
  }

  syncingObjects(params: Record<string, unknown>): unknown {
    const r = this.vsanCluster(params).vsan?.resync ?? { objects: 0, bytes: 0 };
    return { _typeName: 'VsanHostVsanObjectSyncQueryResult', totalObjectsToSync: r.objects, totalBytesToSync: r.bytes, totalRecoveryETA: r.objects > 0 ? 600 : 0 };
  }
}
