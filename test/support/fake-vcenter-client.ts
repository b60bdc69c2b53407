/**
 * Client-side helpers for tests against the fake vCenter's rekey semantics, written on the production
 * transports (VcenterSession): read one object's properties, a VM as a rekey sees it, the shallow
 * rekey spec a client sends, a ReconfigVM_Task run to its end, GenerateKey; and `normal`, which makes a
 * value read over VI/JSON or SOAP comparable (primitives as strings, one-element lists unwrapped).
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { VcenterError } from '../../server/vcenter/errors.js';
import { waitForTask } from '../../server/vcenter/property-collector.js';
import type { VcenterSession } from '../../server/vcenter/session.js';
import { unwrapAny, type DataObject, type MoRef, type VimParams } from '../../server/vcenter/transport.js';
import { BoolSchema, MoRefResult, list, read } from '../../server/vcenter/wire.js';

export const CM: MoRef = { type: 'CryptoManagerKmip', value: 'CryptoManager' };
export const PC: MoRef = { type: 'PropertyCollector', value: 'propertyCollector' };
export const VSAN_CONFIG: MoRef = { type: 'VsanVcClusterConfigSystem', value: 'vsan-cluster-config-system' };
export const vmRef = (value: string): MoRef => ({ type: 'VirtualMachine', value });
export const mo = (type: string, value: string) => ({ _typeName: 'ManagedObjectReference' as const, type, value });
export const pid = (id: string): DataObject => ({ _typeName: 'KeyProviderId', id });
export const keyId = (keyId: string, provider?: string): DataObject => ({ _typeName: 'CryptoKeyId', keyId, ...(provider !== undefined ? { providerId: pid(provider) } : {}) });
export const recrypt = (k: string, provider?: string): DataObject => ({ _typeName: 'CryptoSpecShallowRecrypt', newKeyId: keyId(k, provider) });
/** The fixture's default provider names. */
export const OLD = 'kmip-for-vmware';
export const NEW = 'kmipd';

export type Obj = Record<string, unknown>;
/** A value read over either transport, as plain JSON: primitives as strings, one-element lists as the element. */
export function normal(v: unknown): unknown {
  v = unwrapAny(v);
  if (Array.isArray(v)) return v.length === 1 ? normal(v[0]) : v.map(normal);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, normal(x)]));
  return String(v);
}
export const asList = (v: unknown): Obj[] => list(z.unknown()).parse(unwrapAny(v)) as Obj[];
export const keyOf = (v: unknown): { keyId: string; providerId: string | undefined } | undefined => {
  const k = v as { keyId?: string; providerId?: { id?: string } } | undefined;
  return k && { keyId: k.keyId ?? '', providerId: k.providerId?.id };
};

export async function fault(p: Promise<unknown>): Promise<VcenterError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VcenterError);
  return err as VcenterError;
}

/** Some properties of one object (RetrievePropertiesEx with a plain ObjectSpec). */
export async function props(s: VcenterSession, ref: MoRef, paths: readonly string[]): Promise<Map<string, unknown>> {
  const spec: DataObject = {
    _typeName: 'PropertyFilterSpec',
    propSet: [{ _typeName: 'PropertySpec', type: ref.type, all: false, pathSet: [...paths] }],
    objectSet: [{ _typeName: 'ObjectSpec', obj: mo(ref.type, ref.value), skip: false }],
  };
  const r = (await s.call(PC, 'RetrievePropertiesEx', { specSet: [spec], options: { _typeName: 'RetrieveOptions' } })) as { objects?: unknown };
  const o = asList(r.objects)[0]!;
  return new Map(asList(o['propSet']).map((p) => [String(p['name']), unwrapAny(p['val'])]));
}

export const VM_PATHS = ['name', 'config.template', 'config.keyId', 'config.changeVersion', 'config.hardware.device', 'config.changeTrackingEnabled', 'snapshot', 'runtime.powerState', 'runtime.cryptoState', 'runtime.host', 'resourcePool'];
export const HOST_PATHS = ['name', 'parent', 'runtime.cryptoKeyId', 'runtime.cryptoState', 'runtime.connectionState', 'config.product'];
export const CLUSTER_PATHS = ['name', 'configurationEx', 'resourcePool'];

export async function vm(s: VcenterSession, id: string) {
  const p = await props(s, vmRef(id), VM_PATHS);
  const disks = asList(p.get('config.hardware.device')).filter((d) => d['_typeName'] === 'VirtualDisk');
  return { p, disks, key: keyOf(p.get('config.keyId')), changeVersion: String(p.get('config.changeVersion')), diskKeys: disks.map((d) => keyOf((d['backing'] as Obj)['keyId'])) };
}

/** A shallow rekey spec as the client sends it: changeVersion, every encrypted disk echoed as read, the VM home. */
export async function rekeySpec(s: VcenterSession, id: string, k: string, provider: string | undefined, options: { changeVersion?: string | false; disks?: boolean } = {}): Promise<VimParams> {
  const v = await vm(s, id);
  const encrypted = v.disks.filter((d) => (d['backing'] as Obj)['keyId'] !== undefined);
  const changeVersion = options.changeVersion === undefined ? v.changeVersion : options.changeVersion;
  return {
    spec: {
      _typeName: 'VirtualMachineConfigSpec',
      ...(changeVersion !== false ? { changeVersion } : {}),
      ...(options.disks !== false && encrypted.length
        ? { deviceChange: encrypted.map((d) => ({ _typeName: 'VirtualDeviceConfigSpec', operation: 'edit', device: d as DataObject, backing: { _typeName: 'VirtualDeviceConfigSpecBackingSpec', crypto: recrypt(k, provider) } })) }
        : {}),
      crypto: recrypt(k, provider),
    },
  };
}

export async function reconfig(s: VcenterSession, id: string, params: VimParams): Promise<unknown> {
  const task = read(MoRefResult, await s.call(vmRef(id), 'ReconfigVM_Task', params), 'ReconfigVM_Task');
  return waitForTask(s, task, 'ReconfigVM_Task', 10_000);
}

export async function generateKey(s: VcenterSession, provider?: string): Promise<{ keyId: string; providerId: string | undefined; success: boolean; reason?: string }> {
  const r = (await s.call(CM, 'GenerateKey', provider === undefined ? {} : { keyProvider: pid(provider) })) as Obj;
  const k = keyOf(r['keyId'])!;
  return { keyId: k.keyId ?? '', providerId: k.providerId, success: read(BoolSchema, r['success'], 'success'), ...(r['reason'] !== undefined ? { reason: String(r['reason']) } : {}) };
}
