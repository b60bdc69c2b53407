/**
 * The status page reads at most a capped number of keys (oldest first). Past the cap it must not
 * call a key vCenter uses "not a key of this server": it may be one of the keys not read.
 */
import { describe, expect, it } from 'vitest';
import { gatherStatus, type StatusSources } from '../../../server/admin/status/gather.js';
import { HealthLog } from '../../../server/admin/status/health-log.js';
import { PublishedUsageReports, type UsageReport } from '../../../server/admin/status/published-usage.js';
import { renderKeys } from '../../../server/admin/status/render-store.js';
import { renderUsage } from '../../../server/admin/status/render-usage.js';
import type { KeyStore, ObjectSummary } from '../../../server/store/store.js';

const NOW = Date.UTC(2026, 0, 1);
const uid = (i: number) => `key-${String(i).padStart(3, '0')}`;

/** A store of `n` keys listed in uid order, as the real stores page them; it records each listObjects limit. */
function storeOf(n: number, limits: number[]): KeyStore {
  const all: ObjectSummary[] = Array.from({ length: n }, (_, i) => ({ uid: uid(i), tenantId: 't1', objectType: 2, state: 2, createdAt: NOW - (n - i) * 1000, lastGetAt: null }));
  const store: Partial<KeyStore> = {
    listTenants: async () => [{ id: 't1', name: 'prod', createdAt: NOW }],
    listClientCerts: async () => [],
    countObjectsByState: async () => [{ tenantId: 't1', state: 2, count: n }],
    getObject: async () => undefined,
    listObjects: async (f) => {
      limits.push(f.limit);
      return all.filter((o) => f.afterUid === undefined || o.uid > f.afterUid).slice(0, f.limit);
    },
  };
  return store as KeyStore;
}

function sources(store: KeyStore, keyIds: string[]): StatusSources {
  const usage = new PublishedUsageReports();
  const report: UsageReport = {
    source: 'kmipctl vcenter usage',
    readAt: new Date(NOW).toISOString(),
    provider: 'kp',
    vcenter: 'vc.example',
    registered: true,
    isDefault: false,
    inUse: true,
    users: keyIds.slice(0, 1).map((keyId, i) => ({ id: `vm-${i}`, name: `vm ${i}`, kind: 'vm', detail: 'encrypted', keyId })),
    unknownProvider: [],
    // Unreadable entries are listed on the page too, so their keys are looked up like the others.
    unreadable: keyIds.slice(1).map((keyId, i) => ({ id: `host-${i}`, name: `host ${i}`, kind: 'host', detail: 'no access', keyId })),
    counts: { vms: 1, hosts: 0, clusters: 0, scanned: keyIds.length },
  };
  usage.publish({ report, receivedAt: NOW, publishedBy: 'management token' });
  return {
    store,
    readiness: async () => ({ ready: true, checks: { store: 'ok', rootKey: 'ok' } }),
    health: new HealthLog(),
    usage,
    node: () => ({ hostname: 'n1', version: 'test', startedAt: NOW, kmipAddress: '127.0.0.1:5696', adminAddress: '127.0.0.1:9000', storeKind: 'sqlite', wrapKind: 'local', openKmipConnections: 0 }),
    now: () => NOW,
    recentUseMs: 86_400_000,
  };
}

describe('status page key scan cap', () => {
  it('past the cap: partial, and a key not read is "not among the first N keys read", with the warning in the vCenter part', async () => {
    const limits: number[] = [];
    const d = await gatherStatus(sources(storeOf(5, limits), [uid(1), uid(4)]), 3);
    expect(d.keys.ok && d.keys.value).toMatchObject({ scanned: 3, partial: true });
    expect(limits.every((l) => l <= 3)).toBe(true);
    const vcenter = renderUsage(d).markup;
    expect(vcenter).toContain('on this server: tenant prod, Active');
    expect(vcenter).toContain('not among the first 3 keys read');
    expect(vcenter).not.toContain('not a key of this server');
    expect(vcenter).toContain('Only the first 3 keys of this server were read');
    expect(renderKeys(d).markup).toContain('Only the first 3 keys (oldest first) were read');
  });

  it('a store of exactly the cap was read whole: not partial, and an unknown key is "not a key of this server"', async () => {
    const d = await gatherStatus(sources(storeOf(3, []), [uid(1), 'elsewhere']), 3);
    expect(d.keys.ok && d.keys.value).toMatchObject({ scanned: 3, partial: false });
    const vcenter = renderUsage(d).markup;
    expect(vcenter).toContain('on this server: tenant prod, Active');
    expect(vcenter).toContain('not a key of this server');
    expect(vcenter).not.toContain('not among the first');
    expect(vcenter).not.toContain('Only the first');
    expect(renderKeys(d).markup).not.toContain('Only the first');
  });
});
