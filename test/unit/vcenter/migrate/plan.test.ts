/**
 * The migration plan as a pure function of an inventory: what references the old provider, in VMware's safe
 * order, with each precondition of the reference (§2.4, §3, §4, §5) and the provider refusals.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterRecord, HostRecord, MigrationInventory, ProviderRecord, VmRecord } from '../../../../server/vcenter/migrate/inventory.js';
import { FIRST_SAFE_ESXI8_BUILD, PHASES, planCounts, planMigration } from '../../../../server/vcenter/migrate/plan.js';

const OLD = 'ibm-kmip';
const NEW = 'kmip-prod';
const ref = (type: string, value: string) => ({ type, value });
const disk = (label: string, providerId?: string, hasParent = false) => ({
  device: { _typeName: 'VirtualDisk', key: 2000 },
  label,
  ...(providerId ? { key: { keyId: `${label}-key`, providerId } } : {}),
  hasParent,
});
const vm = (id: string, over: Partial<VmRecord> = {}): VmRecord => ({
  ref: ref('VirtualMachine', id),
  name: id,
  template: false,
  key: { keyId: `${id}-key`, providerId: OLD },
  changeVersion: 'v1',
  disks: [disk(`${id}-d1`, OLD)],
  hasIde: false,
  snapshots: 'none',
  powerState: 'poweredOn',
  host: ref('HostSystem', 'host-1'),
  changeTracking: false,
  ...over,
});
const host = (id: string, over: Partial<HostRecord> = {}): HostRecord => ({ ref: ref('HostSystem', id), name: id, parent: ref('ClusterComputeResource', 'c1'), connectionState: 'connected', version: '8.0.3', build: String(FIRST_SAFE_ESXI8_BUILD), ...over });
const providers = (over: Partial<ProviderRecord> = {}): ProviderRecord[] => [
  { id: OLD, isDefault: true, entityDefaults: [ref('ClusterComputeResource', 'c1')], ...over },
  { id: NEW, isDefault: false, entityDefaults: [] },
];
function inventory(parts: Partial<MigrationInventory> = {}): MigrationInventory {
  const clusters: readonly ClusterRecord[] = parts.clusters ?? [{ ref: ref('ClusterComputeResource', 'c1'), name: 'c1', resourcePool: ref('ResourcePool', 'rp-1') }];
  return { vcenter: 'vc', vcenterVersion: '8.0.2', providers: providers(), vms: [], hosts: [host('host-1')], clusters, names: new Map([['ClusterComputeResource:c1', 'c1']]), ...parts };
}

describe('the migration plan', () => {
  it('lists what references the old provider in the safe order: defaults, VMs, templates, vSAN, hosts, cluster policies', () => {
    const inv = inventory({
      vms: [vm('vm-1'), vm('t-1', { template: true }), (({ key: _k, ...rest }) => ({ ...rest, ref: ref('VirtualMachine', 'vm-plain'), name: 'vm-plain', disks: [disk('x')] }))(vm('vm-plain')), vm('vm-new', { key: { keyId: 'n', providerId: NEW }, disks: [] })],
      hosts: [host('host-1', { key: { keyId: 'hk', providerId: OLD }, cryptoState: 'safe' })],
      clusters: [{ ref: ref('ClusterComputeResource', 'c1'), name: 'c1', resourcePool: ref('ResourcePool', 'rp-1'), hostKeyPolicy: { cryptoMode: 'forceEnable', providerId: OLD }, vsan: { encryptionEnabled: true, provider: OLD, changing: false, health: 'green', objectsToSync: 0 } }],
    });
    const plan = planMigration(inv, OLD, NEW, { ok: true, detail: 'ok' });
    expect(plan.refusals).toEqual([]);
    expect(plan.items.map((i) => i.id)).toEqual(['default:global', 'entity-default:c1', 'vm:vm-1', 'template:t-1', 'vsan-cluster:c1', 'host:host-1', 'cluster-policy:c1']);
    expect(plan.items.map((i) => PHASES.indexOf(i.kind))).toEqual([...plan.items.map((i) => PHASES.indexOf(i.kind))].sort((a, b) => a - b));
    expect(plan.items.every((i) => !i.blocked)).toBe(true);
    expect([...plan.items.find((i) => i.id === 'vm:vm-1')!.oldKeys].sort()).toEqual(['vm-1-d1-key', 'vm-1-key']);
    expect(plan.items.find((i) => i.id === 'host:host-1')!.action).toMatch(/vSAN/);
  });

  it('blocks each object whose precondition fails, with the reason', () => {
    const inv = inventory({
      vms: [
        vm('tree', { snapshots: 'tree' }),
        vm('chain', { snapshots: 'chain', disks: [disk('c', OLD, true)] }),
        vm('linked', { disks: [disk('l', OLD, true)] }),
        vm('ide-on', { hasIde: true }),
        vm('ide-off', { hasIde: true, powerState: 'poweredOff' }),
        vm('locked', { cryptoState: 'locked' }),
        vm('unknown', { key: { keyId: 'k' }, disks: [] }),
        vm('t-nopool', { template: true, host: ref('HostSystem', 'host-2') }),
      ],
      hosts: [host('host-1'), host('host-2', { parent: ref('ClusterComputeResource', 'c9') }), host('h-off', { key: { keyId: 'x', providerId: OLD }, connectionState: 'disconnected' })],
    });
    const plan = planMigration(inv, OLD, NEW);
    const blocked = Object.fromEntries(plan.items.filter((i) => i.blocked).map((i) => [i.name, i.blocked]));
    expect(Object.keys(blocked).sort()).toEqual(['h-off', 'linked', 'locked', 'ide-on', 't-nopool', 'tree', 'unknown'].sort());
    expect(blocked['tree']).toMatch(/snapshot tree/);
    expect(blocked['linked']).toMatch(/linked clone/);
    expect(blocked['ide-on']).toMatch(/IDE/);
    expect(blocked['locked']).toMatch(/locked/);
    expect(blocked['unknown']).toMatch(/names no provider/);
    expect(blocked['t-nopool']).toMatch(/resource pool/);
    expect(blocked['h-off']).toMatch(/disconnected/);
    expect(planCounts(plan).vm).toEqual({ ready: 2, blocked: 5 });
  });

  it('blocks a vSAN cluster with red health, a resync, a disconnected member or unreadable settings', () => {
    const vsan = (id: string, v: Partial<NonNullable<ClusterRecord['vsan']>>): ClusterRecord => ({ ref: ref('ClusterComputeResource', id), name: id, vsan: { encryptionEnabled: true, provider: OLD, changing: false, ...v } });
    const inv = inventory({
      clusters: [vsan('red', { health: 'red' }), vsan('sync', { objectsToSync: 12 }), vsan('down', {}), vsan('unread', { unreadable: 'health: timeout' }), vsan('fine', { health: 'yellow' })],
      hosts: [host('h1', { parent: ref('ClusterComputeResource', 'down'), connectionState: 'notResponding' })],
    });
    const items = planMigration(inv, OLD, NEW).items.filter((i) => i.kind === 'vsan-cluster');
    expect(Object.fromEntries(items.map((i) => [i.name, i.blocked ?? 'ready']))).toEqual({
      red: expect.stringMatching(/red/),
      sync: expect.stringMatching(/12 object\(s\) resyncing/),
      down: expect.stringMatching(/h1/),
      unread: expect.stringMatching(/timeout/),
      fine: 'ready',
    });
  });

  it('refuses Native and Trusted providers, an unregistered or unusable target, and the same name twice', () => {
    const nkp = inventory({ providers: [{ id: OLD, managementType: 'nativeProvider', isDefault: false, entityDefaults: [] }, { id: NEW, managementType: 'trustAuthority', isDefault: false, entityDefaults: [] }] });
    expect(planMigration(nkp, OLD, NEW).refusals).toEqual([expect.stringMatching(/nativeProvider/), expect.stringMatching(/trustAuthority/)]);
    expect(planMigration(inventory({ providers: [providers()[0]!] }), OLD, NEW).refusals).toEqual([expect.stringMatching(/no key provider named kmip-prod.*register/)]);
    expect(planMigration(inventory(), OLD, NEW, { ok: false, detail: 'kmip-1: red, it does not trust vCenter' }).refusals).toEqual([expect.stringMatching(/not usable.*does not trust vCenter/)]);
    expect(planMigration(inventory(), OLD, OLD).refusals[0]).toMatch(/both ibm-kmip/);
  });

  it('marks VMs on hosts in the range IBM documents (vCenter 8 with ESXi 7, or ESXi 8 before 8.0 U3e) and warns', () => {
    const inv = inventory({
      vms: [vm('on-7', { host: ref('HostSystem', 'esx7') }), vm('on-80u2', { host: ref('HostSystem', 'esx8old'), changeTracking: true }), vm('on-80u3e', { host: ref('HostSystem', 'esx8new') })],
      hosts: [host('esx7', { version: '7.0.3', build: '21930508' }), host('esx8old', { version: '8.0.2', build: '22380479' }), host('esx8new')],
    });
    const plan = planMigration(inv, OLD, NEW);
    const risk = Object.fromEntries(plan.items.filter((i) => i.kind === 'vm').map((i) => [i.name, i.restartRisk ?? 'none']));
    expect(risk['on-7']).toMatch(/ESXi 7\.0\.3/);
    expect(risk['on-80u2']).toMatch(/before 8\.0 U3e.*change block tracking/);
    expect(risk['on-80u3e']).toBe('none');
    expect(plan.warnings).toEqual([expect.stringMatching(/2 VM\(s\).*--accept-vm-restart-risk/)]);
    // Under vCenter 7 the documented range does not apply.
    expect(planMigration({ ...inv, vcenterVersion: '7.0.3' }, OLD, NEW).warnings).toEqual([]);
  });
});
