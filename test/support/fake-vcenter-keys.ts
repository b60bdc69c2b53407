/**
 * The fake vCenter's keys and provider defaults (rekey reference §2.2, §6.2, §6.3; API reference
 * §B.2): which key ids each provider's KMS holds (seeded, or made by GenerateKey / a rekey / a host or
 * vSAN key change), GenerateKey, QueryCryptoKeyStatus (bits 0x01, 0x02, 0x04), SetDefaultKmsCluster,
 * GetDefaultKmsCluster, UnregisterKmsCluster, and the key rule every write path shares (`resolve`).
 * A provider is reachable unless a test sets `reachable = false` on it (FakeProvider).
 */
import { randomUUID } from 'node:crypto';
import { arr, FakeFault, type FakeCryptoManager, type FakeProvider } from './fake-vcenter-crypto.js';
import type { FakeCluster, FakeInventory, FakeVm, KeyRef } from './fake-vcenter-inventory.js';
import { cryptoKeyId, moref } from './fake-vcenter-props.js';
import type { Ref } from './fake-vcenter-tasks.js';

export type KeyOrigin = 'seed' | 'GenerateKey' | 'rekey' | 'host' | 'vsan';

export interface KeyRecord {
  readonly keyId: string;
  readonly providerId: string;
  readonly origin: KeyOrigin;
  /** Assigned to a VM, disk, host or vSAN cluster at least once. */
  used: boolean;
}

const keyOf = (v: unknown): KeyRef | undefined => {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const p = o['providerId'] as Record<string, unknown> | undefined;
  return { keyId: typeof o['keyId'] === 'string' ? o['keyId'] : '', ...(typeof p?.['id'] === 'string' ? { providerId: p['id'] } : {}) };
};
export { keyOf as parseKeyId };

const sameKey = (a: KeyRef | undefined, b: KeyRef) => a !== undefined && a.keyId === b.keyId && a.providerId === b.providerId;

/** Every key a VM uses: VM home and each disk backing down its delta chain. */
export function keysOfVm(vm: FakeVm): KeyRef[] {
  const out: KeyRef[] = vm.key ? [vm.key] : [];
  for (const d of vm.disks ?? []) for (let bk: typeof d.parent = d; bk; bk = bk.parent) if (bk.keyId) out.push(bk.keyId);
  return out;
}

export class FakeKeys {
  readonly all: KeyRecord[] = [];
  private readonly index = new Map<string, KeyRecord>();
  /** When true, a GenerateKey key not used yet reports KeyStateNotActiveOrEnabled (govmomi PR 3605). */
  freshKeysNotActive = false;

  constructor(
    private readonly crypto: FakeCryptoManager,
    private readonly inv: FakeInventory,
  ) {}

  /** Keys made by GenerateKey, in order. */
  get generatedKeys(): KeyRecord[] {
    return this.all.filter((k) => k.origin === 'GenerateKey');
  }

  /** Records that `provider`'s KMS holds `keyId` (for seeded inventories). */
  seedKey(provider: string, keyId: string, origin: KeyOrigin = 'seed'): KeyRecord {
    const existing = this.index.get(`${provider}\0${keyId}`);
    if (existing) return existing;
    const rec: KeyRecord = { keyId, providerId: provider, origin, used: origin === 'seed' };
    this.all.push(rec);
    this.index.set(`${provider}\0${keyId}`, rec);
    return rec;
  }

  known(k: KeyRef): boolean {
    return k.providerId !== undefined && this.index.has(`${k.providerId}\0${k.keyId}`);
  }

  /** A new key on `provider`'s KMS. */
  create(provider: string, origin: KeyOrigin): KeyRef {
    return { keyId: this.seedKey(provider, randomUUID(), origin).keyId, providerId: provider };
  }

  markUsed(k: KeyRef): void {
    const rec = k.providerId === undefined ? undefined : this.index.get(`${k.providerId}\0${k.keyId}`);
    if (rec) rec.used = true;
  }

  registered(id: string): boolean {
    return this.crypto.providers.has(id);
  }

  reachable(p: FakeProvider): boolean {
    return p.reachable !== false;
  }

  /**
   * Whether a key of provider `id` can be unwrapped now: false only for a registered provider marked
   * unreachable (a provider no longer registered is served from vCenter's key cache).
   */
  providerReachable(id: string | undefined): boolean {
    const p = id === undefined ? undefined : this.crypto.providers.get(id);
    return p === undefined || this.reachable(p);
  }

  /** The default provider for objects of `cluster` (its entity default, else the global one). */
  defaultFor(cluster: FakeCluster | undefined): FakeProvider | undefined {
    const providers = [...this.crypto.providers.values()];
    const entity = cluster && providers.find((p) => p.entityDefaults.some((e) => e.value === cluster.id));
    return entity ?? providers.find((p) => p.useAsDefault);
  }

  /**
   * The key a rekey / host key change ends with, for `newKeyId` as sent: the provider must be
   * registered (or, without providerId, a default exists) and reachable; keyId "" makes a new key on
   * it (one per provider per call, through `generated`); any other keyId must be one that provider's
   * KMS holds. Faults: InvalidArgument (unknown provider / key, no default), SystemError (unreachable).
   */
  resolve(newKeyId: unknown, what: string, cluster: FakeCluster | undefined, generated: Map<string, KeyRef>, origin: KeyOrigin = 'rekey'): KeyRef {
    const asked = keyOf(newKeyId);
    if (!asked) throw new FakeFault('InvalidArgument', `${what} is required`, { invalidProperty: what });
    let provider: FakeProvider | undefined;
    if (asked.providerId === undefined) {
      provider = this.defaultFor(cluster);
      if (!provider) throw new FakeFault('InvalidArgument', `${what}: no providerId and no default key provider`, { invalidProperty: `${what}.providerId` });
    } else {
      provider = this.crypto.providers.get(asked.providerId);
      if (!provider) throw new FakeFault('InvalidArgument', `unknown key provider ${asked.providerId}`, { invalidProperty: `${what}.providerId` });
    }
    if (!this.reachable(provider)) throw new FakeFault('SystemError', `Cannot connect to key provider ${provider.id}`, { reason: `key provider ${provider.id} is not reachable` });
    if (asked.keyId === '') {
      const made = generated.get(provider.id) ?? this.create(provider.id, origin);
      generated.set(provider.id, made);
      return made;
    }
    if (provider.managementType !== 'vCenter') throw new FakeFault('InvalidArgument', `keys of ${provider.managementType} provider ${provider.id} are generated by vCenter: send keyId ""`, { invalidProperty: `${what}.keyId` });
    const key = { keyId: asked.keyId, providerId: provider.id };
    if (!this.known(key)) throw new FakeFault('InvalidArgument', `key ${asked.keyId} was not generated on key provider ${provider.id}`, { invalidProperty: `${what}.keyId` });
    return key;
  }

  /** CryptoManagerKmip methods of this file; undefined when `method` is not one of them. */
  call(method: string, params: Record<string, unknown>): { result: unknown } | undefined {
    switch (method) {
      case 'GenerateKey':
        return { result: this.generateKey(params) };
      case 'QueryCryptoKeyStatus':
        return { result: this.queryCryptoKeyStatus(params) };
      case 'SetDefaultKmsCluster':
        this.setDefault(params);
        return { result: undefined };
      case 'GetDefaultKmsCluster':
        return { result: this.getDefault(params) };
      case 'UnregisterKmsCluster': {
        const id = (params['clusterId'] as Record<string, unknown> | undefined)?.['id'];
        if (typeof id !== 'string' || !this.crypto.providers.delete(id)) throw new FakeFault('RuntimeFault', 'Invalid cluster ID');
        return { result: undefined };
      }
      default:
        return undefined;
    }
  }

  private generateKey(params: Record<string, unknown>): unknown {
    const asked = (params['keyProvider'] as Record<string, unknown> | undefined)?.['id'];
    const provider = typeof asked === 'string' ? this.crypto.providers.get(asked) : [...this.crypto.providers.values()].find((p) => p.useAsDefault);
    const failed = (id: string, reason: string) => ({ _typeName: 'CryptoKeyResult', keyId: cryptoKeyId({ keyId: '', providerId: id }), success: false, reason });
    if (typeof asked !== 'string' && !provider) throw new FakeFault('RuntimeFault', 'No default provider');
    if (!provider) return failed(String(asked), `Key provider ${String(asked)} is not registered`);
    if (provider.managementType === 'nativeProvider') throw new FakeFault('RuntimeFault', 'Cannot generate keys with native key provider');
    if (provider.managementType === 'trustAuthority') return failed(provider.id, `Keys of trusted key provider ${provider.id} are generated by the trusted hosts`);
    if (!this.reachable(provider)) return failed(provider.id, `Cannot connect to key provider ${provider.id}`);
    return { _typeName: 'CryptoKeyResult', keyId: cryptoKeyId(this.create(provider.id, 'GenerateKey')), success: true };
  }

  /** Keys in use anywhere, plus every key recorded here (QueryCryptoKeyStatus without keyIds). */
  private everyKey(): KeyRef[] {
    const seen = new Map<string, KeyRef>();
    const add = (k: KeyRef | undefined) => k && seen.set(`${k.providerId ?? ''}\0${k.keyId}`, k);
    for (const vm of this.inv.vms) keysOfVm(vm).forEach(add);
    for (const h of this.inv.hosts) add(h.key);
    for (const r of this.all) add({ keyId: r.keyId, providerId: r.providerId });
    return [...seen.values()];
  }

  private availability(k: KeyRef): { keyAvailable: boolean; reason?: string } {
    if (k.providerId === undefined) return { keyAvailable: false, reason: 'KeyStateMissingInCache' };
    const p = this.crypto.providers.get(k.providerId);
    if (!p) return { keyAvailable: false, reason: 'KeyStateClusterInvalid' };
    if (p.managementType === 'nativeProvider') return { keyAvailable: false, reason: 'KeyStateManagedByNKP' };
    if (p.managementType === 'trustAuthority') return { keyAvailable: false, reason: 'KeyStateManagedByTrustAuthority' };
    if (!this.reachable(p)) return { keyAvailable: false, reason: 'KeyStateClusterUnreachable' };
    const rec = this.index.get(`${k.providerId}\0${k.keyId}`);
    if (!rec) return { keyAvailable: false, reason: 'KeyStateMissingInKMS' };
    if (this.freshKeysNotActive && rec.origin === 'GenerateKey' && !rec.used) return { keyAvailable: false, reason: 'KeyStateNotActiveOrEnabled' };
    return { keyAvailable: true };
  }

  private queryCryptoKeyStatus(params: Record<string, unknown>): unknown[] {
    const bits = Number(params['checkKeyBitMap']);
    if (params['checkKeyBitMap'] === undefined || !Number.isInteger(bits)) throw new FakeFault('InvalidArgument', 'checkKeyBitMap is required', { invalidProperty: 'checkKeyBitMap' });
    const keys = params['keyIds'] === undefined ? this.everyKey() : arr(params['keyIds']).map((k) => keyOf(k) ?? { keyId: '' });
    return keys.map((k) => {
      const vms = bits & 0x02 ? this.inv.vms.filter((vm) => keysOfVm(vm).some((x) => sameKey(x, k))).map((vm) => moref('VirtualMachine', vm.id)) : [];
      const hosts = bits & 0x04 ? this.inv.hosts.filter((h) => sameKey(h.key, k)).map((h) => moref('HostSystem', h.id)) : [];
      const avail = bits & 0x01 ? this.availability(k) : undefined;
      return {
        _typeName: 'CryptoManagerKmipCryptoKeyStatus',
        keyId: cryptoKeyId(k),
        ...(avail ? { keyAvailable: avail.keyAvailable, ...(avail.reason !== undefined ? { reason: avail.reason } : {}) } : {}),
        ...(vms.length ? { encryptedVMs: vms } : {}),
        ...(hosts.length ? { affectedHosts: hosts } : {}),
      };
    });
  }

  private entityOf(params: Record<string, unknown>): Ref | undefined {
    const e = params['entity'] as Ref | undefined;
    if (e === undefined) return undefined;
    if (e.type === 'ClusterComputeResource') this.inv.cluster(e.value);
    else if (e.type !== 'Folder') throw new FakeFault('InvalidArgument', `a default key provider is set on a cluster or host folder, not a ${e.type}`, { invalidProperty: 'entity' });
    return { type: e.type, value: e.value };
  }

  /** SetDefaultKmsCluster(entity?, clusterId?): no entity = the global default; no clusterId = clear. */
  private setDefault(params: Record<string, unknown>): void {
    const entity = this.entityOf(params);
    const id = (params['clusterId'] as Record<string, unknown> | undefined)?.['id'];
    const provider = id === undefined ? undefined : this.crypto.provider(String(id));
    for (const p of this.crypto.providers.values()) {
      if (entity) p.entityDefaults = p.entityDefaults.filter((e) => !(e.type === entity.type && e.value === entity.value));
      else p.useAsDefault = false;
    }
    if (provider && entity) provider.entityDefaults.push(entity);
    else if (provider) provider.useAsDefault = true;
  }

  private getDefault(params: Record<string, unknown>): unknown {
    const entity = this.entityOf(params);
    const providers = [...this.crypto.providers.values()];
    const own = entity && providers.find((p) => p.entityDefaults.some((e) => e.type === entity.type && e.value === entity.value));
    const found = own ?? (entity === undefined || params['defaultsToParent'] === true || params['defaultsToParent'] === 'true' ? providers.find((p) => p.useAsDefault) : undefined);
    if (!found) throw new FakeFault('RuntimeFault', 'No default provider');
    return { _typeName: 'KeyProviderId', id: found.id };
  }
}
