/**
 * vcenter migrate: off another Standard Key Provider (IBM's KMIP for VMware) onto ours. --plan (the default)
 * reads only; --apply rekeys with a journal and can be run again after any interruption; --verify proves
 * nothing references the old provider; --retire-old removes it from vCenter after a clean verify.
 * Exit codes: 0 done/clean, 2 usage, 3 refused, 4 objects still reference the old provider, 1 vCenter failed.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { CliError } from '../errors.js';
import type { CliOptions } from '../options.js';
import { table } from '../output.js';
import { CryptoManagerKmip } from '../../vcenter/crypto-manager.js';
import { serverHealthy } from '../../vcenter/register.js';
import type { VcenterSession } from '../../vcenter/session.js';
import { applyPlan, type ApplyReport } from '../../vcenter/migrate/apply.js';
import type { ItemResult } from '../../vcenter/migrate/context.js';
import { readMigrationInventory } from '../../vcenter/migrate/inventory.js';
import { Journal } from '../../vcenter/migrate/journal.js';
import { planCounts, planMigration, PHASES, type MigrationPlan, type TargetStatus } from '../../vcenter/migrate/plan.js';
import { retireOldProvider, verifyMigration, type RetireReport, type VerifyReport } from '../../vcenter/migrate/verify.js';
import { asCliError, withSession } from './vcenter.js';

export const EXIT_LEFT = 4;
const SHOWN = 20;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/;

function providerName(value: string | undefined, flag: string): string {
  if (!value) throw new CliError(`give ${flag} NAME`, 2);
  if (!NAME.test(value)) throw new CliError(`${flag} must be a key provider name (letters, digits, space . _ -; at most 128), got ${JSON.stringify(value)}`, 2);
  return value;
}

function mode(o: CliOptions): 'plan' | 'apply' | 'verify' | 'retire' {
  const chosen = (['plan', 'apply', 'verify', 'retire-old'] as const).filter((m) => o[m] === true);
  if (chosen.length > 1) throw new CliError(`give one of --plan, --apply, --verify, --retire-old (got ${chosen.map((c) => `--${c}`).join(' ')})`, 2);
  return chosen[0] === 'retire-old' ? 'retire' : (chosen[0] ?? 'plan');
}

function parallelOf(o: CliOptions): number {
  const n = Number(o.parallel);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new CliError(`--parallel must be a whole number from 1 to 32, got ${o.parallel}`, 2);
  return n;
}

/** vCenter's view of the target: registered servers, reachable, trusted both ways. */
async function targetStatus(session: VcenterSession, to: string): Promise<TargetStatus> {
  const status = await new CryptoManagerKmip(session).status(to);
  const servers = status?.servers ?? [];
  if (servers.length === 0) return { ok: false, detail: 'vCenter reports no servers for it' };
  const bad = servers.filter((s) => !serverHealthy(s));
  if (bad.length === 0) return { ok: true, detail: `${servers.length} server(s) reachable and trusted both ways` };
  return { ok: false, detail: bad.map((s) => `${s.name}: ${s.status}${s.clientTrustServer ? '' : ', vCenter does not trust it'}${s.serverTrustClient ? '' : ', it does not trust vCenter'}`).join('; ') };
}

async function makePlan(session: VcenterSession, from: string, to: string) {
  const inventory = await readMigrationInventory(session);
  const target = inventory.providers.some((p) => p.id === to) ? await targetStatus(session, to) : undefined;
  return { inventory, plan: planMigration(inventory, from, to, target) };
}

/** `journalGiven`: the operator chose the journal with --journal, so the next command must name it too. */
export function planText(plan: MigrationPlan, journal: string, journalGiven = false): string {
  const counts = planCounts(plan);
  const blocked = plan.items.filter((i) => i.blocked);
  const lines = [
    `migration plan: ${plan.from} → ${plan.to} on ${plan.vcenter}`,
    ...plan.refusals.map((r) => `REFUSED: ${r}`),
    table(['STEP', 'KIND', 'READY', 'BLOCKED'], PHASES.map((k, i) => [String(i + 1), k, counts[k].ready, counts[k].blocked])),
    `${plan.items.length - blocked.length} object(s) ready, ${blocked.length} blocked`,
  ];
  if (blocked.length > 0) {
    // Grouped by reason, so a large inventory still fits one screen; --json has every object.
    const groups = new Map<string, { kind: string; why: string; names: string[] }>();
    for (const i of blocked) {
      const g = groups.get(`${i.kind}\0${i.blocked}`) ?? { kind: i.kind, why: i.blocked!, names: [] };
      g.names.push(i.name);
      groups.set(`${i.kind}\0${i.blocked}`, g);
    }
    const rows = [...groups.values()].sort((a, b) => b.names.length - a.names.length);
    const examples = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? `, +${names.length - 3}` : ''}`;
    lines.push('blocked, by reason (fix these, then plan again; --json lists every object):', table(['COUNT', 'KIND', 'WHY', 'WHICH'], rows.slice(0, SHOWN).map((g) => [g.names.length, g.kind, g.why, examples(g.names)])));
    if (rows.length > SHOWN) lines.push(`  … and ${rows.length - SHOWN} more reasons`);
  }
  lines.push(...plan.warnings.map((w) => `warning: ${w}`));
  if (plan.refusals.length === 0) {
    const journalFlag = journalGiven ? ` --journal ${journal}` : '';
    lines.push(`next: kmipctl vcenter migrate <vCenter flags> --from ${plan.from} --to ${plan.to} --apply${journalFlag}${plan.warnings.length ? ' [--accept-vm-restart-risk]' : ''}  (journal: ${journal})`);
  }
  return lines.join('\n');
}

function applyText(r: ApplyReport): string {
  const left = r.results.filter((x) => x.outcome === 'blocked' || x.outcome === 'failed');
  return [
    `migrated ${r.counts.migrated}, already on ${r.to} ${r.counts.already}, blocked ${r.counts.blocked}, failed ${r.counts.failed} (journal: ${r.journal})`,
    ...(left.length ? [table(['OUTCOME', 'KIND', 'NAME', 'WHY'], left.map((x) => [x.outcome, x.kind, x.name, x.fault ? `${x.fault}: ${x.detail ?? ''}` : x.detail]))] : []),
    left.length ? `${left.length} object(s) still reference ${r.from}: fix them and run --apply again (it continues where it stopped)` : `nothing left on ${r.from}: next, --verify`,
  ].join('\n');
}

function verifyText(v: VerifyReport): string {
  return [
    v.clean
      ? `clean: no VM, template, host, cluster, vSAN cluster or default on ${v.vcenter} references ${v.from} (${v.scanned} object(s), ${v.checkedKeys} key(s) checked; first-class disks are not checked)`
      : `NOT clean: ${v.from} is still referenced on ${v.vcenter}`,
    ...(v.remaining.length ? [table(['KIND', 'NAME', 'WHY'], v.remaining.map((x) => [x.kind, x.name, x.why]))] : []),
    ...v.unavailableKeys.map((k) => `key ${k.keyId} of ${v.to} is not available to vCenter: ${k.reason}`),
    ...v.oldKeysInUse.map((k) => `old key ${k.keyId} is still used by ${k.vms} VM(s) and ${k.hosts} host(s)`),
  ].join('\n');
}

function retireText(r: RetireReport): string {
  return [r.alreadyRemoved ? `key provider ${r.removed} was already removed from vCenter; nothing changed` : `removed key provider ${r.removed} from vCenter (its KMS and keys are untouched)`, 'still to do, which vCenter cannot check:', ...r.followUps.map((f) => `  - ${f}`)].join('\n');
}

function progress(json: boolean) {
  const started = Date.now();
  return (r: ItemResult, done: number, total: number) => {
    if (json) {
      process.stdout.write(`${JSON.stringify({ ...r, done, total })}\n`);
      return;
    }
    const rate = done / Math.max(1, Date.now() - started);
    const eta = Math.round((total - done) / Math.max(rate, 1e-9) / 1000);
    const line = `[${done}/${total}] ${r.outcome} ${r.kind} ${r.name}${r.outcome === 'failed' || r.outcome === 'blocked' ? `: ${r.detail ?? ''}` : ''}${done < total && eta > 0 ? ` (about ${eta} s left)` : ''}`;
    process.stderr.write(`${line}\n`);
  };
}

const migrate: Command = async ({ out, options: o }) => {
  const from = providerName(o.from, '--from');
  const to = providerName(o.to, '--to');
  const m = mode(o);
  const parallel = parallelOf(o);
  let vcenterHost: string;
  try {
    vcenterHost = new URL(o.vcenter ?? '').host;
  } catch {
    throw new CliError('give --vcenter https://HOST', 2);
  }
  // One journal per vCenter and provider pair: linked vCenters with the same provider names each get their own.
  const journalPath = resolve(o.journal ?? `kmip-migrate-${vcenterHost}-${from}-to-${to}.journal`.replace(/[^A-Za-z0-9._-]/g, '_'));
  await withSession(o, async (session) => {
    if (m === 'plan') {
      const { plan } = await makePlan(session, from, to);
      out.result({ ...plan, journal: journalPath }, () => planText(plan, journalPath, o.journal !== undefined));
      if (plan.refusals.length > 0) process.exitCode = 3;
      return;
    }
    const openJournal = () => {
      try {
        return Journal.open(journalPath, { vcenter: vcenterHost, from, to });
      } catch (err) {
        throw asCliError(err);
      }
    };
    if (m === 'apply') {
      const { plan, inventory } = await makePlan(session, from, to);
      // Refused before anything is written: not even a journal.
      if (plan.refusals.length > 0) throw new CliError(`migration refused: ${plan.refusals.join('; ')}`, 3);
      const journal = openJournal();
      try {
        process.stderr.write(`journal: ${journal.path}\n`);
        const report = await applyPlan(session, plan, inventory, journal, { parallel, acceptRestartRisk: o['accept-vm-restart-risk'] === true, onResult: progress(out.json) });
        out.result(report, () => applyText(report));
        if (report.left > 0) process.exitCode = EXIT_LEFT;
      } finally {
        journal.close();
      }
      return;
    }
    // verify and retire only read a journal that exists (its keys sharpen the check); they never create one.
    const journal = existsSync(journalPath) ? openJournal() : undefined;
    try {
      if (m === 'verify') {
        const v = await verifyMigration(session, from, to, journal);
        out.result(v, () => verifyText(v));
        if (!v.clean) process.exitCode = EXIT_LEFT;
      } else {
        const r = await retireOldProvider(session, from, to, journal);
        out.result(r, () => retireText(r));
      }
    } finally {
      journal?.close();
    }
  });
};

export const migrateCommands: Record<string, Command> = { 'vcenter migrate': migrate };
