/**
 * Everything the teardown needs to know before its first step, checked up front (exit 2, nothing ran):
 * the stack in the config, its nodes' admin endpoints, the operator's admin client certificate, the tools.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackName } from '../../modules/shared/plan-names.js';
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

/** Resolves and checks everything; throws UsageError (exit 2) on the first thing that cannot work. */
export function resolveTarget(args: TeardownArgs, env: NodeJS.ProcessEnv): Target {
  const config = loadConfig(args.configFile);
  const known = stacksOf(config);
  if (!known.includes(args.stack)) throw new UsageError(`no stack ${args.stack} in ${args.configFile} (it has ${known.join(', ')})`);
  if (args.passphraseFile && !existsSync(args.passphraseFile)) throw new UsageError(`cannot read the passphrase file ${args.passphraseFile}`);

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
