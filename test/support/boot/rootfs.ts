/**
 * The root filesystem a booted node starts from: Debian 13 (trixie) minbase with systemd, D-Bus and cloud-init
 * (what an IBM stock Debian image brings), and deliberately without Node.js, so the user data's own package
 * step is exercised. Built once with debootstrap from Debian's archive and kept in a cache folder outside git,
 * keyed on the suite, the package list and the month (security updates flow in at least monthly). A run never
 * writes to it: each boot mounts it as the lower layer of an overlay with a fresh upper layer (boot-node.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../process.js';
import { mountsUnder, referencedByMount } from './host.js';

export const SUITE = 'trixie';
export const MIRROR = 'http://deb.debian.org/debian';
/** Beyond minbase: what boots a cloud image. iproute2 for the harness's own look inside; sudo for cloud-init's default user. */
export const PACKAGES = Object.freeze(['systemd-sysv', 'dbus', 'cloud-init', 'sudo', 'iproute2']);
/** Installed by debootstrap itself; the rest by apt inside (debootstrap's resolver misses virtual packages that cloud-init's Python needs). */
const BOOTSTRAP_PACKAGES = ['systemd-sysv', 'dbus'];
/** Debian's kernel-independent name for the archive's host architecture (this machine is amd64). */
const ARCH = 'amd64';

/** The cache folder: KMIP_BOOT_CACHE when set (CI keeps one outside the clone), else `.cache/boot` in the project. */
export function bootCacheDir(): string {
  return process.env['KMIP_BOOT_CACHE'] ?? join(ROOT, '.cache', 'boot');
}

export function rootfsKey(now = new Date()): string {
  const month = now.toISOString().slice(0, 7);
  const hash = createHash('sha256').update(JSON.stringify({ SUITE, MIRROR, PACKAGES, ARCH })).digest('hex').slice(0, 12);
  return `${SUITE}-minbase-${hash}-${month}`;
}

function run(cmd: string, args: readonly string[], timeoutMs: number): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { status?: number | null; signal?: string | null; stderr?: Buffer; stdout?: Buffer };
    const tail = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${e.status ?? e.signal}):\n${tail}`);
  }
}

/**
 * Runs a command in a process group of its own without blocking the event loop (a hook's timeout must be able
 * to fire). At the timeout the whole group goes: flock and the build it runs, debootstrap and apt under that.
 * SIGTERM first, so debootstrap can unmount what it mounted in the tree, then SIGKILL.
 */
function runGroup(cmd: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (c: Buffer) => (tail = (tail + c.toString()).slice(-8000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), 10_000);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // flock dies at the SIGTERM and leaves its child running: the pending SIGKILL still reaches the group
      // after the grace. After a failure, whatever of the group outlived its leader goes at once.
      if (!timedOut && code !== 0) signalGroup('SIGKILL');
      if (code === 0 && !timedOut) return resolve();
      const why = timedOut ? `timed out after ${(timeoutMs / 1000).toFixed(0)} s` : `exit ${code ?? signal}`;
      reject(new Error(`${cmd} ${args.join(' ')} failed (${why}):\n${tail.trim().split('\n').slice(-15).join('\n')}`));
    });
  });
}

/**
 * The cached root filesystem for this month, built when missing. Builders serialize on a lock file (flock),
 * build into a temporary folder and rename it into place, so a half-built tree is never used. Older keys are
 * removed once a new one exists. Waiting for the lock and building together get at most `timeoutMs`.
 */
export async function ensureRootfs(log: (line: string) => void = () => undefined, timeoutMs = 900_000): Promise<string> {
  const cache = bootCacheDir();
  mkdirSync(cache, { recursive: true });
  const key = rootfsKey();
  const dir = join(cache, key);
  if (existsSync(join(dir, 'etc', 'os-release'))) return dir;
  // flock(1) holds the lock for the child it runs: this same module's build step, run by tsx.
  const started = Date.now();
  const lockWait = String(Math.max(1, Math.floor(timeoutMs / 1000)));
  await runGroup('flock', ['--timeout', lockWait, join(cache, '.lock'), process.execPath, '--import', 'tsx', join(ROOT, 'test', 'support', 'boot', 'build-rootfs.ts'), cache, key], timeoutMs);
  if (!existsSync(join(dir, 'etc', 'os-release'))) throw new Error(`building the root filesystem ${dir} left nothing behind`);
  log(`built root filesystem ${key} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

/**
 * Removes a tree the harness made, after unmounting whatever is mounted below it (a build killed inside
 * debootstrap leaves its /proc and /sys mounted in the tree; removing through those would reach the host's).
 * Refuses when a mount stays.
 */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const m of mountsUnder(dir)) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'ignore', timeout: 30_000 });
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`not removing ${dir}: still mounted at ${left.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Runs under the lock (build-rootfs.ts): builds `<cache>/<key>` unless another builder just did. */
export function buildRootfsLocked(cache: string, key: string): void {
  const dir = join(cache, key);
  if (existsSync(join(dir, 'etc', 'os-release'))) return;
  const tmp = join(cache, `.${key}.building`);
  removeTree(tmp);
  run('debootstrap', ['--variant=minbase', `--arch=${ARCH}`, `--include=${BOOTSTRAP_PACKAGES.join(',')}`, SUITE, tmp, MIRROR], 900_000);
  // apt inside needs name resolution for the mirror; the node gets its own resolv.conf at boot.
  copyFileSync('/etc/resolv.conf', join(tmp, 'etc', 'resolv.conf'));
  const rest = PACKAGES.filter((p) => !BOOTSTRAP_PACKAGES.includes(p));
  run('chroot', [tmp, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...rest], 900_000);
  rmSync(join(tmp, 'etc', 'resolv.conf'), { force: true });
  // Nothing of the build's apt state: the node's first boot runs apt-get update itself.
  rmSync(join(tmp, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  mkdirSync(join(tmp, 'var', 'cache', 'apt', 'archives', 'partial'), { recursive: true });
  for (const f of readdirSync(join(tmp, 'var', 'lib', 'apt', 'lists'))) {
    if (f.includes('_dists_')) rmSync(join(tmp, 'var', 'lib', 'apt', 'lists', f), { force: true });
  }
  // An empty machine-id: systemd makes a new one at each first boot, as on a new instance.
  writeFileSync(join(tmp, 'etc', 'machine-id'), '');
  renameSync(tmp, dir);
  // An older tree may still be the lower layer of a node that another run (CI on this machine) has booted:
  // it stays until no mount references it, and a later build removes it.
  for (const old of readdirSync(cache)) {
    if (old === key || old.startsWith('.') || !old.startsWith(`${SUITE}-minbase-`)) continue;
    if (referencedByMount(join(cache, old))) continue;
    try {
      removeTree(join(cache, old));
    } catch (err) {
      process.stderr.write(`rootfs: ${(err as Error).message}; a later build tries again\n`);
    }
  }
}
