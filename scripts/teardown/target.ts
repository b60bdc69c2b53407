/**
 * Everything the teardown needs to know before its first step, checked up front (exit 2, nothing ran):
 * the stack in the config, its nodes' admin endpoints, the operator's admin client certificate, the tools.
 */
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackName } from '../../modules/shared/plan-names.js';
import { MIN_PASSPHRASE_LENGTH } from '../../server/backup/backup-file.js';
import { StacksConfigError, loadStacksConfig, type StacksConfig } from '../../stacks/config.js';
import { PkiError, pkiPaths } from '../../stacks/pki.js';
import { UsageError, type TeardownArgs } from './args.js';
import type { AdminConnection } from './commands.js';
import { isExecutable, which } from './exec.js';
import { prepareUnprotected, type PreparedStack } from './protection.js';

export interface TeardownNode {
  readonly zone: string;
  readonly connection: AdminConnection;
}

export interface Tools {
  /** kmipctl: [node, dist/server/cli/main.js] unless KMIPCTL_BINARY names one. */
  readonly kmipctl: readonly string[];
  /** Absent only in a dry run, which never reaches Terraform. */
  readonly terraform: string | undefined;
  readonly cdktf: string | undefined;
}

export interface Target {
  readonly config: StacksConfig;
  readonly prepared: PreparedStack;
  readonly nodes: readonly TeardownNode[];
  /** Where the endpoints came from, said out loud when it is not the stack itself. */
  readonly endpointsSource: string;
  readonly tools: Tools;
}

const DEFAULT_KMIPCTL = fileURLToPath(new URL('../../dist/server/cli/main.js', import.meta.url));

function loadConfig(file: string): StacksConfig {
  try {
    return loadStacksConfig(file);
  } catch (err) {
    if (err instanceof StacksConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function stacksOf(config: StacksConfig): string[] {
  return config.environments.flatMap((e) => e.regions.map((r) => stackName(e.name, r.region)));
}

/** `--endpoints-file`: {"<zone>": "https://…"} naming exactly the stack's zones, each once. */
function endpointsFromFile(file: string, zones: readonly string[]): Record<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--endpoints-file ${file}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError(`--endpoints-file ${file}: expected {"<zone>": "https://host:port", …}`);
  const entries = Object.entries(doc as Record<string, unknown>);
  const given = entries.map(([z]) => z).sort();
  if (given.join(',') !== [...zones].sort().join(',')) {
    // Every node must answer the preflight: an endpoints file that leaves one out would skip it.
    throw new UsageError(`--endpoints-file ${file} names zones ${given.join(', ') || '(none)'}; the stack has ${zones.join(', ')}: name each exactly once`);
  }
  for (const [zone, url] of entries) {
    if (typeof url !== 'string' || !/^https:\/\/[^/\s]+\/?$/.test(url)) throw new UsageError(`--endpoints-file ${file}: ${zone} must be an https://host:port URL`);
  }
  return doc as Record<string, string>;
}

function resolveTools(args: TeardownArgs, env: NodeJS.ProcessEnv): Tools {
  const kmipctlBinary = env['KMIPCTL_BINARY'];
  let kmipctl: string[];
  if (kmipctlBinary) {
    if (!isExecutable(kmipctlBinary)) throw new UsageError(`KMIPCTL_BINARY=${kmipctlBinary} is not an executable file`);
    kmipctl = [kmipctlBinary];
  } else {
    if (!existsSync(DEFAULT_KMIPCTL)) throw new UsageError(`${DEFAULT_KMIPCTL} is missing: run npm run build`);
    kmipctl = [process.execPath, DEFAULT_KMIPCTL];
  }
  let terraform: string | undefined;
  if (args.terraform) {
    terraform = which(args.terraform, env['PATH']);
    if (!terraform) throw new UsageError(`--terraform/TERRAFORM_BINARY ${args.terraform} is not an executable file`);
  } else terraform = which('terraform', env['PATH']) ?? which('tofu', env['PATH']);
  if (!terraform && !args.dryRun) throw new UsageError('no terraform (or tofu) found on PATH: give --terraform PATH');
  let cdktf: string | undefined;
  if (args.cdktf) {
    cdktf = which(args.cdktf, env['PATH']);
    if (!cdktf) throw new UsageError(`--cdktf/CDKTF_BINARY ${args.cdktf} is not an executable file`);
  } else cdktf = which('cdktf', env['PATH']);
  return { kmipctl, terraform, cdktf };
}

/**
 * The backup passphrase, read the way kmipctl reads it (one trailing newline dropped), so a passphrase
 * kmipctl would refuse at the backup step (step 2, after the preflight) is refused here, before step 1.
 */
function checkPassphrase(args: TeardownArgs, env: NodeJS.ProcessEnv): void {
  let value: string | undefined;
  let where = 'KMIPCTL_BACKUP_PASSPHRASE';
  if (args.passphraseFile) {
    where = `the passphrase file ${args.passphraseFile}`;
    try {
      value = readFileSync(args.passphraseFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(`cannot read the passphrase file ${args.passphraseFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else value = env['KMIPCTL_BACKUP_PASSPHRASE'];
  if (!value || value.length < MIN_PASSPHRASE_LENGTH) {
    throw new UsageError(`the backup passphrase in ${where} is ${value ? value.length : 0} characters; it must be at least ${MIN_PASSPHRASE_LENGTH}`);
  }
}

/** The backup folder must be one we can create or write in: found now, not at step 2. */
function checkBackupDir(dir: string): void {
  let at = resolve(dir);
  // The nearest folder that exists is the one that decides (mkdir -p creates the rest).
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  if (!statSync(at).isDirectory()) throw new UsageError(`--backup-dir ${dir}: ${at} is not a folder`);
  try {
    accessSync(at, constants.W_OK);
  } catch {
    throw new UsageError(`--backup-dir ${dir}: cannot write in ${at} (permission denied)`);
  }
}

function checkReadable(file: string | undefined, what: string): void {
  if (file === undefined) return;
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new UsageError(`cannot read ${what} ${file}`);
  }
}

function flag(args: TeardownArgs, name: string): string | undefined {
  const i = args.preflightExtra.indexOf(name);
  return i >= 0 ? args.preflightExtra[i + 1] : undefined;
}

/** Resolves and checks everything; throws UsageError (exit 2) on the first thing that cannot work. */
export function resolveTarget(args: TeardownArgs, env: NodeJS.ProcessEnv): Target {
  const config = loadConfig(args.configFile);
  const known = stacksOf(config);
  if (!known.includes(args.stack)) throw new UsageError(`no stack ${args.stack} in ${args.configFile} (it has ${known.join(', ')})`);
  checkPassphrase(args, env);
  checkBackupDir(args.backupDir);
  if (args.preflightExtra.length) {
    checkReadable(flag(args, '--vcenter-password-file') ?? env['KMIPCTL_VCENTER_PASSWORD_FILE'], 'the vCenter password file');
    checkReadable(flag(args, '--vcenter-ca'), 'the vCenter CA file');
  }

  const pki = pkiPaths(resolve(config.pkiDir), args.stack);
  for (const f of [pki.caCert, pki.adminClientCert, pki.adminClientKey]) {
    if (!existsSync(f)) throw new UsageError(`missing ${f}: the preflight reaches the nodes with the admin client certificate (npm run pki -- --config ${args.configFile} --stack ${args.stack})`);
  }
  const tools = resolveTools(args, env);

  let prepared: PreparedStack;
  try {
    prepared = prepareUnprotected(config, args.stack);
  } catch (err) {
    if (err instanceof PkiError) throw new UsageError(err.message);
    throw new UsageError(`cannot synthesize ${args.stack}: ${(err as Error).message}`);
  }
  let fromFile: Record<string, string> | undefined;
  try {
    fromFile = args.endpointsFile ? endpointsFromFile(args.endpointsFile, prepared.zones) : undefined;
  } catch (err) {
    rmSync(prepared.scratchDir, { recursive: true, force: true });
    throw err;
  }
  const nodes = prepared.zones.map((zone, i) => ({
    zone,
    connection: { url: fromFile?.[zone] ?? prepared.adminEndpoints[i]!, certFile: pki.adminClientCert, keyFile: pki.adminClientKey, serverCaFile: pki.caCert },
  }));
  return { config, prepared, nodes, endpointsSource: args.endpointsFile ? `--endpoints-file ${args.endpointsFile}` : `${args.stack}'s admin_endpoints output`, tools };
}
