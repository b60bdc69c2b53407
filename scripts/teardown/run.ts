/**
 * The teardown flow: checks (nothing runs unless everything needed is there), then the steps in order, each
 * announced before it runs; the first failure stops it and names the step. Exit codes as kmipctl's:
 * 0 done, 1 a step failed, 2 usage or setup problem (nothing ran), 3 refused for safety.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { USAGE, UsageError, parseTeardownArgs } from './args.js';
import { backupFileName, terraformApplyArgs, terraformInitArgs, terraformStateRmArgs } from './commands.js';
import { apply, backup, destroy, destroyInvocation, liftProtection, preflight, retainRootKey, StepFailure, stackFolder, verify, type BackupSummary, type Context, type Io } from './steps.js';
import { resolveTarget, type Target } from './target.js';

interface Step {
  readonly title: string;
  readonly run: () => Promise<string> | string;
}

function header(ctx: Context): void {
  const { args, target } = ctx;
  ctx.io.out(`teardown of ${args.stack}${args.dryRun ? ' (DRY RUN: stops after the backup, changes nothing)' : ''}`);
  ctx.io.out(`  nodes (from ${target.endpointsSource}):`);
  for (const n of target.nodes) ctx.io.out(`    ${n.zone}  ${n.connection.url}`);
  ctx.io.out(`  backup: ${join(resolve(args.backupDir), backupFileName(args.stack, ctx.now()))} (time of the backup step)`);
  ctx.io.out(`  stack folder: ${stackFolder(ctx)}; destroy with ${target.tools.cdktf ? `cdktf (${target.tools.cdktf})` : `terraform (${target.tools.terraform ?? 'not found'})`}`);
  for (const w of target.prepared.warnings) ctx.io.out(`  warning: ${w}`);
}

/** What a real run would do after the backup: printed by the dry run instead of done. */
function remainingPlan(ctx: Context): string[] {
  const tf = ctx.target.tools.terraform ?? 'terraform';
  const dir = stackFolder(ctx);
  const d = destroyInvocation(ctx);
  return [
    `preflight every node again`,
    `lift the destroy protection of ${ctx.args.stack} only: rewrite ${join(dir, 'cdk.tf.json')} without prevent_destroy, database deletion_protection false`,
    `${tf} ${terraformInitArgs(dir).join(' ')}`,
    `${tf} ${terraformApplyArgs(dir, ctx.target.prepared.databaseAddress).join(' ')}`,
    ctx.target.prepared.retainedAddresses.length
      ? `keep the root key: ${tf} ${terraformStateRmArgs(dir, ctx.target.prepared.retainedAddresses).join(' ')} (Key Protect stays in IBM Cloud; the backup needs the root key)`
      : 'keep the root key: nothing to do (the stack uses an existing instance and key)',
    `${[...d.argv0, ...d.args].join(' ')}`,
  ];
}

/** What --json prints at the end: filled in as the run goes. */
interface Report {
  stack?: string;
  dryRun?: boolean;
  steps: Array<{ step: number; title: string; result: string }>;
  backup?: BackupSummary;
  plan?: string[];
  failedStep?: { step: number; title: string };
  error?: string;
  code?: 'USAGE' | 'REFUSED_IN_USE' | 'STEP_FAILED' | 'INTERNAL';
  details?: Record<string, unknown>;
  /** --help was asked for: the help is the whole answer, on stdout, even with --json. */
  help?: boolean;
}

async function runSteps(ctx: Context, report: Report): Promise<number> {
  let saved: BackupSummary | undefined;
  let liftStarted = false;
  let retainStarted = false;
  const steps: Step[] = [
    { title: 'preflight: no key in use on any node', run: () => preflight(ctx) },
    {
      title: 'backup: encrypted export through one node',
      run: async () => {
        saved = await backup(ctx);
        return `${saved.file}`;
      },
    },
    { title: 'verify the backup (offline)', run: () => verify(ctx, saved!) },
    ...(ctx.args.dryRun
      ? []
      : [
          // The first answer predates the backup; a key created meanwhile would be destroyed without a copy.
          { title: 'preflight again: still no key in use after the backup', run: () => preflight(ctx) },
          {
            title: `lift destroy protection of ${ctx.args.stack} only`,
            run: () => {
              liftStarted = true;
              return liftProtection(ctx);
            },
          },
          { title: 'apply the lifted protection (database deletion_protection)', run: () => apply(ctx) },
          {
            title: 'keep the root key: take Key Protect out of the state (the backup is wrapped by the root key)',
            run: () => {
              retainStarted = true;
              return retainRootKey(ctx, saved?.file);
            },
          },
          { title: `destroy ${ctx.args.stack}`, run: () => destroy(ctx) },
        ]),
  ];
  for (const [i, step] of steps.entries()) {
    const at = `[${i + 1}/${steps.length}] ${step.title}`;
    ctx.io.out(at);
    try {
      const result = await step.run();
      ctx.io.out(`    ok: ${result}`);
      report.steps.push({ step: i + 1, title: step.title, result });
      if (saved) report.backup = saved;
    } catch (err) {
      const code = err instanceof StepFailure ? err.exitCode : 1;
      report.failedStep = { step: i + 1, title: step.title };
      report.error = (err as Error).message;
      report.code = code === 3 ? 'REFUSED_IN_USE' : err instanceof StepFailure ? 'STEP_FAILED' : 'INTERNAL';
      if (err instanceof StepFailure && err.details) report.details = err.details;
      ctx.io.err(`teardown: STOPPED at step ${at}`);
      ctx.io.err(`teardown: ${err instanceof StepFailure ? err.message : ((err as Error).stack ?? String(err))}`);
      ctx.io.err(`teardown: nothing after this step ran${liftStarted && !retainStarted ? ` (the protection of ${ctx.args.stack} may already be lifted in ${stackFolder(ctx)}: run npm run synth to restore it, or the teardown again)` : ''}`);
      if (retainStarted) {
        // Key Protect may be out of the state already: a synth and deploy now would create a new root key.
        ctx.io.err(`teardown: Key Protect may already be out of ${ctx.args.stack}'s state (kept in IBM Cloud, see ${join(resolve(ctx.args.backupDir), `${ctx.args.stack}-retained-root-key.json`)}).`);
        ctx.io.err(`teardown: run the teardown again to finish; do NOT deploy this stack before \`terraform -chdir=${stackFolder(ctx)} state push -force\` of the state saved before (the record names it), or terraform import of the Key Protect resources: a deploy would create a new root key`);
      }
      return code;
    }
  }
  if (ctx.args.dryRun) {
    ctx.io.out('dry run: stopping here. A real run (--confirm <stack>) would now:');
    report.plan = remainingPlan(ctx);
    for (const line of report.plan) ctx.io.out(`  - ${line}`);
  } else {
    ctx.io.out(`teardown of ${ctx.args.stack} done. Keep ${saved!.file} and its passphrase: it is the only copy of the keys.`);
    if (ctx.target.prepared.retainedAddresses.length) {
      ctx.io.out(`The root key and its Key Protect instance were kept (not destroyed): the backup can only be restored with them.`);
      ctx.io.out(`Delete them yourself once no backup needs them any more (schedule it: e.g. after your retention period), with the ids in ${join(resolve(ctx.args.backupDir), `${ctx.args.stack}-retained-root-key.json`)}.`);
    }
  }
  return 0;
}

export async function runTeardown(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io, now: () => Date = () => new Date()): Promise<number> {
  // Known before the arguments parse, so even a usage error comes out as JSON.
  const json = argv.includes('--json');
  const report: Report = { steps: [] };
  // With --json, stdout holds one document; the step-by-step log (the same lines) goes to stderr.
  const log: Io = json ? { out: io.err, err: io.err } : io;
  const code = await run(argv, env, log, now, report);
  if (report.help) {
    io.out(USAGE);
    return code;
  }
  if (json) {
    const { steps, backup, plan, failedStep, error, code: errorCode, details, stack, dryRun } = report;
    io.out(
      JSON.stringify({
        ok: code === 0,
        exitCode: code,
        ...(stack ? { stack, dryRun } : {}),
        ...(error ? { error, code: errorCode } : {}),
        ...(failedStep ? { failedStep } : {}),
        ...(details ?? {}),
        steps,
        ...(backup ? { backup } : {}),
        ...(plan ? { plan } : {}),
      }),
    );
  }
  return code;
}

async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io, now: () => Date, report: Report): Promise<number> {
  let target: Target | undefined;
  try {
    const args = parseTeardownArgs(argv, env);
    if (args === 'help') {
      report.help = true;
      return 0;
    }
    report.stack = args.stack;
    report.dryRun = args.dryRun;
    target = resolveTarget(args, env);
    const ctx: Context = { args, target, env, io, now };
    header(ctx);
    return await runSteps(ctx, report);
  } catch (err) {
    if (err instanceof UsageError) {
      report.error = err.message;
      report.code = 'USAGE';
      io.err(`teardown: ${err.message}`);
      io.err('teardown: nothing was done (npm run teardown -- --help)');
      return 2;
    }
    // Before the first step (steps report their own failures): nothing ran.
    report.error = (err as Error).message;
    report.code = 'INTERNAL';
    io.err(`teardown: ${(err as Error).stack ?? String(err)}`);
    io.err('teardown: nothing was done');
    return 1;
  } finally {
    if (target) rmSync(target.prepared.scratchDir, { recursive: true, force: true });
  }
}
