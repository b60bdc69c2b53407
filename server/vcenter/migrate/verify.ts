/**
 * Verify and retire. Verify proves, from a fresh inventory pass, that nothing references the old provider
 * (VM homes and disks, templates, hosts, cluster host-key policies, vSAN, defaults), and asks vCenter itself
 * (QueryCryptoKeyStatus) that every key of the new provider in use is available and that no VM or host still
 * uses an old key a change replaced. Retire removes the old provider from vCenter only after a clean verify in
 * the same run, and never touches any KMS: keys stay where they are for backups and for hosts not yet rebooted.
 */
import { CryptoManagerKmip } from '../crypto-manager.js';
import { VcenterError } from '../errors.js';
import type { VcenterSession } from '../session.js';
import { readMigrationInventory, type MigrationInventory } from './inventory.js';
import type { Journal } from './journal.js';
import { planMigration, type PlanItem } from './plan.js';

export interface VerifyReport {
  readonly from: string;
  readonly to: string;
  readonly vcenter: string;
  /** Everything that still references the old provider, with why (blocked reason, or not migrated yet). */
  readonly remaining: ReadonlyArray<Pick<PlanItem, 'id' | 'kind' | 'name'> & { readonly why: string }>;
  /** Keys of the new provider in use that vCenter does not report available. */
  readonly unavailableKeys: ReadonlyArray<{ readonly keyId: string; readonly reason: string }>;
  /** Old keys a change replaced that vCenter still sees in use. */
  readonly oldKeysInUse: ReadonlyArray<{ readonly keyId: string; readonly vms: number; readonly hosts: number }>;
  readonly checkedKeys: number;
  readonly scanned: number;
  readonly clean: boolean;
}

/** A key freshly generated shows KeyStateNotActiveOrEnabled until first use (govmomi treats it as valid). */
const FINE = new Set(['KeyStateNotActiveOrEnabled']);

function newKeysInUse(inv: MigrationInventory, to: string, journal?: Journal): string[] {
  const keys = new Set(journal?.newKeys() ?? []);
  for (const vm of inv.vms) {
    if (vm.key?.providerId === to) keys.add(vm.key.keyId);
    for (const d of vm.disks) if (d.key?.providerId === to) keys.add(d.key.keyId);
  }
  for (const h of inv.hosts) if (h.key?.providerId === to) keys.add(h.key.keyId);
  return [...keys];
}

export async function verifyMigration(session: VcenterSession, from: string, to: string, journal?: Journal): Promise<VerifyReport> {
  const inv = await readMigrationInventory(session);
  const plan = planMigration(inv, from, to);
  // An old provider already removed (after a retire) is fine to verify against; anything else is not.
  const problems = plan.refusals.filter((r) => !r.startsWith(`vCenter has no key provider named ${from} `));
  if (problems.length > 0) throw new VcenterError('VC_ERR_REFUSED', `cannot verify: ${problems.join('; ')}`);
  const remaining = plan.items.map((i) => ({ id: i.id, kind: i.kind, name: i.name, why: i.blocked ?? `not migrated yet: ${i.action}` }));
  // A template an interrupted run turned into a VM is not finished, whatever keys it holds now.
  for (const id of journal?.convertedTemplates() ?? []) {
    const value = id.slice('template:'.length);
    const vm = inv.vms.find((v) => v.ref.value === value);
    if (!vm || vm.template) continue;
    // One row per object: it replaces the VM row the plan gave it while it still has old keys.
    const asVm = remaining.findIndex((r) => r.id === `vm:${value}`);
    if (asVm >= 0) remaining.splice(asVm, 1);
    remaining.push({ id, kind: 'template', name: vm.name, why: 'a template an interrupted run left as a VM: run --apply again to turn it back' });
  }
  const crypto = new CryptoManagerKmip(session);
  const fresh = newKeysInUse(inv, to, journal);
  const unavailableKeys: Array<{ keyId: string; reason: string }> = [];
  for (const s of await crypto.keyStatus(fresh.map((keyId) => ({ keyId, providerId: to })), 0x01)) {
    if (s.keyAvailable === false && !FINE.has(s.reason ?? '')) unavailableKeys.push({ keyId: s.keyId.keyId, reason: s.reason ?? 'not available' });
  }
  const old = [...new Set([...(journal?.oldKeys() ?? []), ...plan.items.flatMap((i) => i.oldKeys)])];
  const oldKeysInUse: Array<{ keyId: string; vms: number; hosts: number }> = [];
  for (const s of await crypto.keyStatus(old.map((keyId) => ({ keyId, providerId: from })), 0x02 | 0x04)) {
    if (s.encryptedVMs.length > 0 || s.affectedHosts.length > 0) oldKeysInUse.push({ keyId: s.keyId.keyId, vms: s.encryptedVMs.length, hosts: s.affectedHosts.length });
  }
  return {
    from,
    to,
    vcenter: inv.vcenter,
    remaining,
    unavailableKeys,
    oldKeysInUse,
    checkedKeys: fresh.length + old.length,
    scanned: inv.vms.length + inv.hosts.length + inv.clusters.length,
    clean: remaining.length === 0 && unavailableKeys.length === 0 && oldKeysInUse.length === 0,
  };
}

export const RETIRE_FOLLOW_UPS = [
  'First-class disks (FCDs, Get-VDisk) are not inventoried by this tool: check that none is encrypted under the old provider, and rekey any that is through its storage policy, before the old provider is gone.',
  'Reboot the hosts one at a time (maintenance mode first): each must come back with its vSAN disk groups mounted and its encrypted VMs running on keys of the new provider.',
  'Keep the old provider restorable (its KMS and keys) until every host has rebooted and every backup, array snapshot or replica taken under its keys has expired; if something turns out to need it, add it back under exactly the same name. IBM KMIP for VMware stops on 2026-12-31: after that its keys cannot be had, so restore-test anything still encrypted under them before then.',
  'Only then delete the old KMIP for VMware instance (and its keys in Key Protect, named vmware_kmip…).',
];

export interface RetireReport {
  readonly verify: VerifyReport;
  readonly removed: string;
  /** vCenter had no such provider any more (an earlier retire): nothing was changed. */
  readonly alreadyRemoved: boolean;
  readonly followUps: readonly string[];
}

/** Removes the old provider from vCenter after a clean verify (run here, now); refuses otherwise. */
export async function retireOldProvider(session: VcenterSession, from: string, to: string, journal?: Journal): Promise<RetireReport> {
  const verify = await verifyMigration(session, from, to, journal);
  if (!verify.clean) {
    throw new VcenterError('VC_ERR_REFUSED', `not retiring ${from}: the verify is not clean (${verify.remaining.length} object(s) still reference it, ${verify.unavailableKeys.length} new key(s) unavailable, ${verify.oldKeysInUse.length} old key(s) in use); nothing was changed`);
  }
  const crypto = new CryptoManagerKmip(session);
  const present = (await crypto.listKmsClusters()).some((c) => c.clusterId.id === from);
  if (present) await crypto.unregister(from);
  if ((await crypto.listKmsClusters()).some((c) => c.clusterId.id === from)) throw new VcenterError('VC_ERR_VERIFY', `vCenter still lists ${from} after UnregisterKmsCluster`);
  return { verify, removed: from, alreadyRemoved: !present, followUps: RETIRE_FOLLOW_UPS };
}
