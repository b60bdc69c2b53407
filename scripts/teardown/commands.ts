/**
 * The exact command lines of the teardown, as pure functions: the steps run them, the dry run prints them,
 * and the tests read them. Terraform and cdktf never prompt (-input=false, auto-approve): the typed
 * `--confirm <stack>` is the approval, and a prompt in CI would hang instead of failing.
 */
import { join } from 'node:path';

export interface AdminConnection {
  /** https://<node>:9696 */
  readonly url: string;
  /** The operator's admin client certificate and key (npm run pki), and the stack's server CA. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly serverCaFile: string;
}

function connection(c: AdminConnection): string[] {
  return ['--admin-url', c.url, '--client-cert', c.certFile, '--client-key', c.keyFile, '--server-ca', c.serverCaFile];
}

const passphrase = (file: string | undefined): string[] => (file ? ['--passphrase-file', file] : []);

export function preflightArgs(c: AdminConnection, extra: readonly string[]): string[] {
  return [...connection(c), '--json', 'preflight-destroy', ...extra];
}

/** No --force: a file that is already there is never overwritten by a teardown. */
export function backupExportArgs(c: AdminConnection, file: string, passphraseFile: string | undefined): string[] {
  return [...connection(c), '--json', 'backup', 'export', '--out', file, ...passphrase(passphraseFile)];
}

export function backupVerifyArgs(file: string, passphraseFile: string | undefined): string[] {
  return ['--json', 'backup', 'verify', '--in', file, ...passphrase(passphraseFile)];
}

export function stackDir(outDir: string, stack: string): string {
  return join(outDir, 'stacks', stack);
}

export function terraformInitArgs(dir: string): string[] {
  return [`-chdir=${dir}`, 'init', '-input=false'];
}

/**
 * Only the database: its deletion_protection=false must reach IBM Cloud before a destroy can delete it
 * (prevent_destroy is read from the configuration and needs no apply). Targeting it keeps the apply from
 * changing anything else the configuration may have drifted on (instances, user data) on the way out.
 */
export function terraformApplyArgs(dir: string, databaseAddress: string): string[] {
  return [`-chdir=${dir}`, 'apply', '-input=false', '-auto-approve', `-target=${databaseAddress}`];
}

export function terraformStateListArgs(dir: string): string[] {
  return [`-chdir=${dir}`, 'state', 'list'];
}

/** Forgets resources without touching them: what the teardown keeps (Key Protect) stays in IBM Cloud. */
export function terraformStateRmArgs(dir: string, addresses: readonly string[]): string[] {
  return [`-chdir=${dir}`, 'state', 'rm', ...addresses];
}

/** One output's plain value: the retain step reads two ids this way, never the sensitive outputs. */
export function terraformOutputRawArgs(dir: string, name: string): string[] {
  return [`-chdir=${dir}`, 'output', '-raw', name];
}

export function terraformStatePullArgs(dir: string): string[] {
  return [`-chdir=${dir}`, 'state', 'pull'];
}

export function terraformDestroyArgs(dir: string): string[] {
  return [`-chdir=${dir}`, 'destroy', '-input=false', '-auto-approve'];
}

/**
 * `cdktf destroy` has no --skip-synth: it always runs the app first, which would synthesize this stack again
 * with its protection on (the config still says so), and then deletes every stack folder its manifest does
 * not list. A no-op app (`node -e 0`) makes it take the folder and manifest the teardown prepared as they are.
 */
export function cdktfDestroyArgs(stack: string, outDir: string): string[] {
  // --skip-provider-lock: the teardown's own `terraform init` already installed and locked the providers; cdktf's
  // extra `terraform providers lock` would ask the registry again and fail where providers come from a mirror.
  return ['destroy', stack, '--app', 'node -e 0', '--output', outDir, '--auto-approve', '--skip-provider-lock'];
}

/** Filesystem-safe UTC time, sortable: 20250131T235959Z. */
export function backupFileName(stack: string, now: Date): string {
  return `${stack}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}.kfv`;
}
