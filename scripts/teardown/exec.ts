/**
 * Running the tools the teardown drives (kmipctl, terraform, cdktf) as child processes, and finding them.
 * Nothing is run through a shell: arguments are passed as they are, so a path with a space or a `;` is a
 * path, not a command.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export interface Invocation {
  /** Executable and the arguments before the command's own (e.g. [node, kmipctl.js]). */
  readonly argv0: readonly string[];
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs to completion. `capture` keeps stdout/stderr (kmipctl's JSON); otherwise they go straight to ours, so
 * the operator watches Terraform's plan as it happens. stdin is closed: nothing may wait for an answer.
 * A process that cannot be started, or dies by a signal, counts as exit code 1 (a failure, never success).
 */
export function execute(inv: Invocation, capture: boolean): Promise<Outcome> {
  const [command, ...pre] = inv.argv0;
  return new Promise((resolve) => {
    const child = spawn(command!, [...pre, ...inv.args], { stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'], env: inv.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', (err) => resolve({ code: 1, stdout, stderr: `${stderr}cannot run ${command}: ${err.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? 1, stdout, stderr: signal ? `${stderr}${command} was killed by ${signal}\n` : stderr }));
  });
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH (like `command -v`), or undefined. */
export function which(name: string, path: string | undefined): string | undefined {
  // A path (absolute or relative) names the file itself; only a bare name is looked up on PATH.
  if (isAbsolute(name) || name.includes('/')) return isExecutable(resolve(name)) ? resolve(name) : undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** kmipctl --json prints progress lines first and its result last: the last line, parsed, or undefined. */
export function lastJson(stdout: string): unknown {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return undefined;
  }
}
