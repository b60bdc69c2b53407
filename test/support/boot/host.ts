/** Small host-side helpers of the boot harness: commands with a bounded run time, mounts, processes. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ExecResult {
  /** The exit code; null when the command was killed (a timeout) or could not start. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command, never rejecting: a failure is in `code` and `stderr`. */
export function sh(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      const why = err && code === null ? `${err.message}\n` : '';
      resolve({ code, stdout: String(stdout), stderr: `${why}${String(stderr)}` });
    });
  });
}

export async function must(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await sh(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** /proc/self/mounts as [source, mount point, options], with the kernel's octal escapes (\040 for a space) undone. */
export function mounts(): Array<{ source: string; target: string; options: string }> {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [source = '', target = '', , options = ''] = l.split(' ');
      return { source: unescape(source), target: unescape(target), options: unescape(options) };
    });
}

export function isMountPoint(path: string): boolean {
  return mounts().some((m) => m.target === path);
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  return mounts()
    .map((m) => m.target)
    .filter((t) => t === dir || t.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Whether any mount names `dir` or a path below it as a layer or source (an overlay's lowerdir=, a bind mount). */
export function referencedByMount(dir: string): boolean {
  const names = (text: string) => text.split(/[,:=]/).some((p) => p === dir || p.startsWith(`${dir}/`));
  return mounts().some((m) => names(m.source) || names(m.target) || names(m.options));
}
