/**
 * kmipctl's failures: one error class, and the stable codes a CI pipeline can branch on. The exit
 * code says how bad (1 failed, 2 usage, 3 refused for safety); the code says what happened, so
 * `--json` output stays one small object whatever the command was.
 */

/** Every code kmipctl prints in `{"error": …, "code": …}`, with its exit code and meaning (the usage text lists them). */
export const CLI_CODES = {
  USAGE: { exit: 2, meaning: 'a flag, argument or input file is wrong; nothing was done' },
  NOT_FOUND: { exit: 2, meaning: 'the server has no such tenant, certificate or key' },
  UNREACHABLE: { exit: 1, meaning: 'the server (or vCenter, Key Protect) cannot be reached' },
  UNAUTHORIZED: { exit: 1, meaning: 'the token, certificate or credentials were refused' },
  UNAVAILABLE: { exit: 1, meaning: 'the server is up but not ready (database down, restore running)' },
  BAD_BACKUP: { exit: 1, meaning: 'wrong passphrase, or the backup file is damaged, cut off or not a backup' },
  SERVER_ERROR: { exit: 1, meaning: 'the server failed (HTTP 5xx or an answer that is not JSON)' },
  FAILED: { exit: 1, meaning: 'the command failed; `cause` carries vCenter or Key Protect codes' },
  INTERNAL: { exit: 1, meaning: 'a bug in kmipctl: please report it with the message' },
  CONFLICT: { exit: 3, meaning: 'it exists already, or belongs to another tenant' },
  REFUSED_IN_USE: { exit: 3, meaning: 'refused: keys are still in use (`blockers` lists them)' },
  REFUSED: { exit: 3, meaning: 'refused for safety (a non-empty server, a readable secret file, vCenter)' },
} as const;

export type CliCode = keyof typeof CLI_CODES;

export class CliError extends Error {
  constructor(
    message: string,
    /** 1 failure, 2 usage, 3 refused for safety. */
    readonly exitCode: 1 | 2 | 3,
    readonly details?: unknown,
    /** When absent, derived from the details' own code and the exit code (see cliCode). */
    readonly code?: CliCode,
  ) {
    super(message);
  }
}

/** vCenter's and Key Protect's own codes, where one of ours says more to a pipeline than "failed". */
const DOMAIN_CODES: Record<string, CliCode> = {
  VC_ERR_INPUT: 'USAGE',
  VC_ERR_CONNECT: 'UNREACHABLE',
  VC_ERR_TLS: 'UNREACHABLE',
  VC_ERR_AUTH: 'UNAUTHORIZED',
  VC_ERR_REFUSED: 'REFUSED',
  WRAP_ERR_AUTH: 'UNAUTHORIZED',
  WRAP_ERR_UNAVAILABLE: 'UNREACHABLE',
  WRAP_ERR_TIMEOUT: 'UNREACHABLE',
};

function domainCode(details: unknown): string | undefined {
  const code = (details as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function cliCode(err: CliError): CliCode {
  if (err.code) return err.code;
  const mapped = DOMAIN_CODES[domainCode(err.details) ?? ''];
  // A mapped code must not change the exit code the command chose.
  if (mapped && CLI_CODES[mapped].exit === err.exitCode) return mapped;
  return err.exitCode === 2 ? 'USAGE' : err.exitCode === 3 ? 'REFUSED' : 'FAILED';
}

/**
 * The --json error document: `error` and `code` first and always, then what the command added
 * (blockers, known providers …). A component's own code (VC_ERR_*, WRAP_ERR_*, a server's) is kept as `cause`.
 */
export function errorDocument(err: CliError): Record<string, unknown> {
  const details = typeof err.details === 'object' && err.details !== null ? { ...(err.details as Record<string, unknown>) } : {};
  const cause = domainCode(details);
  delete details['code'];
  delete details['error'];
  return { error: err.message, code: cliCode(err), ...(cause ? { cause } : {}), ...details };
}
