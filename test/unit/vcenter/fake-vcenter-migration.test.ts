/**
 * The fake vCenter's provider-change rekey semantics (rekey reference §2–§4, §6.2, §7), exercised through
 * the production transports (VI/JSON and SOAP): ReconfigVM_Task and its refusals, changeVersion
 * conflicts, injected task failures, GenerateKey / QueryCryptoKeyStatus, host keys, cluster crypto mode,
 * the vSAN provider switch rotating host keys, templates, defaults; the request contract of the new
 * methods; and the migration fixture (size, determinism, both transports reading the same inventory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoManagerKmip } from '../../../server/vcenter/crypto-manager.js';
import { retrieveInventory, waitForTask, type InventoryObject } from '../../../server/vcenter/property-collector.js';
import { VcenterSession } from '../../../server/vcenter/session.js';
import type { DataObject, MoRef, VimParams } from '../../../server/vcenter/transport.js';
import { MoRefResult, read } from '../../../server/vcenter/wire.js';
import { FakeVcenter } from '../../support/fake-vcenter.js';
import { CLUSTER_PATHS, CM, HOST_PATHS, NEW, OLD, VM_PATHS, VSAN_CONFIG, asList, fault, generateKey, keyId, keyOf, mo, normal, pid, props, reconfig } from '../../support/fake-vcenter-client.js';
import { recrypt, rekeySpec, vm, vmRef, type Obj } from '../../support/fake-vcenter-client.js';
import { seedMigrationInventory, type MigrationInventory } from '../../support/fake-vcenter-migration.js';

for (const api of ['json', 'soap'] as const) {
  describe(`the fake vCenter's rekey semantics over ${api}`, () => {
    let fake: FakeVcenter;
    let s: VcenterSession;
    let inv: MigrationInventory;
    const first = (cat: keyof MigrationInventory['vms']) => inv.vms[cat][0]!;

    beforeAll(async () => {
      fake = await FakeVcenter.start({ version: '8.0.2' });
      inv = seedMigrationInventory(fake, { seed: 7 });
      s = await VcenterSession.open({ url: fake.url, user: fake.user, password: fake.password, ca: fake.ca.certificatePem, api });
    });
    afterAll(async () => {
      await s?.close();
      await fake?.close();
    });

    it('rekeys an encrypted VM: home and every named disk to the generated key, a new changeVersion, one rekey counted', async () => {
      const id = first('encrypted');
      const k = await generateKey(s, NEW);
      expect(k).toMatchObject({ success: true, providerId: NEW });
      const before = await vm(s, id);
      expect(before.key?.providerId).toBe(OLD);
      fake.inventory.slowTaskPolls = 2;
      try {
        const polls = fake.calls.filter((c) => c.method === 'RetrievePropertiesEx').length;
        await reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW));
        expect(fake.calls.filter((c) => c.method === 'RetrievePropertiesEx').length - polls).toBeGreaterThanOrEqual(4); // the read + 3 polls
      } finally {
        fake.inventory.slowTaskPolls = 0;
      }
      const after = await vm(s, id);
      expect(after.key).toEqual({ keyId: k.keyId, providerId: NEW });
      expect(after.diskKeys).toEqual(before.diskKeys.map(() => ({ keyId: k.keyId, providerId: NEW })));
      expect(after.changeVersion).not.toBe(before.changeVersion);
      expect(Date.parse(after.changeVersion)).toBeGreaterThan(0);
      expect(fake.rekeys(id)).toBe(1);
      expect(fake.generatedKeys.map((g) => g.keyId)).toContain(k.keyId);
    });

    it('a task is queued, then running with progress, then done; nothing changes before it ends', async () => {
      const id = inv.vms.encrypted[1]!;
      const k = await generateKey(s, NEW);
      fake.inventory.slowTaskPolls = 3;
      let task: MoRef;
      try {
        task = read(MoRefResult, await s.call(vmRef(id), 'ReconfigVM_Task', await rekeySpec(s, id, k.keyId, NEW)), 'ReconfigVM_Task');
      } finally {
        fake.inventory.slowTaskPolls = 0;
      }
      const states: Obj[] = [];
      for (let i = 0; i < 4; i++) {
        states.push((await props(s, task, ['info'])).get('info') as Obj);
        if (i < 3) expect((await vm(s, id)).key?.providerId).toBe(OLD);
      }
      expect(states.map((x) => x['state'])).toEqual(['queued', 'running', 'running', 'success']);
      expect(Number(states[1]!['progress'])).toBeGreaterThan(0);
      expect(states[3]!['entity']).toMatchObject({ type: 'VirtualMachine', value: id });
      expect((await vm(s, id)).key?.providerId).toBe(NEW);
      // Time passing: settleAll ends a pending task without polls.
      fake.inventory.slowTaskPolls = 5;
      try {
        task = read(MoRefResult, await s.call(vmRef(id), 'ReconfigVM_Task', await rekeySpec(s, id, k.keyId, NEW)), 'ReconfigVM_Task');
      } finally {
        fake.inventory.slowTaskPolls = 0;
      }
      expect(fake.inventory.tasks.pending).toBe(1);
      fake.inventory.tasks.settleAll();
      expect(((await props(s, task, ['info'])).get('info') as Obj)['state']).toBe('success');
      expect(fake.rekeys(id)).toBe(2);
    });

    it('refuses what vCenter refuses, each as the task error, and changes nothing', async () => {
      const k = await generateKey(s, NEW);
      const cases: Array<[string, string, RegExp]> = [
        [first('template'), 'NotSupported', /template/],
        [first('snapshotTree'), 'InvalidState', /vm has snapshot tree/],
        [first('ideOn'), 'InvalidPowerState', /IDE/],
        [first('linkedClone'), 'NotSupported', /linked clone/],
        [first('locked'), 'InvalidState', /locked/],
        [first('onDisconnectedHost'), 'HostNotConnected', /disconnected/],
      ];
      for (const [id, type, why] of cases) {
        const before = await vm(s, id);
        const err = await fault(reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW)));
        expect([id, err.faultType], err.message).toEqual([id, type]);
        expect(err.message).toMatch(why);
        const after = await vm(s, id);
        expect([after.key, after.diskKeys, after.changeVersion]).toEqual([before.key, before.diskKeys, before.changeVersion]);
        expect(fake.rekeys(id)).toBe(0);
      }
      const plain = first('unencrypted');
      const err = await fault(reconfig(s, plain, { spec: { _typeName: 'VirtualMachineConfigSpec', crypto: recrypt(k.keyId, NEW) } }));
      expect([err.faultType, err.message]).toEqual(['InvalidState', expect.stringMatching(/vm is not encrypted/)]);
    });

    it('checks the new key: a registered provider, a key GenerateKey made there, or "" (vCenter generates it)', async () => {
      const id = inv.vms.encrypted[2]!;
      const unknown = await fault(reconfig(s, id, await rekeySpec(s, id, 'k', 'no-such-provider')));
      expect([unknown.faultType, unknown.message]).toEqual(['InvalidArgument', expect.stringMatching(/unknown key provider no-such-provider/)]);
      const foreign = await fault(reconfig(s, id, await rekeySpec(s, id, 'made-up-key', NEW)));
      expect([foreign.faultType, foreign.message]).toEqual(['InvalidArgument', expect.stringMatching(/not generated on key provider kmipd/)]);
      const oldKey = await generateKey(s, OLD);
      const wrongProvider = await fault(reconfig(s, id, await rekeySpec(s, id, oldKey.keyId, NEW)));
      expect(wrongProvider.faultType).toBe('InvalidArgument');
      for (const down of [OLD, NEW]) {
        fake.crypto.provider(down).reachable = false;
        try {
          const k = await generateKey(s, NEW).catch(() => ({ keyId: '' }));
          expect((await fault(reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW)))).faultType).toBe('SystemError');
        } finally {
          fake.crypto.provider(down).reachable = true;
        }
      }
      expect(fake.rekeys(id)).toBe(0);
      await reconfig(s, id, await rekeySpec(s, id, '', NEW));
      const after = await vm(s, id);
      expect(after.key).toMatchObject({ providerId: NEW, keyId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(after.diskKeys.every((d) => d?.keyId === after.key?.keyId)).toBe(true);
    });

    it('a stale changeVersion (someone edited the VM) is ConcurrentAccess; the fresh one works', async () => {
      const id = inv.vms.encrypted[3]!;
      const k = await generateKey(s, NEW);
      const spec = await rekeySpec(s, id, k.keyId, NEW);
      fake.touchVm(id);
      const err = await fault(reconfig(s, id, spec));
      expect(err.faultType).toBe('ConcurrentAccess');
      expect((await vm(s, id)).key?.providerId).toBe(OLD);
      await reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW));
      expect(fake.rekeys(id)).toBe(1);
    });

    it('an injected failure changes nothing; one that fails after the VM home leaves the disks on the old key', async () => {
      const id = inv.vms.encrypted[4]!;
      const k = await generateKey(s, NEW);
      fake.failNextReconfig(id, 'SystemError');
      expect((await fault(reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW)))).faultType).toBe('SystemError');
      expect((await vm(s, id)).key?.providerId).toBe(OLD);
      fake.failNextReconfig(id, 'TaskInProgress', { afterHome: true });
      expect((await fault(reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW)))).faultType).toBe('TaskInProgress');
      const half = await vm(s, id);
      expect(half.key?.providerId).toBe(NEW);
      expect(half.diskKeys.every((d) => d?.providerId === OLD)).toBe(true);
      expect(fake.rekeys(id)).toBe(0);
      await reconfig(s, id, await rekeySpec(s, id, k.keyId, NEW));
      expect((await vm(s, id)).diskKeys.every((d) => d?.providerId === NEW)).toBe(true);
    });

    it('a single snapshot chain is fine (the delta chain is rekeyed); vTPM-only needs no deviceChange; unnamed disks keep their key', async () => {
      const chain = first('snapshotChain');
      const k = await generateKey(s, NEW);
      await reconfig(s, chain, await rekeySpec(s, chain, k.keyId, NEW));
      const parents = (await vm(s, chain)).disks.map((d) => (d['backing'] as Obj)['parent'] as Obj);
      expect(parents.every((p) => keyOf(p['keyId'])?.providerId === NEW)).toBe(true);
      const vtpm = first('vtpmOnly');
      await reconfig(s, vtpm, await rekeySpec(s, vtpm, k.keyId, NEW));
      expect((await vm(s, vtpm)).key?.providerId).toBe(NEW);
      const homeOnly = inv.vms.encrypted[5]!;
      await reconfig(s, homeOnly, await rekeySpec(s, homeOnly, k.keyId, NEW, { disks: false }));
      const v = await vm(s, homeOnly);
      expect([v.key?.providerId, new Set(v.diskKeys.map((d) => d?.providerId))]).toEqual([NEW, new Set([OLD])]);
    });

    it('a template goes VM → rekey → template; MarkAsTemplate/MarkAsVirtualMachine refuse the wrong state', async () => {
      const tpl = first('template');
      const t = await vm(s, tpl);
      expect(t.p.get('config.template')).toBe(true);
      expect(t.p.has('resourcePool')).toBe(false);
      const host = t.p.get('runtime.host') as MoRef;
      const cluster = (await props(s, { type: 'HostSystem', value: host.value }, ['parent'])).get('parent') as MoRef;
      const pool = (await props(s, cluster, ['resourcePool'])).get('resourcePool') as MoRef;
      expect((await fault(s.call(vmRef(tpl), 'MarkAsTemplate'))).faultType).toBe('NotSupported');
      await s.call(vmRef(tpl), 'MarkAsVirtualMachine', { pool: mo('ResourcePool', pool.value), host: mo('HostSystem', host.value) });
      const asVm = await vm(s, tpl);
      expect([asVm.p.get('config.template'), asVm.p.get('runtime.powerState'), (asVm.p.get('resourcePool') as MoRef).value]).toEqual([false, 'poweredOff', pool.value]);
      const k = await generateKey(s, NEW);
      await reconfig(s, tpl, await rekeySpec(s, tpl, k.keyId, NEW));
      await s.call(vmRef(tpl), 'MarkAsTemplate');
      const back = await vm(s, tpl);
      expect([back.p.get('config.template'), back.key?.providerId]).toEqual([true, NEW]);
      expect((await fault(s.call(vmRef(first('encrypted')), 'MarkAsVirtualMachine', { pool: mo('ResourcePool', pool.value) }))).faultType).toBe('NotSupported');
      const on = inv.vms.ideOn[1]!;
      expect((await fault(s.call(vmRef(on), 'MarkAsTemplate'))).faultType).toBe('InvalidPowerState');
    });

    it('GenerateKey: a key on NEW or the default; unknown provider → success false; native provider → fault', async () => {
      expect(await generateKey(s)).toMatchObject({ success: true, providerId: OLD });
      expect(await generateKey(s, 'nope')).toMatchObject({ success: false, reason: expect.stringMatching(/not registered/) });
      fake.crypto.seed({ id: 'nkp', managementType: 'nativeProvider' });
      expect((await fault(generateKey(s, 'nkp'))).message).toMatch(/RuntimeFault: Cannot generate keys with native key provider/);
      fake.crypto.provider(NEW).reachable = false;
      try {
        expect(await generateKey(s, NEW)).toMatchObject({ success: false });
      } finally {
        fake.crypto.provider(NEW).reachable = true;
      }
    });

    it('QueryCryptoKeyStatus: 0x01 availability, 0x02 VMs and templates, 0x04 hosts; fields of bits not asked stay unset', async () => {
      const id = inv.vms.encrypted[6]!;
      const vmKey = (await vm(s, id)).key!;
      const hostId = inv.hosts.safeOnOld.find((h) => inv.clusters.plain.some((c) => fake.inventory.host(h).cluster === c))!;
      const hostKey = keyOf((await props(s, { type: 'HostSystem', value: hostId }, ['runtime.cryptoKeyId'])).get('runtime.cryptoKeyId'))!;
      const query = async (keys: Array<{ keyId: string; providerId: string | undefined }>, bits: number) =>
        asList(await s.call(CM, 'QueryCryptoKeyStatus', { keyIds: keys.map((k) => keyId(k.keyId, k.providerId)), checkKeyBitMap: bits })).map((x) => normal(x) as Obj);
      const [a, b, c] = await query([vmKey, hostKey, { keyId: 'missing', providerId: OLD }], 0x07);
      expect(a).toMatchObject({ keyAvailable: 'true', encryptedVMs: { type: 'VirtualMachine', value: id } });
      expect(a).not.toHaveProperty('affectedHosts');
      expect(b).toMatchObject({ keyAvailable: 'true', affectedHosts: { type: 'HostSystem', value: hostId } });
      expect(c).toMatchObject({ keyAvailable: 'false', reason: 'KeyStateMissingInKMS' });
      const [hostWithoutBit] = await query([hostKey], 0x03);
      expect(hostWithoutBit).toMatchObject({ keyAvailable: 'true' });
      expect(hostWithoutBit).not.toHaveProperty('affectedHosts');
      const [onlyVms] = await query([vmKey], 0x02);
      expect(onlyVms).not.toHaveProperty('keyAvailable');
      expect(onlyVms).toHaveProperty('encryptedVMs');
      // A key of another provider with the same id is another key.
      const [other] = await query([{ keyId: vmKey.keyId, providerId: NEW }], 0x02);
      expect(other).not.toHaveProperty('encryptedVMs');
      fake.crypto.provider(OLD).reachable = false;
      try {
        expect((await query([vmKey], 0x01))[0]).toMatchObject({ keyAvailable: 'false', reason: 'KeyStateClusterUnreachable' });
      } finally {
        fake.crypto.provider(OLD).reachable = true;
      }
    });

    it('ConfigureCryptoKey moves a safe host to a NEW key; a disconnected or incapable host is refused', async () => {
      const hostId = inv.hosts.safeOnOld.find((h) => !inv.hosts.disconnected.includes(h))!;
      const k = await generateKey(s, NEW);
      await s.call({ type: 'HostSystem', value: hostId }, 'ConfigureCryptoKey', { keyId: keyId(k.keyId, NEW) });
      const h = await props(s, { type: 'HostSystem', value: hostId }, HOST_PATHS);
      expect([keyOf(h.get('runtime.cryptoKeyId')), h.get('runtime.cryptoState')]).toEqual([{ keyId: k.keyId, providerId: NEW }, 'safe']);
      expect(fake.hostCrypto.hostRekeys(hostId)).toBe(1);
      expect((await fault(s.call({ type: 'HostSystem', value: inv.hosts.disconnected[0]! }, 'ConfigureCryptoKey', { keyId: keyId(k.keyId, NEW) }))).faultType).toBe('HostNotConnected');
      expect((await fault(s.call({ type: 'HostSystem', value: inv.hosts.incapable[0]! }, 'ConfigureCryptoKey', { keyId: keyId(k.keyId, NEW) }))).faultType).toBe('InvalidState');
    });

    it('SetCryptoMode repoints the host-key policy; keyId and providerId together are refused', async () => {
      const c = inv.clusters.hostKeyPolicyOnOld.find((x) => inv.clusters.plain.includes(x))!;
      const ref = { type: 'ClusterComputeResource', value: c };
      await s.call(ref, 'SetCryptoMode', { cryptoMode: 'forceEnable', policy: { _typeName: 'ClusterComputeResourceCryptoModePolicy', providerId: pid(NEW) } });
      const cfg = normal((await props(s, ref, CLUSTER_PATHS)).get('configurationEx')) as Obj;
      expect(cfg['cryptoConfig']).toMatchObject({ cryptoMode: 'forceEnable', policy: { providerId: { id: NEW } } });
      const k = await generateKey(s, NEW);
      const err = await fault(s.call(ref, 'SetCryptoMode', { cryptoMode: 'forceEnable', policy: { _typeName: 'ClusterComputeResourceCryptoModePolicy', keyId: keyId(k.keyId, NEW), providerId: pid(NEW) } }));
      expect(err.faultType).toBe('InvalidArgument');
    });

    it('the vSAN switch: changing while the task runs, then NEW with a new KEK, and new host keys on every connected host', async () => {
      const c = inv.clusters.vsan[0]!;
      const cluster = mo('ClusterComputeResource', c);
      const config = async () => normal(await s.callVsan(VSAN_CONFIG, 'VsanClusterGetConfig', { cluster })) as Obj;
      const before = (await config())['dataEncryptionConfig'] as Obj;
      const members = fake.inventory.hosts.filter((h) => h.cluster === c);
      fake.inventory.slowTaskPolls = 2;
      let task: MoRef;
      try {
        const spec = { _typeName: 'VimVsanReconfigSpec', modify: true, dataEncryptionConfig: { _typeName: 'VsanDataEncryptionConfig', encryptionEnabled: true, kmsProviderId: pid(NEW) } };
        task = read(MoRefResult, await s.callVsan(VSAN_CONFIG, 'VsanClusterReconfig', { cluster, vsanReconfigSpec: spec }), 'VsanClusterReconfig');
      } finally {
        fake.inventory.slowTaskPolls = 0;
      }
      expect((await config())['dataEncryptionConfig']).toMatchObject({ changing: 'true', kmsProviderId: { id: OLD } });
      await waitForTask(s, task, 'VsanClusterReconfig', 10_000);
      const after = (await config())['dataEncryptionConfig'] as Obj;
      expect(after).toMatchObject({ encryptionEnabled: 'true', kmsProviderId: { id: NEW } });
      expect(after).not.toHaveProperty('changing');
      expect([after['kekId'], after['hostKeyId']]).not.toEqual([before['kekId'], before['hostKeyId']]);
      for (const h of members) {
        const key = keyOf((await props(s, { type: 'HostSystem', value: h.id }, ['runtime.cryptoKeyId'])).get('runtime.cryptoKeyId'));
        expect([h.id, key?.providerId]).toEqual([h.id, inv.hosts.disconnected.includes(h.id) ? OLD : NEW]);
      }
      const unknown = await fault(s.callVsan(VSAN_CONFIG, 'VsanClusterReconfig', { cluster, vsanReconfigSpec: { _typeName: 'VimVsanReconfigSpec', modify: true, dataEncryptionConfig: { _typeName: 'VsanDataEncryptionConfig', encryptionEnabled: true, kmsProviderId: pid('nope') } } }));
      expect(unknown.faultType).toBe('InvalidArgument');
    });

    it('vSAN health and resync are read per cluster', async () => {
      const health = async (c: string) => normal(await s.callVsan({ type: 'VsanVcClusterHealthSystem', value: 'vsan-cluster-health-system' }, 'VsanQueryVcClusterHealthSummary', { cluster: mo('ClusterComputeResource', c), fields: ['overallHealth'], fetchFromCache: true })) as Obj;
      const resync = async (c: string) => normal(await s.callVsan({ type: 'VsanObjectSystem', value: 'vsan-cluster-object-system' }, 'QuerySyncingVsanObjectsSummary', { cluster: mo('ClusterComputeResource', c) })) as Obj;
      expect((await health(inv.clusters.vsanHealthRed[0]!))['overallHealth']).toBe('red');
      expect((await health(inv.clusters.vsan[0]!))['overallHealth']).toBe('green');
      expect((await resync(inv.clusters.vsanResyncing[0]!))['totalObjectsToSync']).toBe('42');
      expect((await resync(inv.clusters.vsan[0]!))).toMatchObject({ totalObjectsToSync: '0', totalBytesToSync: '0' });
    });

    it('defaults: SetDefaultKmsCluster sets and clears an entity default and the global one; ListKmsClusters shows them', async () => {
      const list2 = async () => Object.fromEntries(asList(await s.call(CM, 'ListKmsClusters', { includeKmsServers: false })).map((c) => [keyOf({ keyId: '', providerId: c['clusterId'] })!.providerId!, normal(c) as Obj]));
      const c = inv.clusters.entityDefaultOfOld[0]!;
      expect((await list2())[OLD]).toMatchObject({ useAsDefault: 'true', useAsEntityDefault: { value: c }, managementType: 'vCenter' });
      await s.call(CM, 'SetDefaultKmsCluster', { entity: mo('ClusterComputeResource', c), clusterId: pid(NEW) });
      await s.call(CM, 'SetDefaultKmsCluster', { clusterId: pid(NEW) });
      let now = await list2();
      expect(now[OLD]).toMatchObject({ useAsDefault: 'false' });
      expect(now[OLD]).not.toHaveProperty('useAsEntityDefault');
      expect(now[NEW]).toMatchObject({ useAsDefault: 'true', useAsEntityDefault: { value: c } });
      await s.call(CM, 'SetDefaultKmsCluster', { entity: mo('ClusterComputeResource', c) });
      now = await list2();
      expect(now[NEW]).not.toHaveProperty('useAsEntityDefault');
      await s.call(CM, 'UnregisterKmsCluster', { clusterId: pid('nkp') }).catch(() => undefined);
      expect((await fault(s.call(CM, 'UnregisterKmsCluster', { clusterId: pid('never-there') }))).faultType).toBe('RuntimeFault');
    });
  });
}

describe('the migration fixture and the request contract', () => {
  let fake: FakeVcenter;
  let json: VcenterSession;
  let soap: VcenterSession;
  let inv: MigrationInventory;

  beforeAll(async () => {
    fake = await FakeVcenter.start({ version: '8.0.2', about: { version: '8.0.3', build: '24022515' } });
    inv = seedMigrationInventory(fake, { seed: 11 });
    const open = (api: 'json' | 'soap') => VcenterSession.open({ url: fake.url, user: fake.user, password: fake.password, ca: fake.ca.certificatePem, api });
    [json, soap] = await Promise.all([open('json'), open('soap')]);
  });
  afterAll(async () => {
    await json?.close();
    await soap?.close();
    await fake?.close();
  });

  it('builds a mixed inventory of more than 200 objects on OLD, the same for the same seed', async () => {
    expect(inv.counts.objects).toBeGreaterThanOrEqual(200);
    expect(inv.counts).toMatchObject({ objects: fake.inventory.vms.length + fake.inventory.hosts.length + fake.inventory.clusters.length, templates: 6, hosts: 16, clusters: 4 });
    expect(inv.counts.rekeyable + inv.counts.refused).toBeLessThan(inv.counts.usingOld + 1);
    expect(inv.hosts.esxi7).toHaveLength(1);
    expect(inv.hosts.esxi8BelowU3e).toHaveLength(1);
    expect([inv.clusters.vsanHealthRed, inv.clusters.vsanResyncing].map((x) => x.length)).toEqual([1, 1]);
    const [twin, other] = await Promise.all([FakeVcenter.start(), FakeVcenter.start()]);
    try {
      expect(seedMigrationInventory(twin, { seed: 11 })).toEqual(inv);
      expect(JSON.stringify([twin.inventory, twin.keys.all])).toBe(JSON.stringify([fake.inventory, fake.keys.all]));
      seedMigrationInventory(other, { seed: 12 });
      expect(other.inventory.vms.map((v) => v.id)).not.toEqual(fake.inventory.vms.map((v) => v.id));
      expect(() => seedMigrationInventory(twin)).toThrow(/already called/);
    } finally {
      await Promise.all([twin.close(), other.close()]);
    }
  });

  it('VI/JSON and SOAP read the same inventory in one paged container-view pass', async () => {
    const requests = [
      { type: 'VirtualMachine', paths: VM_PATHS },
      { type: 'HostSystem', paths: HOST_PATHS },
      { type: 'ClusterComputeResource', paths: CLUSTER_PATHS },
    ];
    const shape = (objs: InventoryObject[]) => objs.map((o) => ({ ref: `${o.ref.type}:${o.ref.value}`, props: normal(Object.fromEntries(o.props)) }));
    const pages = fake.inventory.pagesServed;
    const [a, b] = [await retrieveInventory(json, requests, 100), await retrieveInventory(soap, requests, 100)];
    expect(fake.inventory.pagesServed - pages).toBe(2 * Math.ceil(inv.counts.objects / 100));
    expect(shape(b)).toEqual(shape(a));
    const tree = a.find((o) => o.ref.value === inv.vms.snapshotTree[0])!;
    expect(normal(tree.props.get('snapshot'))).toMatchObject({ rootSnapshotList: { name: 'base', childSnapshotList: [{ name: 'branch-a' }, { name: 'branch-b' }] } });
    const host = a.find((o) => o.ref.value === inv.hosts.esxi7[0])!;
    expect(normal(host.props.get('config.product'))).toMatchObject({ version: '7.0.3', build: '21930508' });
    expect(fake.inventory.viewCount).toBe(0);
  });

  it('OLD and NEW are trusted both ways (simulated, no connection); an unreachable provider is red', async () => {
    const cm = new CryptoManagerKmip(json);
    expect(await cm.status(NEW)).toMatchObject({ overallStatus: 'green', servers: [{ status: 'green', clientTrustServer: true, serverTrustClient: true }] });
    expect((await cm.status(OLD))?.servers).toHaveLength(2);
    fake.crypto.provider(OLD).reachable = false;
    try {
      expect(await new CryptoManagerKmip(soap).status(OLD)).toMatchObject({ overallStatus: 'red', servers: [{ status: 'red' }, { status: 'red' }] });
    } finally {
      fake.crypto.provider(OLD).reachable = true;
    }
  });

  it('ServiceContent.about carries vCenter version, build and API version', async () => {
    const about = ((await json.transport.serviceContent()) as { about: Obj }).about;
    expect(about).toMatchObject({ version: '8.0.3', build: '24022515', apiVersion: '8.0.2.0' });
    fake.about.version = '8.0.1';
    expect(((await soap.transport.serviceContent()) as { about: Obj }).about['version']).toBe('8.0.1');
    fake.about.version = '8.0.3';
  });

  it('VI/JSON: the crypto spec and the device need their _typeName; unknown spec fields are refused', async () => {
    const id = inv.vms.encrypted[0]!;
    const base = await rekeySpec(json, id, '', NEW);
    const spec = base['spec'] as Obj;
    const refused = async (params: VimParams, why: RegExp) => {
      const err = await fault(json.call(vmRef(id), 'ReconfigVM_Task', params));
      expect([err.faultType, err.message]).toEqual(['InvalidRequest', expect.stringMatching(why)]);
    };
    await refused({ spec: { ...spec, crypto: { _typeName: 'CryptoSpecDeepRecrypt', newKeyId: keyId('', NEW) } } as unknown as DataObject }, /crypto: a CryptoSpecShallowRecrypt here needs "_typeName"/);
    const change = (spec['deviceChange'] as Obj[])[0]!;
    await refused({ spec: { ...spec, deviceChange: [{ ...change, device: { ...(change['device'] as Obj), _typeName: 'VirtualCdrom' } }] } as unknown as DataObject }, /device: needs "_typeName" of VirtualDisk/);
    await refused({ spec: { ...spec, name: 'renamed' } as unknown as DataObject }, /spec\.name: unknown field/);
    expect(fake.rekeys(id)).toBe(0);
  });

  it('SOAP: elements out of WSDL order and a crypto spec without xsi:type are refused', async () => {
    const id = inv.vms.encrypted[0]!;
    const spec = (await rekeySpec(soap, id, '', NEW))['spec'] as Obj;
    const refused = async (p: Promise<unknown>, why: RegExp) => {
      const err = await fault(p);
      expect([err.faultType, err.message]).toEqual(['InvalidRequest', expect.stringMatching(why)]);
    };
    const { crypto, deviceChange, changeVersion } = spec;
    await refused(soap.call(vmRef(id), 'ReconfigVM_Task', { spec: { _typeName: 'VirtualMachineConfigSpec', crypto, deviceChange, changeVersion } as DataObject }), /out of WSDL order/);
    // The client's encoder gives xsi:type only to the types it knows are sent as subtypes.
    await refused(soap.call(vmRef(id), 'ReconfigVM_Task', { spec: { _typeName: 'VirtualMachineConfigSpec', changeVersion, crypto: { _typeName: 'CryptoSpecDeepRecrypt', newKeyId: keyId('', NEW) } } as DataObject }), /needs xsi:type="CryptoSpecShallowRecrypt"/);
    const cluster = mo('ClusterComputeResource', inv.clusters.vsan[0]!);
    const enc = { _typeName: 'VsanDataEncryptionConfig', encryptionEnabled: true, kmsProviderId: pid(NEW) };
    await refused(soap.callVsan(VSAN_CONFIG, 'VsanClusterReconfig', { cluster, vsanReconfigSpec: { _typeName: 'VimVsanReconfigSpec', dataEncryptionConfig: enc, modify: true } }), /modify: out of WSDL order/);
    await refused(soap.callVsan(VSAN_CONFIG, 'VsanClusterReconfig', { vsanReconfigSpec: { _typeName: 'VimVsanReconfigSpec', modify: true, dataEncryptionConfig: enc }, cluster }), /cluster: out of WSDL order/);
    await refused(soap.call(CM, 'QueryCryptoKeyStatus', { checkKeyBitMap: 1, keyIds: [keyId('k', OLD)] }), /keyIds: out of WSDL order/);
    expect(fake.rekeys(id)).toBe(0);
  });
});
