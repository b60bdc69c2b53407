import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advanceZone, pruneStore, readReleases, releaseId, releasePaths, resolveReleases, storeAssets, type NodeRelease } from '../../stacks/releases.js';
import { checkRollPlan } from '../../scripts/roll/plan-check.js';

const settings = { profile: 'bx2-2x8', bootVolumeGb: 100, logLevel: 'info', keyProtectCacheSeconds: 60, identityCacheSeconds: 2, databasePoolSize: 10, maxConnections: 2048 } as const;

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-releases-'));
  const bundle = join(dir, 'kmip-server.mjs');
  writeFileSync(bundle, 'v1');
  const release = (): NodeRelease => ({ assets: storeAssets(dir, { 'server-bundle': bundle }), settings });
  return { dir, bundle, release };
}

describe('node releases (what each zone runs)', () => {
  it('records every zone at the current release the first time, then keeps it when the files change', () => {
    const f = fixture();
    const first = resolveReleases(f.dir, ['us-south-1', 'us-south-2'], f.release);
    expect(first.every((z) => z.upToDate)).toBe(true);
    const v1 = first[0]!.runningId;
    writeFileSync(f.bundle, 'v2');
    const second = resolveReleases(f.dir, ['us-south-1', 'us-south-2'], f.release);
    expect(second.map((z) => [z.runningId, z.upToDate])).toEqual([
      [v1, false],
      [v1, false],
    ]);
    // the v1 bundle is still there to rebuild a node from, content-addressed
    expect(readFileSync(second[0]!.assetFiles['server-bundle']!, 'utf8')).toBe('v1');
    expect(second[0]!.currentId).not.toBe(v1);
    rmSync(f.dir, { recursive: true });
  });

  it('advances one zone; a new zone starts at the current release; a removed zone is forgotten', () => {
    const f = fixture();
    resolveReleases(f.dir, ['us-south-1', 'us-south-2'], f.release);
    writeFileSync(f.bundle, 'v2');
    const id = advanceZone(f.dir, 'us-south-1', f.release());
    const now = resolveReleases(f.dir, ['us-south-1', 'us-south-2', 'us-south-3'], f.release);
    expect(now.map((z) => [z.zone, z.runningId === id])).toEqual([
      ['us-south-1', true],
      ['us-south-2', false],
      ['us-south-3', true],
    ]);
    resolveReleases(f.dir, ['us-south-1', 'us-south-3'], f.release);
    expect(Object.keys(readReleases(f.dir)).sort()).toEqual(['us-south-1', 'us-south-3']);
    rmSync(f.dir, { recursive: true });
  });

  it('keeps the files of every recorded release and the current one, and removes the rest (superseded node keys)', () => {
    const f = fixture();
    resolveReleases(f.dir, ['us-south-1', 'us-south-2'], f.release);
    writeFileSync(f.bundle, 'v2');
    advanceZone(f.dir, 'us-south-1', f.release());
    writeFileSync(f.bundle, 'v3');
    const v3 = f.release();
    // v1 (us-south-2 runs it), v2 (us-south-1) and v3 (current) are all needed
    expect(pruneStore(f.dir, [v3])).toEqual([]);
    advanceZone(f.dir, 'us-south-1', v3);
    advanceZone(f.dir, 'us-south-2', v3);
    const removed = pruneStore(f.dir, [v3]);
    expect(removed).toHaveLength(2);
    expect(readdirSync(releasePaths(f.dir).store)).toEqual([`${v3.assets['server-bundle']!.sha256}-kmip-server.mjs`]);
    rmSync(f.dir, { recursive: true });
  });

  it('release ids do not depend on key order; a damaged record or a lost asset file is refused with what to do', () => {
    expect(releaseId({ assets: { a: { sha256: 'x', name: 'n' } }, settings })).toBe(releaseId({ settings: { ...settings }, assets: { a: { name: 'n', sha256: 'x' } } } as NodeRelease));
    const f = fixture();
    resolveReleases(f.dir, ['us-south-1'], f.release);
    const file = releasePaths(f.dir).file;
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.zones['us-south-1'].release.settings.profile = 'cx2-2x4';
    writeFileSync(file, JSON.stringify(doc));
    expect(() => readReleases(f.dir)).toThrow(/us-south-1 is damaged/);
    doc.zones['us-south-1'].release.settings.profile = 'bx2-2x8';
    writeFileSync(file, JSON.stringify(doc));
    rmSync(releasePaths(f.dir).store, { recursive: true });
    writeFileSync(f.bundle, 'v3');
    expect(() => resolveReleases(f.dir, ['us-south-1'], () => ({ assets: {}, settings }))).toThrow(/is gone: restore it/);
    rmSync(f.dir, { recursive: true });
  });
});

describe('the roll refuses a plan that touches more than the zone it moves', () => {
  const change = (address: string, type: string, ...actions: string[]) => ({ address, type, change: { actions } });
  it('accepts the zone node replaced and new objects; refuses another node, a key or a database change', () => {
    const ok = checkRollPlan({ resource_changes: [change('ibm_is_instance.n1', 'ibm_is_instance', 'delete', 'create'), change('ibm_cos_bucket_object.o', 'ibm_cos_bucket_object', 'create'), change('ibm_is_instance.n2', 'ibm_is_instance', 'no-op')] }, 'ibm_is_instance.n1');
    expect(ok.ok).toBe(true);
    expect(ok.changed).toEqual(['ibm_is_instance.n1 (delete+create)', 'ibm_cos_bucket_object.o (create)']);
    const bad = checkRollPlan({ resource_changes: [change('ibm_is_instance.n1', 'ibm_is_instance', 'delete', 'create'), change('ibm_is_instance.n2', 'ibm_is_instance', 'update'), change('ibm_kms_key.k', 'ibm_kms_key', 'delete', 'create'), change('ibm_is_subnet.s', 'ibm_is_subnet', 'delete')] }, 'ibm_is_instance.n1');
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual(['ibm_is_instance.n2 would be update', 'ibm_kms_key.k would be delete+create', 'ibm_is_subnet.s would be delete']);
  });
});
