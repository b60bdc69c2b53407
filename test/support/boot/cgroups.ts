/**
 * The cgroups a booted node lives in. This host has no systemd, so the harness makes them itself, on both the
 * unified hierarchy (where cgroup.kill works) and the v1 name=systemd one (which nspawn on a hybrid host also
 * wants). One tree per node, named after the node and the owning process, so everything of a node can be
 * killed with one write, also by a later run when this process was killed first:
 *
 *   kmip-boot-<name>-<pid>/          the node
 *     machine/                       systemd-nspawn and the container (made afresh at each boot)
 *     relay/                         the relay inside the node's network namespace (lives across reboots)
 *
 * A watchdog outside the tree holds a pipe from the test process: when that process dies (a CI timeout,
 * a killed vitest worker), the pipe closes and the watchdog kills the whole tree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_ROOTS = Object.freeze(['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd']);
export const UNIFIED = CGROUP_ROOTS[0]!;
export const CGROUP_PREFIX = 'kmip-boot-';

/**
 * A launcher that moves itself into the cgroups given by their cgroup.procs files, then execs the rest: the
 * process (and all it starts) is in them before it runs, so no moment exists where it is outside.
 * Usage: sh -c ENTER_CGROUPS name COUNT PROCS… COMMAND ARGS…
 */
export const ENTER_CGROUPS = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"';

export function enterArgs(procsFiles: readonly string[], command: readonly string[]): string[] {
  return ['-c', ENTER_CGROUPS, 'kmip-boot-enter', String(procsFiles.length), ...procsFiles, ...command];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills every process in a unified-hierarchy cgroup and its descendants (a no-op when it is gone or empty). */
export function killCgroup(unifiedDir: string): void {
  try {
    if (existsSync(join(unifiedDir, 'cgroup.kill'))) writeFileSync(join(unifiedDir, 'cgroup.kill'), '1');
  } catch {
    // gone meanwhile
  }
}

function procsOf(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Removes a cgroup and its children, deepest first. A cgroup only goes once its processes are reaped, which
 * takes a moment after a kill: it retries (killing what it finds) for a few seconds, then throws naming the
 * cgroup that stayed and what is still in it, since a node left running is a leak the test must not hide.
 */
export async function removeCgroupTree(dir: string, timeoutMs = 5_000): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const sub = join(dir, entry);
    let isDir = false;
    try {
      isDir = statSync(sub).isDirectory();
    } catch {
      // vanished meanwhile
    }
    if (isDir) await removeCgroupTree(sub, timeoutMs);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      const left = procsOf(dir);
      if (Date.now() > deadline) throw new Error(`cgroup ${dir} could not be removed (${(err as Error).message}); processes still in it: ${left.join(' ') || 'none'}`);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      await sleep(100);
    }
  }
}

/**
 * Starts the watchdog of a node's cgroup tree. It reads its stdin, a pipe only this process holds (unref'd,
 * so it never keeps the process alive), and ignores the signals a CI runner sends a process group; when the
 * read ends, because release() closed the pipe or because this process died, it kills the tree. Its own
 * process group, so a signal to the test's group cannot take it down before it does its job.
 */
export function startWatchdog(unifiedDir: string): { readonly child: ChildProcess; release(): Promise<void> } {
  const child = spawn('sh', ['-c', 'trap "" HUP INT TERM; read _; echo 1 > "$1/cgroup.kill"', 'kmip-boot-watchdog', unifiedDir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    release: async () => {
      child.stdin!.end();
      await Promise.race([exited, sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
