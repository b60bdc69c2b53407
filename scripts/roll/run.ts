/**
 * The roll: one zone at a time onto the current release (stacks/releases.ts). For each zone behind: record its
 * new release, synthesize the stack, plan the replacement of that zone's node alone (-replace, -target: the
 * nodes ignore user data changes otherwise), refuse a plan that touches anything else that serves keys, apply,
 * wait for the node's /readyz. A failed plan, or an apply that did not replace the node, puts the zone's record
 * back, so running the roll again retries it; a node that does not become ready stops the roll with the zones
 * after it untouched.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'cdktf';
import { loadStacksConfig, StacksConfigError, type StacksConfig } from '../../stacks/config.js';
import { buildStacks, type KmipRegionStack } from '../../stacks/kmip-stack.js';
import { PkiError, pkiPaths } from '../../stacks/pki.js';
import { advanceZone, readReleases, ReleaseError } from '../../stacks/releases.js';
import { execute, which } from '../teardown/exec.js';
import { parseRollArgs, RollUsageError, USAGE, type RollArgs } from './args.js';
import { checkRollPlan } from './plan-check.js';
import { waitUntilReady, type ReadyCheck } from './ready.js';

export interface RollIo {
  out(line: string): void;
  err(line: string): void;
}

export interface RollOptions {
  readonly waitReady?: ReadyCheck;
  readonly now?: () => Date;
}

class RollFailure extends Error {
  override readonly name = 'RollFailure';
}

function synth(config: StacksConfig, stack: string, outDir: string, now: (() => Date) | undefined): KmipRegionStack {
  const app = new App({ outdir: outDir });
  const [built] = buildStacks(app, config, { only: [stack], ...(now ? { now: now() } : {}) });
  if (!built) throw new RollUsageError(`no stack ${stack} in the config`);
  app.synth();
  return built;
}

async function tf(terraform: string, args: string[], env: NodeJS.ProcessEnv, what: string, capture = true): Promise<string> {
  const r = await execute({ argv0: [terraform], args, env }, capture);
  if (r.code !== 0) throw new RollFailure(`${what} failed (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-8).join('\n')}` : ''}`);
  return r.stdout;
}

/** The id of the instance at `address` in the state, or "" when there is none. */
async function instanceId(terraform: string, dir: string, env: NodeJS.ProcessEnv, address: string): Promise<string> {
  const doc = JSON.parse(await tf(terraform, [`-chdir=${dir}`, 'show', '-json'], env, 'terraform show')) as { values?: { root_module?: { resources?: { address: string; values: { id?: string } }[] } } };
  return doc.values?.root_module?.resources?.find((r) => r.address === address)?.values.id ?? '';
}

async function rollZone(args: RollArgs, config: StacksConfig, terraform: string, env: NodeJS.ProcessEnv, io: RollIo, zone: string, options: RollOptions): Promise<void> {
  const outDir = resolve(args.outDir);
  const before = synth(config, args.stack, outDir, options.now);
  const pki = pkiPaths(resolve(config.pkiDir), args.stack);
  const previous = readReleases(pki.dir)[zone];
  const id = advanceZone(pki.dir, zone, before.currentReleases[zone]!, options.now);
  io.out(`  ${zone}: recorded release ${id} (was ${previous?.id ?? 'none'})`);
  const dir = join(outDir, 'stacks', args.stack);
  // The plan holds the node's user data (database credentials): a private folder, removed whatever happens.
  const planDir = mkdtempSync(join(tmpdir(), 'kmip-roll-'));
  const planFile = join(planDir, 'roll.tfplan');
  let address = '';
  let idBefore: string | undefined;
  try {
    const built = synth(config, args.stack, outDir, options.now);
    address = built.instanceAddresses[zone]!;
    await tf(terraform, [`-chdir=${dir}`, 'init', '-input=false'], env, 'terraform init');
    idBefore = await instanceId(terraform, dir, env, address);
    await tf(terraform, [`-chdir=${dir}`, 'plan', '-input=false', `-replace=${address}`, `-target=${address}`, `-out=${planFile}`], env, 'terraform plan');
    const verdict = checkRollPlan(JSON.parse(await tf(terraform, [`-chdir=${dir}`, 'show', '-json', planFile], env, 'terraform show')), address);
    for (const c of verdict.changed) io.out(`    plan: ${c}`);
    if (!verdict.ok) throw new RollFailure(`the plan for ${zone} changes more than its node, refused:\n${verdict.problems.map((p) => `    ${p}`).join('\n')}`);
    await tf(terraform, [`-chdir=${dir}`, 'apply', '-input=false', '-auto-approve', planFile], env, 'terraform apply');
  } catch (err) {
    // The record stays advanced only when the node was in fact replaced (an apply can fail after it did).
    const replaced = idBefore !== undefined && (await instanceId(terraform, dir, env, address).catch(() => idBefore)) !== idBefore;
    if (!replaced && previous) advanceZone(pki.dir, zone, previous.release, () => new Date(previous.since));
    throw err;
  } finally {
    rmSync(planDir, { recursive: true, force: true });
  }
  const url = args.adminUrls[zone] ?? before.adminEndpoints[before.plan.zoneNames.indexOf(zone)]!;
  io.out(`  ${zone}: applied; waiting for ${url}/readyz (up to ${args.readyTimeoutMs / 1000} s)`);
  try {
    await (options.waitReady ?? waitUntilReady)(url, readFileSync(pki.caCert, 'utf8'), args.readyTimeoutMs);
  } catch (err) {
    throw new RollFailure(`${zone} runs release ${id} but is not ready: ${(err as Error).message}. The zones after it were not touched; find out why (kmipctl, the node's journal), then run the roll again`);
  }
  io.out(`  ${zone}: ready on release ${id}`);
}

/**
 * After the last zone: an untargeted apply of what the targeted steps left (the outputs, objects no release needs
 * any more), under the same check with no node allowed to change at all.
 */
async function finish(args: RollArgs, config: StacksConfig, terraform: string, env: NodeJS.ProcessEnv, io: RollIo, options: RollOptions): Promise<void> {
  const outDir = resolve(args.outDir);
  synth(config, args.stack, outDir, options.now);
  const dir = join(outDir, 'stacks', args.stack);
  const planDir = mkdtempSync(join(tmpdir(), 'kmip-roll-'));
  const planFile = join(planDir, 'finish.tfplan');
  try {
    await tf(terraform, [`-chdir=${dir}`, 'plan', '-input=false', `-out=${planFile}`], env, 'terraform plan');
    const verdict = checkRollPlan(JSON.parse(await tf(terraform, [`-chdir=${dir}`, 'show', '-json', planFile], env, 'terraform show')), '');
    for (const c of verdict.changed) io.out(`    plan: ${c}`);
    if (!verdict.ok) throw new RollFailure(`the closing plan changes more than outputs and unused objects, refused:\n${verdict.problems.map((p) => `    ${p}`).join('\n')}`);
    await tf(terraform, [`-chdir=${dir}`, 'apply', '-input=false', '-auto-approve', planFile], env, 'terraform apply');
  } finally {
    rmSync(planDir, { recursive: true, force: true });
  }
}

export async function runRoll(argv: readonly string[], env: NodeJS.ProcessEnv, io: RollIo, options: RollOptions = {}): Promise<number> {
  let args: RollArgs;
  let config: StacksConfig;
  let terraform: string | undefined;
  let behind: string[];
  try {
    const parsed = parseRollArgs(argv, env);
    if (parsed === 'help') {
      io.out(USAGE);
      return 0;
    }
    args = parsed;
    config = loadStacksConfig(args.configFile);
    const stack = synth(config, args.stack, resolve(args.outDir), options.now);
    behind = stack.releases.filter((r) => args.all || !r.upToDate).map((r) => r.zone);
    io.out(`roll of ${args.stack}:`);
    for (const r of stack.releases) io.out(`  ${r.zone}: runs ${r.runningId}${r.upToDate ? ' (current)' : `, current is ${r.currentId}`}`);
    if (behind.length === 0) {
      io.out('every zone runs the current release: nothing to do');
      return 0;
    }
    if (args.dryRun) {
      io.out(`dry run: would move ${behind.join(', ')}, one at a time`);
      return 0;
    }
    terraform = args.terraform ? which(args.terraform, env['PATH']) : (which('terraform', env['PATH']) ?? which('tofu', env['PATH']));
    if (!terraform) throw new RollUsageError(args.terraform ? `${args.terraform} is not an executable file` : 'no terraform (or tofu) on PATH: give --terraform PATH');
  } catch (err) {
    if (err instanceof RollUsageError || err instanceof StacksConfigError || err instanceof PkiError || err instanceof ReleaseError) {
      io.err(`roll: ${err.message}`);
      io.err('roll: nothing was done (npm run roll -- --help)');
      return 2;
    }
    throw err;
  }
  for (const [i, zone] of behind.entries()) {
    io.out(`[${i + 1}/${behind.length}] ${zone}`);
    try {
      await rollZone(args, config, terraform, env, io, zone, options);
    } catch (err) {
      io.err(`roll: STOPPED at ${zone}: ${(err as Error).message}`);
      return 1;
    }
  }
  io.out('finishing: outputs and the objects no release needs any more');
  try {
    await finish(args, config, terraform, env, io, options);
  } catch (err) {
    io.err(`roll: every zone moved, but the closing apply failed: ${(err as Error).message}`);
    return 1;
  }
  io.out(`roll of ${args.stack} done: ${behind.length} zone(s) moved, one at a time`);
  return 0;
}
