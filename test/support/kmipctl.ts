/** Runs the built kmipctl as a real process against a test server's admin port. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { noteOutput } from './secrets-ledger.js';

export const KMIPCTL = fileURLToPath(new URL('../../dist/server/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (the last line when there are several). */
  readonly json: any;
}

export function kmipctl(target: { adminPort: number; tokenFile: string }, ...args: string[]): Promise<CliResult> {
  return runKmipctl(['--admin-url', `http://127.0.0.1:${target.adminPort}`, '--token-file', target.tokenFile, ...args]);
}

/** The built kmipctl with exactly these arguments (commands that need no management API, such as vcenter ones). */
export function runKmipctl(argv: readonly string[]): Promise<CliResult> {
  const args = argv;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [KMIPCTL, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        let json: unknown;
        try {
          json = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
        } catch {
          json = undefined;
        }
        noteOutput(`kmipctl ${args.filter((a) => !a.startsWith('/')).join(' ')}`, `${stdout}${stderr}`);
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr, json });
      },
    );
  });
}
