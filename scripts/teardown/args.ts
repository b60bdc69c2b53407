/**
 * The teardown's command line. Everything that can be wrong with it is found here, before any step runs:
 * a teardown that stops half-way because of a typo in a flag is a teardown the operator has to reason
 * about, so usage problems (exit 2) never come after the first call to a server.
 */
import { parseArgs } from 'node:util';
import { parseArgsMessage } from '../../server/util/parse-args-message.js';

export const USAGE = `usage: npm run teardown -- <stack> --confirm <stack> [options]

Tears one stack down: preflight on every node, encrypted backup and its verification, then lifts the
destroy protection of that stack only, applies it and destroys the stack.

  <stack>                        the stack to destroy, e.g. kmip-dev-us-east
  --confirm <stack>              type the stack name again: required for the destructive part
  --dry-run                      preflight, backup and verify, print the rest of the plan, change nothing
  --config FILE                  stack config (default KMIP_CONFIG, else kmip.config.json)
  --passphrase-file FILE         backup passphrase (or KMIPCTL_BACKUP_PASSPHRASE), at least 12 characters
  --backup-dir DIR               where the backup goes (default backups/): <stack>-<UTC time>.kfv
  --out-dir DIR                  synthesized stacks (default cdktf.out)
  --terraform PATH               terraform or tofu (default TERRAFORM_BINARY, else terraform/tofu on PATH)
  --cdktf PATH                   cdktf-cli for the destroy (default CDKTF_BINARY, else cdktf on PATH, else
                                 terraform destroy)
  --endpoints-file FILE          JSON {"<zone>": "https://host:port", …}: reach the nodes' admin ports
                                 elsewhere (a tunnel); each must still prove it is a node of the stack with
                                 a certificate from the stack's CA
  --vcenter URL --vcenter-user U --vcenter-password-file F --provider NAME [--vcenter-ca FILE]
  [--vcenter-api auto|json|soap] passed to kmipctl preflight-destroy (vCenter-side checks)
  --json                         one JSON document on stdout at the end (the steps done, the backup, or
                                 the error with a stable code); the step-by-step log goes to stderr

exit codes: 0 done (or dry run done), 1 a step failed, 2 usage or setup problem (nothing ran),
            3 refused for safety (keys still in use)
error codes (--json "code"): USAGE (exit 2), REFUSED_IN_USE (3), STEP_FAILED (1), INTERNAL (1)`;

export interface TeardownArgs {
  readonly stack: string;
  readonly dryRun: boolean;
  readonly configFile: string;
  readonly passphraseFile: string | undefined;
  readonly backupDir: string;
  readonly outDir: string;
  readonly terraform: string | undefined;
  readonly cdktf: string | undefined;
  readonly endpointsFile: string | undefined;
  /** Flags appended to `kmipctl preflight-destroy`, in the order given here. */
  readonly preflightExtra: readonly string[];
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  confirm: { type: 'string' },
  yes: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  config: { type: 'string' },
  'passphrase-file': { type: 'string' },
  'backup-dir': { type: 'string', default: 'backups' },
  'out-dir': { type: 'string', default: 'cdktf.out' },
  terraform: { type: 'string' },
  cdktf: { type: 'string' },
  'endpoints-file': { type: 'string' },
  vcenter: { type: 'string' },
  'vcenter-user': { type: 'string' },
  'vcenter-password-file': { type: 'string' },
  provider: { type: 'string' },
  'vcenter-ca': { type: 'string' },
  'vcenter-api': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** The vCenter flags kmipctl's preflight takes; passed through untouched when given. */
const PREFLIGHT_PASSTHROUGH = ['vcenter', 'vcenter-user', 'vcenter-password-file', 'vcenter-ca', 'vcenter-api', 'provider'] as const;

/**
 * The vCenter flags go to kmipctl's preflight on every node; a half set would make each preflight fail
 * (a usage error of kmipctl, seen as "no answer") after the teardown had started. Checked here instead.
 */
function checkVcenterFlags(values: Partial<Record<(typeof PREFLIGHT_PASSTHROUGH)[number], string | undefined>>, env: NodeJS.ProcessEnv): void {
  const given = PREFLIGHT_PASSTHROUGH.filter((n) => values[n] !== undefined);
  if (given.length === 0) return;
  const missing = [
    ...(values.vcenter ? [] : ['--vcenter URL']),
    ...(values['vcenter-user'] || env['KMIPCTL_VCENTER_USER'] ? [] : ['--vcenter-user USER']),
    ...(values['vcenter-password-file'] || env['KMIPCTL_VCENTER_PASSWORD_FILE'] ? [] : ['--vcenter-password-file FILE']),
    ...(values.provider ? [] : ['--provider NAME']),
  ];
  if (missing.length) throw new UsageError(`the vCenter check needs ${missing.join(', ')} too (given: ${given.map((n) => `--${n}`).join(', ')})`);
  if (!/^https:\/\/[^\s/]+/.test(values.vcenter!)) throw new UsageError(`--vcenter takes https://HOST, got ${values.vcenter}`);
  const api = values['vcenter-api'];
  if (api !== undefined && !['auto', 'json', 'soap'].includes(api)) throw new UsageError(`--vcenter-api takes auto, json or soap, got ${api}`);
}

/** Returns the parsed arguments, `'help'`, or throws UsageError. `env` supplies the documented defaults. */
export function parseTeardownArgs(argv: readonly string[], env: NodeJS.ProcessEnv): TeardownArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the stack to tear down' : `one stack at a time, got ${positionals.join(' ')}`);
  const stack = positionals[0]!;
  const dryRun = values['dry-run'];
  // Typing the name is the confirmation: a flag that means "yes to whatever" is too easy to paste into the
  // wrong shell, so --yes alone is refused rather than ignored.
  if (!dryRun) {
    if (values.confirm === undefined) {
      throw new UsageError(values.yes ? `--yes is not enough: type the stack name, --confirm ${stack}` : `destroying ${stack} needs --confirm ${stack} (or --dry-run)`);
    }
    if (values.confirm !== stack) throw new UsageError(`--confirm ${values.confirm} does not name the stack ${stack}: nothing was done`);
  }
  const passphraseFile = values['passphrase-file'];
  if (!passphraseFile && !env['KMIPCTL_BACKUP_PASSPHRASE']) throw new UsageError('the backup needs a passphrase: --passphrase-file FILE (or KMIPCTL_BACKUP_PASSPHRASE)');
  checkVcenterFlags(values, env);
  const preflightExtra = PREFLIGHT_PASSTHROUGH.flatMap((name) => (values[name] !== undefined ? [`--${name}`, values[name]!] : []));
  return {
    stack,
    dryRun,
    configFile: values.config ?? env['KMIP_CONFIG'] ?? 'kmip.config.json',
    passphraseFile,
    backupDir: values['backup-dir'],
    outDir: values['out-dir'],
    terraform: values.terraform ?? (env['TERRAFORM_BINARY'] || undefined),
    cdktf: values.cdktf ?? (env['CDKTF_BINARY'] || undefined),
    endpointsFile: values['endpoints-file'],
    preflightExtra,
  };
}
