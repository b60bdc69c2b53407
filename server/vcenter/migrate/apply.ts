/**
 * The apply: the plan's objects in VMware's safe order, one kind after the other, VMs and templates a few at a
 * time (`parallel`), everything else one by one. An object that fails is reported with vCenter's fault and the
 * run goes on; blocked objects are reported with their reason. A killed run started again continues: the
 * journal brings back templates it had turned into VMs, and each step acts on vCenter's state as it is now.
 */
import { VcenterError } from '../errors.js';
import type { VcenterSession } from '../session.js';
import type { MoRef } from '../transport.js';
import { newContext, result, type ItemResult, type Outcome, type StepContext } from './context.js';
import type { MigrationInventory } from './inventory.js';
import type { Journal } from './journal.js';
import { PHASES, type MigrationPlan, type PlanItem } from './plan.js';
import { migrateVm } from './rekey-vm.js';
import { runStep } from './steps.js';

export interface ApplyOptions {
  /** VMs and templates rekeyed at once (1–32). */
  readonly parallel: number;
  readonly acceptRestartRisk: boolean;
  readonly onResult?: (r: ItemResult, done: number, total: number) => void;
  readonly taskTimeoutMs?: number;
}

export interface ApplyReport {
  readonly from: string;
  readonly to: string;
  readonly journal: string;
  readonly results: readonly ItemResult[];
  readonly counts: Readonly<Record<Outcome, number>>;
  /** Objects that still reference the old provider (blocked or failed). */
  readonly left: number;
}

/** The plan's items, plus templates a killed run had turned into VMs and not yet back (whatever they hold now). */
function withResumedTemplates(plan: MigrationPlan, journal: Journal): PlanItem[] {
  const items = plan.items.map((i) => {
    if (i.kind !== 'vm' || !i.ref) return i;
    const asTemplate = `template:${i.ref.value}`;
    const h = journal.of(asTemplate);
    if (!h.converted) return i;
    // It must go back to being a template whatever blocks its rekey (a template is never left a VM); the rekey
    // itself re-checks the preconditions on fresh state. Templates are off: no restart risk.
    const { blocked: _blocked, restartRisk: _risk, ...rest } = i;
    return { ...rest, id: asTemplate, kind: 'template' as const, action: `${i.action}, back to template` };
  });
  const present = new Set(items.map((i) => i.id));
  for (const id of journal.convertedTemplates()) {
    if (present.has(id)) continue;
    const value = id.slice('template:'.length);
    items.push({ id, kind: 'template', ref: { type: 'VirtualMachine', value }, name: value, action: 'finish the interrupted template round trip', checks: [], oldKeys: [] });
  }
  return items.sort((a, b) => PHASES.indexOf(a.kind) - PHASES.indexOf(b.kind));
}

async function runItem(ctx: StepContext, item: PlanItem, acceptRisk: boolean): Promise<ItemResult> {
  if (item.blocked) return result(item, 'blocked', { detail: item.blocked });
  if (item.restartRisk && !acceptRisk) return result(item, 'blocked', { detail: `restart risk (${item.restartRisk}): give --accept-vm-restart-risk, or upgrade the host first` });
  return item.kind === 'vm' || item.kind === 'template' ? migrateVm(ctx, item) : runStep(ctx, item);
}

export async function applyPlan(session: VcenterSession, plan: MigrationPlan, inventory: MigrationInventory, journal: Journal, options: ApplyOptions): Promise<ApplyReport> {
  if (plan.refusals.length > 0) throw new VcenterError('VC_ERR_REFUSED', `migration refused: ${plan.refusals.join('; ')}`);
  const hosts = new Map(inventory.hosts.map((h) => [h.ref.value, h]));
  const pools = new Map(inventory.clusters.map((c) => [c.ref.value, c.resourcePool]));
  const poolOf = (host: MoRef) => {
    const parent = hosts.get(host.value)?.parent;
    return parent ? pools.get(parent.value) : undefined;
  };
  const ctx = newContext(session, journal, plan.from, plan.to, poolOf, options.taskTimeoutMs !== undefined ? { taskTimeoutMs: options.taskTimeoutMs } : {});
  const items = withResumedTemplates(plan, journal);
  // Before the first change (the defaults move first), prove vCenter can get a key from the new provider: trust and
  // reachability say little about whether our KMS accepts vCenter's Create. Once one key exists, that is proven.
  if (journal.newKeys().length === 0 && items.some((i) => !i.blocked)) {
    let keyId: string;
    try {
      keyId = await ctx.crypto.generateKey(plan.to);
    } catch (err) {
      if (!(err instanceof VcenterError)) throw err;
      throw new VcenterError('VC_ERR_REFUSED', `vCenter could not get a key from ${plan.to} (${err.message}); nothing was changed: check the provider's status and the KMIP server's log`);
    }
    journal.record('probe:target', { event: 'key', keyId });
  }
  const results: ItemResult[] = [];
  const report = (r: ItemResult) => {
    results.push(r);
    options.onResult?.(r, results.length, items.length);
  };
  const parallel = Math.min(32, Math.max(1, Math.floor(options.parallel)));
  // Hosts of a vSAN cluster whose switch did not happen keep their key: vSAN gives them new ones when it switches.
  const vsanNotSwitched = new Set<string>();
  for (const phase of PHASES) {
    const queue = items
      .filter((i) => i.kind === phase)
      .map((i) => {
        const cluster = i.kind === 'host' && i.ref ? hosts.get(i.ref.value)?.parent?.value : undefined;
        return cluster && vsanNotSwitched.has(cluster) && !i.blocked ? { ...i, blocked: "its vSAN cluster's encryption switch did not happen in this run; it is rekeyed with it" } : i;
      });
    const workers = phase === 'vm' || phase === 'template' ? parallel : 1;
    await Promise.all(
      Array.from({ length: Math.min(workers, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const r = await runItem(ctx, next, options.acceptRestartRisk);
          if (r.kind === 'vsan-cluster' && (r.outcome === 'blocked' || r.outcome === 'failed') && next.ref) vsanNotSwitched.add(next.ref.value);
          report(r);
        }
      }),
    );
  }
  const counts: Record<Outcome, number> = { migrated: 0, already: 0, blocked: 0, failed: 0 };
  for (const r of results) counts[r.outcome]++;
  return { from: plan.from, to: plan.to, journal: journal.path, results, counts, left: counts.blocked + counts.failed };
}
