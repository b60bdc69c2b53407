/**
 * The teardown's steps, each one job. A step either returns a one-line summary or throws StepFailure with
 * the exit code the teardown ends with (3 refused for safety, 1 failed); it never half-succeeds.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TeardownArgs } from './args.js';
import {
  backupExportArgs,
  backupFileName,
  backupVerifyArgs,
  cdktfDestroyArgs,
  preflightArgs,
  terraformApplyArgs,
  terraformDestroyArgs,
  terraformInitArgs,
  terraformOutputRawArgs,
  terraformStateListArgs,
  terraformStatePullArgs,
  terraformStateRmArgs,
} from './commands.js';
import { writeFileSync } from 'node:fs';
import { execute, lastJson, type Invocation } from './exec.js';
import { installUnprotected } from './protection.js';
import type { Target, TeardownNode } from './target.js';

export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  constructor(
    message: string,
    readonly exitCode: 1 | 3,
    /** Machine-readable detail for --json (the blockers of a refused preflight). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export interface Context {
  readonly args: TeardownArgs;
  readonly target: Target;
  readonly env: NodeJS.ProcessEnv;
  readonly io: Io;
  readonly now: () => Date;
}

interface Blocker {
  readonly tenant: string;
  readonly id: string;
  readonly state: string;
  readonly why: string;
  readonly lastGetAt: string | null;
}

export interface BackupSummary {
  readonly file: string;
  readonly tenants: number;
  readonly certificates: number;
  readonly objects: number;
  readonly snapshotAt: string;
}

const kmipctl = (ctx: Context, args: readonly string[]): Invocation => ({ argv0: ctx.target.tools.kmipctl, args, env: ctx.env });

function show(ctx: Context, inv: Invocation): void {
  ctx.io.out(`    $ ${[...inv.argv0, ...inv.args].join(' ')}`);
}

/** kmipctl's reason: the JSON error (--json), else its stderr. */
function reason(stdout: string, stderr: string): string {
  const doc = lastJson(stdout) as { error?: unknown } | undefined;
  const text = typeof doc?.error === 'string' ? doc.error : stderr.trim().replace(/^kmipctl: /, '');
  return text.split('\n')[0] || 'no reason given';
}

type NodeAnswer = { readonly node: TeardownNode } & ({ readonly kind: 'safe' } | { readonly kind: 'unsafe'; readonly blockers: readonly Blocker[] } | { readonly kind: 'failed'; readonly reason: string });

async function askNode(ctx: Context, node: TeardownNode): Promise<NodeAnswer> {
  const inv = kmipctl(ctx, preflightArgs(node.connection, ctx.args.preflightExtra));
  const r = await execute(inv, true);
  const doc = lastJson(r.stdout) as { safe?: unknown; blockers?: unknown } | undefined;
  // Safe only on a positive, well-formed answer: exit 0 AND safe:true AND an empty list of blockers.
  if (r.code === 0 && doc?.safe === true && Array.isArray(doc.blockers) && doc.blockers.length === 0) return { node, kind: 'safe' };
  if (r.code === 3) return { node, kind: 'unsafe', blockers: Array.isArray(doc?.blockers) ? (doc.blockers as Blocker[]) : [] };
  return { node, kind: 'failed', reason: r.code === 0 ? `an answer that is not a clear "safe": ${r.stdout.trim().slice(0, 200)}` : `kmipctl exit ${r.code}: ${reason(r.stdout, r.stderr)}` };
}

/**
 * Every node is asked (they share one database, but each must answer for itself: a node that cannot is one
 * nobody can vouch for), all at once so a three-zone region takes as long as its slowest node. One refusal
 * or one silence stops the teardown.
 */
export async function preflight(ctx: Context): Promise<string> {
  for (const node of ctx.target.nodes) show(ctx, kmipctl(ctx, preflightArgs(node.connection, ctx.args.preflightExtra)));
  const answers = await Promise.all(ctx.target.nodes.map((node) => askNode(ctx, node)));
  for (const a of answers) {
    ctx.io.out(`    ${a.node.zone} ${a.node.connection.url}: ${a.kind === 'safe' ? 'safe' : a.kind === 'unsafe' ? `NOT safe (${a.blockers.length} key(s) in use)` : `no answer (${a.reason})`}`);
  }
  const unsafe = answers.filter((a): a is Extract<NodeAnswer, { kind: 'unsafe' }> => a.kind === 'unsafe');
  if (unsafe.length) {
    const blockers = new Map<string, Blocker>();
    for (const a of unsafe) for (const b of a.blockers) blockers.set(`${b.tenant}/${b.id}`, b);
    ctx.io.err(`    keys still in use (revoke and destroy them in vCenter first, or keep the stack):`);
    for (const b of blockers.values()) ctx.io.err(`      tenant ${b.tenant}  key ${b.id}  ${b.state}  last Get ${b.lastGetAt ?? 'never'}  ${b.why}`);
    throw new StepFailure(`NOT safe to tear down ${ctx.args.stack}: ${blockers.size} key(s) still in use (${unsafe.map((a) => a.node.zone).join(', ')} refused)`, 3, {
      blockers: [...blockers.values()],
      refusedBy: unsafe.map((a) => a.node.zone),
    });
  }
  const failed = answers.filter((a) => a.kind === 'failed');
  if (failed.length) {
    throw new StepFailure(`no positive answer from ${failed.map((a) => a.node.zone).join(', ')}: a teardown needs proof from every node that no key is in use`, 1, {
      noAnswer: failed.map((a) => ({ zone: a.node.zone, url: a.node.connection.url, reason: a.kind === 'failed' ? a.reason : '' })),
    });
  }
  return `all ${answers.length} node(s) answer: safe to tear down`;
}

/** An encrypted backup through the first node, under a new name (never over an existing file). */
export async function backup(ctx: Context): Promise<BackupSummary> {
  const dir = resolve(ctx.args.backupDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, backupFileName(ctx.args.stack, ctx.now()));
  if (existsSync(file)) throw new StepFailure(`${file} already exists`, 1);
  const node = ctx.target.nodes[0]!;
  const inv = kmipctl(ctx, backupExportArgs(node.connection, file, ctx.args.passphraseFile));
  show(ctx, inv);
  const r = await execute(inv, true);
  if (r.code !== 0) throw new StepFailure(`backup export through ${node.zone} failed (kmipctl exit ${r.code}): ${reason(r.stdout, r.stderr)}`, 1);
  const doc = lastJson(r.stdout) as Partial<BackupSummary> | undefined;
  if (!doc || typeof doc.tenants !== 'number' || typeof doc.certificates !== 'number' || typeof doc.objects !== 'number' || !existsSync(file)) {
    throw new StepFailure(`backup export through ${node.zone} gave no backup summary or no file ${file}`, 1);
  }
  return { file, tenants: doc.tenants, certificates: doc.certificates, objects: doc.objects, snapshotAt: String(doc.snapshotAt) };
}

/** Decrypts and checks the file offline; it must hold exactly what the export counted. */
export async function verify(ctx: Context, b: BackupSummary): Promise<string> {
  const inv = kmipctl(ctx, backupVerifyArgs(b.file, ctx.args.passphraseFile));
  show(ctx, inv);
  const r = await execute(inv, true);
  if (r.code !== 0) throw new StepFailure(`the backup ${b.file} does not verify (kmipctl exit ${r.code}): ${reason(r.stdout, r.stderr)}`, 1);
  const doc = lastJson(r.stdout) as { ok?: unknown; tenants?: unknown; certificates?: unknown; objects?: unknown } | undefined;
  if (doc?.ok !== true || doc.tenants !== b.tenants || doc.certificates !== b.certificates || doc.objects !== b.objects) {
    throw new StepFailure(`the backup ${b.file} does not hold what was exported (${JSON.stringify(doc)})`, 1);
  }
  return `intact: ${b.tenants} tenant(s), ${b.certificates} certificate(s), ${b.objects} object(s) as of ${b.snapshotAt}`;
}

export function liftProtection(ctx: Context): string {
  try {
    const dir = installUnprotected(ctx.target.prepared, resolve(ctx.args.outDir));
    return `${join(dir, 'cdk.tf.json')}: no prevent_destroy, database deletion_protection false; other stacks untouched`;
  } catch (err) {
    throw new StepFailure(`cannot lift the protection: ${(err as Error).message}`, 1);
  }
}

async function tool(ctx: Context, inv: Invocation, what: string): Promise<void> {
  show(ctx, inv);
  const r = await execute(inv, false);
  if (r.code !== 0) throw new StepFailure(`${what} failed (exit ${r.code})${r.stderr ? `: ${r.stderr.trim()}` : ''}`, 1);
}

export function stackFolder(ctx: Context): string {
  return join(resolve(ctx.args.outDir), 'stacks', ctx.args.stack);
}

/** Where the retain step records what it kept (beside the backups). */
export function retainedRecordFile(ctx: Context): string {
  return join(resolve(ctx.args.backupDir), `${ctx.args.stack}-retained-root-key.json`);
}

/** The database's deletion_protection=false must reach IBM Cloud before a destroy can remove it. */
export async function apply(ctx: Context): Promise<string> {
  const tf = ctx.target.tools.terraform!;
  const dir = stackFolder(ctx);
  // A run after an earlier one kept the root key: this apply already happened then, and now that Key Protect is out
  // of the state, a targeted apply would create it anew (the database depends on the root key).
  const retained = ctx.target.prepared.retainedAddresses;
  if (retained.length && existsSync(retainedRecordFile(ctx))) {
    await tool(ctx, { argv0: [tf], args: terraformInitArgs(dir), env: ctx.env }, 'terraform init');
    const list = await execute({ argv0: [tf], args: terraformStateListArgs(dir), env: ctx.env }, true);
    const inState = new Set(list.stdout.split('\n').map((l) => l.trim()));
    if (list.code === 0 && !retained.some((a) => inState.has(a))) {
      return `already applied by an earlier run (${retainedRecordFile(ctx)}; Key Protect is out of the state): not applying again, which would create a new root key`;
    }
  }
  await tool(ctx, { argv0: [tf], args: terraformInitArgs(dir), env: ctx.env }, 'terraform init');
  await tool(ctx, { argv0: [tf], args: terraformApplyArgs(dir, ctx.target.prepared.databaseAddress), env: ctx.env }, 'terraform apply');
  return `${ctx.target.prepared.databaseAddress} applied without deletion protection`;
}

/** What the teardown kept, written beside the backup (never a secret: ids and CRNs). */
export interface RetainedRootKey {
  readonly stack: string;
  readonly rootKeyId: string | null;
  readonly keyProtectInstanceCrn: string | null;
  readonly addresses: readonly string[];
  readonly backup: string | null;
  readonly retainedAt: string;
}

/**
 * Takes Key Protect (instance, key ring, root key, policies) out of the Terraform state, so the destroy that
 * follows leaves them in IBM Cloud: every object in the backup is wrapped by the root key, and a backup
 * nobody can unwrap is no backup. Deleting the key (after the retention the operator chooses) is a deliberate
 * act outside the teardown; the record written beside the backup says which key and instance.
 */
export async function retainRootKey(ctx: Context, backupFile: string | undefined): Promise<string> {
  const tf = ctx.target.tools.terraform!;
  const dir = stackFolder(ctx);
  const wanted = ctx.target.prepared.retainedAddresses;
  if (wanted.length === 0) return 'the stack manages no Key Protect resources (existing instance and key): nothing to keep out of the destroy';
  // Only the two ids: `terraform output -json` would also print the sensitive database URL.
  const output = async (name: string) => {
    const r = await execute({ argv0: [tf], args: terraformOutputRawArgs(dir, name), env: ctx.env }, true);
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
  };
  const list = await execute({ argv0: [tf], args: terraformStateListArgs(dir), env: ctx.env }, true);
  if (list.code !== 0) throw new StepFailure(`terraform state list failed (exit ${list.code}): ${list.stderr.trim()}`, 1);
  const inState = new Set(list.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  const present = wanted.filter((a) => inState.has(a));
  const backupDir = resolve(ctx.args.backupDir);
  const recordFile = retainedRecordFile(ctx);
  const stateFile = join(backupDir, backupFileName(`${ctx.args.stack}-state-before-retain`, ctx.now()).replace(/\.kfv$/, '.tfstate'));
  // A teardown run again after a later step failed: what was kept is already recorded; never overwrite it.
  if (present.length === 0 && existsSync(recordFile)) return `already out of the state: ${recordFile} says what was kept`;
  const record: RetainedRootKey = {
    stack: ctx.args.stack,
    rootKeyId: await output('root_key_id'),
    keyProtectInstanceCrn: await output('key_protect_instance_crn'),
    addresses: present,
    backup: backupFile ?? null,
    retainedAt: ctx.now().toISOString(),
  };
  if (present.length) {
    // Before anything leaves the state: the state as it was (it holds the database credentials: 0600, beside the
    // backup), so the Key Protect resources can be put back (`terraform state push`) if the destroy stops half-way.
    const pulled = await execute({ argv0: [tf], args: terraformStatePullArgs(dir), env: ctx.env }, true);
    if (pulled.code !== 0 || !pulled.stdout.trim()) throw new StepFailure(`terraform state pull failed (exit ${pulled.code}): ${pulled.stderr.trim()}`, 1);
    writeFileSync(stateFile, pulled.stdout, { mode: 0o600, flag: 'wx' });
  }
  // The record is written before the state changes: the ids must never be only in a state that no longer has them.
  writeFileSync(recordFile, `${JSON.stringify({ ...record, stateBeforeRetain: present.length ? stateFile : null }, null, 2)}\n`, { mode: 0o600 });
  if (present.length) {
    const inv = { argv0: [tf], args: terraformStateRmArgs(dir, present), env: ctx.env };
    show(ctx, inv);
    const r = await execute(inv, true);
    if (r.code !== 0) throw new StepFailure(`terraform state rm failed (exit ${r.code}): ${r.stderr.trim()}`, 1);
  }
  return `kept out of the destroy: ${present.length ? present.join(', ') : 'nothing left in the state'}; root key ${record.rootKeyId ?? '(unknown)'} in ${record.keyProtectInstanceCrn ?? '(unknown instance)'} (${recordFile})`;
}

export function destroyInvocation(ctx: Context): Invocation {
  const { cdktf, terraform } = ctx.target.tools;
  if (cdktf) return { argv0: [cdktf], args: cdktfDestroyArgs(ctx.args.stack, resolve(ctx.args.outDir)), env: { ...ctx.env, ...(terraform ? { TERRAFORM_BINARY_NAME: terraform } : {}) } };
  return { argv0: [terraform!], args: terraformDestroyArgs(stackFolder(ctx)), env: ctx.env };
}

export async function destroy(ctx: Context): Promise<string> {
  await tool(ctx, destroyInvocation(ctx), ctx.target.tools.cdktf ? 'cdktf destroy' : 'terraform destroy');
  return `${ctx.args.stack} destroyed`;
}
