/**
 * "Who uses provider X" (reference §C.4) over both transports: one container view, paged
 * RetrievePropertiesEx, vSAN configuration per vSAN cluster, defaults; and the edge cases of §C.4.5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VcenterSession } from '../../../server/vcenter/session.js';
import { providerUsage } from '../../../server/vcenter/usage.js';
import { FakeVcenter } from '../../support/fake-vcenter.js';

for (const api of ['json', 'soap'] as const) {
  describe(`vcenter usage over ${api}`, () => {
    let fake: FakeVcenter;
    let session: VcenterSession;

    beforeAll(async () => {
      fake = await FakeVcenter.start({ version: api === 'json' ? '8.0.2' : '7.0.3' });
      const inv = fake.inventory;
      inv.seedVms(230, 'app', 'kp-old');
      inv.seedVms(40, 'plain'); // not encrypted
      inv.seedVms(5, 'other', 'kp-new');
      inv.vms.push({ id: 'vm-tpl', name: 'golden-template', key: { keyId: 'k-tpl', providerId: 'kp-old' }, template: true });
      inv.vms.push({ id: 'vm-anon', name: 'mystery', key: { keyId: 'k-anon' } });
      inv.hosts.push({ id: 'host-1', name: 'esx-01', key: { keyId: 'hk-1', providerId: 'kp-old' } }, { id: 'host-2', name: 'esx-02' }, { id: 'host-3', name: 'esx-03', key: { keyId: 'hk-3', providerId: 'kp-new' } });
      inv.clusters.push(
        { id: 'domain-c1', name: 'vsan-a', vsan: { enabled: true, encryptionProvider: 'kp-old', changing: true } },
        { id: 'domain-c2', name: 'vsan-b', vsan: { enabled: true, encryptionProvider: 'kp-new' } },
        { id: 'domain-c3', name: 'plain-cluster' },
        { id: 'domain-c4', name: 'policy-cluster', hostKeyPolicyProvider: 'kp-old' },
      );
      fake.crypto.seed({ id: 'kp-old', useAsDefault: true, entityDefaults: [{ type: 'ClusterComputeResource', value: 'domain-c3' }] });
      fake.crypto.seed({ id: 'kp-new' });
      session = await VcenterSession.open({ url: fake.url, user: fake.user, password: fake.password, ca: fake.ca.certificatePem, api });
    });
    afterAll(async () => {
      await session?.close();
      await fake?.close();
    });

    it('lists every VM, template, host and cluster of the provider, in pages, and destroys its view', async () => {
      const pagesBefore = fake.inventory.pagesServed;
      const u = await providerUsage(session, 'kp-old', { pageSize: 100 });
      expect(fake.inventory.pagesServed - pagesBefore).toBe(3); // 230 + 40 + 5 + 2 VMs, 3 hosts, 4 clusters = 284 objects
      expect(u.counts).toEqual({ vms: 231, hosts: 1, clusters: 2, scanned: 284 });
      const byKind = (k: string) => u.users.filter((e) => e.kind === k).map((e) => e.name);
      expect(byKind('vm')).toHaveLength(230);
      expect(byKind('vm')[0]).toBe('app-0001');
      expect(byKind('template')).toEqual(['golden-template']);
      expect(byKind('host')).toEqual(['esx-01']);
      expect(byKind('vsan-cluster')).toEqual(['vsan-a']);
      expect(u.users.find((e) => e.name === 'vsan-a')!.detail).toMatch(/being changed/);
      expect(byKind('cluster-host-key-policy')).toEqual(['policy-cluster']);
      expect(byKind('entity-default')).toEqual(['plain-cluster']);
      expect(u.unknownProvider.map((e) => e.name)).toEqual(['mystery']);
      expect(u.isDefault).toBe(true);
      expect(u.inUse).toBe(true);
      expect(fake.inventory.viewCount).toBe(0);
    });

    it('another provider sees only its own users', async () => {
      const u = await providerUsage(session, 'kp-new');
      expect(u.users.map((e) => `${e.kind}:${e.name}`).sort()).toEqual(['host:esx-03', 'vm:other-0001', 'vm:other-0002', 'vm:other-0003', 'vm:other-0004', 'vm:other-0005', 'vsan-cluster:vsan-b'].sort());
      expect(u.isDefault).toBe(false);
    });

    it('a provider nobody uses is not in use once the unknown-provider VM is gone', async () => {
      const anon = fake.inventory.vms.findIndex((v) => v.id === 'vm-anon');
      const [removed] = fake.inventory.vms.splice(anon, 1);
      try {
        const u = await providerUsage(session, 'kp-unused');
        expect(u).toMatchObject({ registered: false, isDefault: false, users: [], unknownProvider: [], unreadable: [], inUse: false });
      } finally {
        fake.inventory.vms.push(removed!);
      }
    });

    it('a cluster whose host-key policy pins a key of the provider counts as a user (8.0.3+ policy.keyId)', async () => {
      fake.inventory.clusters.push({ id: 'domain-c9', name: 'pinned-key-cluster', cryptoConfig: { cryptoMode: 'forceEnable', policy: { keyId: { keyId: 'pk-1', providerId: 'kp-pinned' } } } });
      try {
        const u = await providerUsage(session, 'kp-pinned');
        expect(u.users.map((e) => `${e.kind}:${e.name}`)).toEqual(['cluster-host-key-policy:pinned-key-cluster']);
        expect(u.inUse).toBe(true);
      } finally {
        fake.inventory.clusters.pop();
      }
    });

    it('vSAN settings that cannot be read count as in use (we cannot prove otherwise)', async () => {
      fake.inventory.vsanAvailable = false;
      try {
        const u = await providerUsage(session, 'kp-none');
        expect(u.unreadable.map((e) => e.name).sort()).toEqual(['vsan-a', 'vsan-b']);
        expect(u.inUse).toBe(true);
      } finally {
        fake.inventory.vsanAvailable = true;
      }
    });
  });
}
