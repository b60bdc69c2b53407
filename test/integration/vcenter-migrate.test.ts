/**
 * kmipctl vcenter migrate, end to end: the built CLI as a real process against the fake vCenter (both
 * transports), on a seeded mixed inventory of more than 200 objects using the old provider. The fake, not our
 * reading of it, says what was rekeyed: each VM's rekey count, keys, templates and defaults after the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeVcenter } from '../support/fake-vcenter.js';
import { REFUSED, REKEYABLE, seedMigrationInventory, type MigrationInventory, type VmCategory } from '../support/fake-vcenter-migration.js';
import { runKmipctl } from '../support/kmipctl.js';
import { assertBuilt } from '../support/process.js';

const OLD = 'ibm-kmip-for-vmware';
const NEW = 'kmip-prod-us-south';
let dir: string;

function connection(fake: FakeVcenter): string[] {
  const file = join(dir, `password-${new URL(fake.url).port}`);
  writeFileSync(file, `${fake.password}\n`, { mode: 0o600 });
  return ['--vcenter', fake.url, '--vcenter-user', fake.user, '--vcenter-password-file', file, '--vcenter-ca', fake.caFile];
}

const migrate = (fake: FakeVcenter, ...more: string[]) => ['vcenter', 'migrate', ...connection(fake), '--from', OLD, '--to', NEW, ...more];
const idsOf = (inv: MigrationInventory, cats: readonly VmCategory[]) => cats.flatMap((c) => inv.vms[c]);

beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'kmip-migrate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vcenter migrate on a mixed inventory of more than 200 objects (VI/JSON)', () => {
  let fake: FakeVcenter;
  let inv: MigrationInventory;
  const journal = () => join(dir, 'big.journal');

  beforeAll(async () => {
    fake = await FakeVcenter.start({ version: '8.0.2' });
    inv = seedMigrationInventory(fake, { oldProvider: OLD, newProvider: NEW, seed: 7, vsanClusters: 4 });
    fake.inventory.slowTaskPolls = 1;
  });
  afterAll(() => fake?.close());

  it('plans on one screen: what will be rekeyed, what is blocked and why, the restart-risk warning; changes nothing', async () => {
    expect(inv.counts.objects).toBeGreaterThanOrEqual(200);
    const before = fake.mutatingCalls().length;
    const text = await runKmipctl(migrate(fake, '--journal', journal()));
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(45);
    expect(text.stdout).toMatch(/migration plan: ibm-kmip-for-vmware → kmip-prod-us-south/);
    expect(text.stdout).toMatch(/snapshot tree/);
    expect(text.stdout).toMatch(/linked clone/);
    expect(text.stdout).toMatch(/warning: \d+ VM\(s\) run on hosts where IBM documents that a rekey can restart the VM/);
    const json = await runKmipctl(['--json', ...migrate(fake, '--plan', '--journal', journal())]);
    const items = json.json.items as Array<{ id: string; kind: string; blocked?: string }>;
    const blocked = new Set(items.filter((i) => i.blocked).map((i) => i.id.split(':')[1]));
    for (const id of idsOf(inv, REFUSED)) expect(blocked.has(id), id).toBe(true);
    for (const id of idsOf(inv, ['encrypted', 'mixed', 'vtpmOnly', 'snapshotChain'])) expect(blocked.has(id), id).toBe(false);
    expect(items.filter((i) => i.kind === 'template').length).toBe(inv.vms.template.length);
    expect(items.map((i) => i.kind).slice(0, 2)).toEqual(['default', 'entity-default']);
    expect(fake.mutatingCalls().length).toBe(before);
    expect(fake.generatedKeys.length).toBe(0);
  });

  it('applies in the safe order: every rekeyable VM and template exactly once, the rest reported with the reason (exit 4)', async () => {
    const r = await runKmipctl(['--json', ...migrate(fake, '--apply', '--journal', journal(), '--parallel', '8', '--accept-vm-restart-risk')]);
    expect(r.code, r.stderr).toBe(4);
    const report = r.json as { counts: Record<string, number>; results: Array<{ id: string; outcome: string; detail?: string }> };
    for (const id of idsOf(inv, REKEYABLE)) expect({ id, rekeys: fake.rekeys(id) }).toEqual({ id, rekeys: 1 });
    for (const id of idsOf(inv, [...REFUSED, 'unencrypted', 'onNew', 'plainTemplate'])) expect({ id, rekeys: fake.rekeys(id) }).toEqual({ id, rekeys: 0 });
    const byId = new Map(report.results.map((x) => [x.id, x]));
    for (const id of idsOf(inv, REFUSED)) expect((byId.get(`vm:${id}`) ?? byId.get(`template:${id}`))?.outcome, id).toBe('blocked');
    expect(report.counts['failed']).toBe(0);
    // One JSON line per object before the summary.
    expect(r.stdout.trim().split('\n').length).toBe(report.results.length + 1);
    // Templates went back to being templates; the defaults moved; the healthy vSAN cluster switched.
    const providers = fake.crypto.providers;
    expect(providers.get(NEW)!.useAsDefault).toBe(true);
    expect(providers.get(NEW)!.entityDefaults.map((e: { value: string }) => e.value)).toEqual(inv.clusters.entityDefaultOfOld);
    for (const id of inv.vms.template) expect(fake.inventory.vms.find((v) => v.id === id)!.template, id).toBe(true);
    // A vSAN cluster switches only when healthy, not resyncing and with every host connected (a host left out would
    // reboot without the new key); the others stay, reported with the reason.
    const withHostDown = new Set(fake.inventory.hosts.filter((h) => inv.hosts.disconnected.includes(h.id)).map((h) => h.cluster));
    const held = new Set([...inv.clusters.vsanHealthRed, ...inv.clusters.vsanResyncing, ...inv.clusters.vsan.filter((c) => withHostDown.has(c))]);
    const ready = inv.clusters.vsan.filter((c) => !held.has(c));
    expect(ready.length).toBeGreaterThan(0);
    for (const c of ready) expect(fake.inventory.clusters.find((x) => x.id === c)!.vsan?.encryptionProvider, c).toBe(NEW);
    for (const c of held) {
      expect(fake.inventory.clusters.find((x) => x.id === c)!.vsan?.encryptionProvider, c).toBe(OLD);
      expect(byId.get(`vsan-cluster:${c}`)?.detail, c).toMatch(/red|resync|not connected/);
    }
  });

  it('verify lists what still references the old provider (exit 4); retire refuses without a clean verify', async () => {
    const v = await runKmipctl(['--json', ...migrate(fake, '--verify', '--journal', journal())]);
    expect(v.code, v.stderr).toBe(4);
    const remaining = new Set((v.json.remaining as Array<{ id: string }>).map((x) => x.id.split(':')[1]));
    for (const id of idsOf(inv, REFUSED)) expect(remaining.has(id), id).toBe(true);
    for (const id of idsOf(inv, REKEYABLE)) expect(remaining.has(id), id).toBe(false);
    expect(v.json.unavailableKeys).toEqual([]);
    const calls = fake.mutatingCalls().length;
    const retire = await runKmipctl(migrate(fake, '--retire-old', '--journal', journal()));
    expect(retire.code).toBe(3);
    expect(retire.stderr).toMatch(/not retiring ibm-kmip-for-vmware: the verify is not clean/);
    expect(fake.mutatingCalls().length).toBe(calls);
    expect(fake.crypto.providers.has(OLD)).toBe(true);
  });
});

describe('vcenter migrate to the end over SOAP (vCenter 7.0.3): apply, verify clean, retire', () => {
  let fake: FakeVcenter;
  let inv: MigrationInventory;
  const journal = () => join(dir, 'soap.journal');

  beforeAll(async () => {
    fake = await FakeVcenter.start({ version: '7.0.3' });
    inv = seedMigrationInventory(fake, { oldProvider: OLD, newProvider: NEW, seed: 3, vms: { encrypted: 12, mixed: 2, unencrypted: 3, snapshotChain: 1, snapshotTree: 0, linkedClone: 0, ideOn: 0, ideOff: 1, locked: 0, vtpmOnly: 2, onNew: 1, onDisconnectedHost: 0, template: 2, plainTemplate: 0 }, vsanClusters: 1 });
    // What the plan would block at host level, fixed by the operator: every host connected and safe.
    for (const h of fake.inventory.hosts) {
      h.connectionState = 'connected';
      if (h.key?.providerId === OLD) h.cryptoState = 'safe';
    }
  });
  afterAll(() => fake?.close());

  it('rekeys everything, verifies clean (exit 0), retires the old provider, and says so once', async () => {
    const apply = await runKmipctl(migrate(fake, '--apply', '--journal', journal()));
    expect(apply.code, `${apply.stdout}\n${apply.stderr}`).toBe(0);
    expect(apply.stdout).toMatch(/nothing left on ibm-kmip-for-vmware: next, --verify/);
    expect(apply.stderr).toMatch(/\[\d+\/\d+\] migrated vm /);
    for (const id of idsOf(inv, REKEYABLE)) expect({ id, rekeys: fake.rekeys(id) }).toEqual({ id, rekeys: 1 });
    const verify = await runKmipctl(migrate(fake, '--verify', '--journal', journal()));
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(/^clean: no VM, template, host, cluster, vSAN cluster or default on .* references ibm-kmip-for-vmware/);
    // vcenter usage agrees: nothing on the old provider, the migrated VMs and templates on ours.
    const usageOf = (provider: string) => runKmipctl(['--json', 'vcenter', 'usage', ...connection(fake), '--provider', provider]);
    const oldUsage = await usageOf(OLD);
    expect(oldUsage.json).toMatchObject({ registered: true, isDefault: false, inUse: false, users: [] });
    const newUsage = await usageOf(NEW);
    expect(newUsage.json.isDefault).toBe(true);
    const usedBy = new Set((newUsage.json.users as Array<{ id: string }>).map((u) => u.id));
    for (const id of idsOf(inv, REKEYABLE)) expect(usedBy.has(id), id).toBe(true);
    const again = await runKmipctl(migrate(fake, '--apply', '--journal', journal()));
    expect(again.code).toBe(0);
    expect(idsOf(inv, REKEYABLE).every((id) => fake.rekeys(id) === 1)).toBe(true);
    const retire = await runKmipctl(migrate(fake, '--retire-old', '--journal', journal()));
    expect(retire.code, retire.stderr).toBe(0);
    expect(retire.stdout).toMatch(/removed key provider ibm-kmip-for-vmware from vCenter/);
    expect(retire.stdout).toMatch(/Reboot the hosts one at a time/);
    expect(retire.stdout).toMatch(/First-class disks/);
    expect(fake.crypto.providers.has(OLD)).toBe(false);
    const twice = await runKmipctl(migrate(fake, '--retire-old', '--journal', journal()));
    expect(twice.code).toBe(0);
    expect(twice.stdout).toMatch(/was already removed/);
  });
});

describe('vcenter migrate refuses before any change', () => {
  let fake: FakeVcenter;
  beforeAll(async () => {
    fake = await FakeVcenter.start({ version: '8.0.2' });
    seedMigrationInventory(fake, { oldProvider: OLD, newProvider: NEW, seed: 5, vms: { encrypted: 3, unencrypted: 0, mixed: 0, snapshotChain: 0, snapshotTree: 0, linkedClone: 0, ideOn: 0, ideOff: 0, locked: 0, vtpmOnly: 0, onNew: 0, onDisconnectedHost: 0, template: 1, plainTemplate: 0 } });
  });
  afterAll(() => fake?.close());

  it('a target vCenter cannot reach, a Native or Trusted provider, the same name twice (exit 3, nothing sent)', async () => {
    const calls = fake.mutatingCalls().length;
    fake.crypto.providers.get(NEW)!.reachable = false;
    const unreachable = await runKmipctl(migrate(fake, '--apply', '--journal', join(dir, 'refused.journal')));
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/kmip-prod-us-south is not usable from vCenter: .*red/);
    fake.crypto.providers.get(NEW)!.reachable = true;
    fake.crypto.providers.get(OLD)!.managementType = 'nativeProvider';
    const nkp = await runKmipctl(migrate(fake, '--plan'));
    expect(nkp.code).toBe(3);
    expect(nkp.stdout).toMatch(/REFUSED: ibm-kmip-for-vmware is a nativeProvider key provider/);
    fake.crypto.providers.get(OLD)!.managementType = 'vCenter';
    fake.crypto.providers.get(NEW)!.managementType = 'trustAuthority';
    expect((await runKmipctl(migrate(fake, '--plan'))).code).toBe(3);
    fake.crypto.providers.get(NEW)!.managementType = 'vCenter';
    const same = await runKmipctl(['vcenter', 'migrate', ...connection(fake), '--from', OLD, '--to', OLD, '--plan']);
    expect(same.code).toBe(3);
    // Usage errors are ours (exit 2), said before vCenter is asked anything.
    for (const [more, message] of [
      [['--apply', '--verify'], /give one of --plan, --apply, --verify, --retire-old/],
      [['--parallel', '0'], /--parallel must be a whole number from 1 to 32/],
      [['--parallel', '4x'], /--parallel must be a whole number/],
    ] as const) {
      const r = await runKmipctl(migrate(fake, ...more));
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
    }
    // A target vCenter trusts but cannot get a key from: refused before the defaults move.
    fake.failNext('GenerateKey', 'RuntimeFault', 'the KMS refused the key request');
    const noKey = await runKmipctl(migrate(fake, '--apply', '--journal', join(dir, 'nokey.journal')));
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toMatch(/could not get a key from kmip-prod-us-south .*nothing was changed/);
    // The refused GenerateKey is the only call that could have changed anything.
    expect(fake.mutatingCalls().slice(calls)).toEqual(['GenerateKey']);
    expect(fake.crypto.providers.get(OLD)!.useAsDefault).toBe(true);
    const noFrom = await runKmipctl(['vcenter', 'migrate', ...connection(fake), '--to', NEW]);
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toMatch(/give --from NAME/);
    expect(fake.mutatingCalls().slice(calls)).toEqual(['GenerateKey']);
  });

  it('a template whose rekey fails goes back to being a template, reported failed with vCenter\'s fault', async () => {
    const tpl = fake.inventory.vms.find((v) => v.template && v.key?.providerId === OLD);
    expect(tpl).toBeDefined();
    fake.failNextReconfig(tpl!.id, 'SystemError', { message: 'the host lost its datastore' });
    const r = await runKmipctl(['--json', ...migrate(fake, '--apply', '--journal', join(dir, 'tpl.journal'))]);
    const mine = (r.json.results as Array<{ id: string; outcome: string; fault?: string }>).find((x) => x.id === `template:${tpl!.id}`);
    expect(mine).toMatchObject({ outcome: 'failed', fault: 'SystemError' });
    expect(fake.inventory.vms.find((v) => v.id === tpl!.id)!.template).toBe(true);
    expect(fake.rekeys(tpl!.id)).toBe(0);
    // The next run finishes it.
    const again = await runKmipctl(['--json', ...migrate(fake, '--apply', '--journal', join(dir, 'tpl.journal'))]);
    expect((again.json.results as Array<{ id: string; outcome: string }>).find((x) => x.id === `template:${tpl!.id}`)?.outcome).toBe('migrated');
    expect(fake.rekeys(tpl!.id)).toBe(1);
    expect(fake.inventory.vms.find((v) => v.id === tpl!.id)!.template).toBe(true);
  });
});

describe('a vCenter without ListKmsClusters (before 7.0)', () => {
  let fake: FakeVcenter;
  beforeAll(async () => {
    fake = await FakeVcenter.start({ version: '7.0.3', hooks: { noListKmsClusters: true } });
    seedMigrationInventory(fake, { oldProvider: OLD, newProvider: NEW, seed: 9, vms: { encrypted: 2, unencrypted: 0, mixed: 0, snapshotChain: 0, snapshotTree: 0, linkedClone: 0, ideOn: 0, ideOff: 0, locked: 0, vtpmOnly: 0, onNew: 0, onDisconnectedHost: 0, template: 0, plainTemplate: 0 } });
  });
  afterAll(() => fake?.close());

  it('plans and reports usage through ListKmipServers instead', async () => {
    const plan = await runKmipctl(['--json', ...migrate(fake, '--plan')]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.refusals).toEqual([]);
    expect((plan.json.items as Array<{ kind: string }>).some((i) => i.kind === 'vm')).toBe(true);
    const usage = await runKmipctl(['--json', 'vcenter', 'usage', ...connection(fake), '--provider', OLD]);
    expect(usage.json).toMatchObject({ registered: true, isDefault: true, inUse: true });
    expect(fake.calls.filter((c) => c.method.endsWith('ListKmipServers')).length).toBeGreaterThanOrEqual(2);
  });
});
