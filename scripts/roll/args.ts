/**
 * The roll's command line, checked whole before anything runs (exit 2 on a usage problem).
 */
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run roll -- <stack> [options]

Moves the nodes of one stack onto the current release (server bundle, certificates, node settings) one
zone at a time: for each zone that runs an older release, record the new one, synthesize, check that the
plan replaces that zone's node and no other, apply, and wait for the node's /readyz before the next zone.
A plain deploy never replaces nodes: it only uploads what the next roll needs.

  <stack>                  the stack, e.g. kmip-prod-us-south
  --config FILE            stack config (default KMIP_CONFIG, else kmip.config.json)
  --out-dir DIR            synthesized stacks (default cdktf.out)
  --terraform PATH         terraform or tofu (default TERRAFORM_BINARY, else terraform/tofu on PATH)
  --admin-url ZONE=URL     reach a zone's admin port elsewhere (a tunnel); repeatable. Default: the node's
                           own https://<address>:9696, verified against the stack's CA
  --ready-timeout SECONDS  how long a node may take to answer /readyz (default 900)
  --all                    replace every zone's node, one at a time, even those on the current release: after a
                           change that reaches the nodes outside their release (new database credentials)
  --dry-run                say which zones would move, change nothing

exit codes: 0 done (or nothing to do), 1 a step failed (the zones before it are done; run again to go on),
            2 usage or setup problem (nothing ran)`;

export interface RollArgs {
  readonly stack: string;
  readonly configFile: string;
  readonly outDir: string;
  readonly terraform: string | undefined;
  readonly adminUrls: Readonly<Record<string, string>>;
  readonly readyTimeoutMs: number;
  readonly dryRun: boolean;
  readonly all: boolean;
}

export class RollUsageError extends Error {
  override readonly name = 'RollUsageError';
}

export function parseRollArgs(argv: readonly string[], env: NodeJS.ProcessEnv): RollArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        config: { type: 'string' },
        'out-dir': { type: 'string', default: 'cdktf.out' },
        terraform: { type: 'string' },
        'admin-url': { type: 'string', multiple: true, default: [] },
        'ready-timeout': { type: 'string', default: '900' },
        'dry-run': { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new RollUsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const problems: string[] = [];
  if (parsed.positionals.length !== 1) problems.push(`name exactly one stack (got ${parsed.positionals.length})`);
  const seconds = Number(v['ready-timeout']);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 7200) problems.push(`--ready-timeout must be 1-7200 seconds, got ${v['ready-timeout']}`);
  const adminUrls: Record<string, string> = {};
  for (const entry of v['admin-url'] ?? []) {
    const m = /^([a-z]{2}-[a-z]+-[1-3])=(https:\/\/[^/\s]+)\/?$/.exec(entry);
    if (!m) problems.push(`--admin-url ${entry}: expected ZONE=https://host:port`);
    else adminUrls[m[1]!] = m[2]!;
  }
  if (problems.length) throw new RollUsageError(problems.join('; '));
  return {
    stack: parsed.positionals[0]!,
    configFile: v.config ?? env['KMIP_CONFIG'] ?? 'kmip.config.json',
    outDir: v['out-dir'] ?? 'cdktf.out',
    terraform: v.terraform ?? env['TERRAFORM_BINARY'],
    adminUrls,
    readyTimeoutMs: seconds * 1000,
    dryRun: v['dry-run'] ?? false,
    all: v.all ?? false,
  };
}
