/**
 * The root filesystem a booted node starts from: Debian 13 (trixie) minbase with systemd, D-Bus and cloud-init
 * (what an IBM stock Debian image brings), and deliberately without Node.js, so the user data's own package
 * step is exercised. Built once with debootstrap from Debian's archive and kept in a cache folder outside git,
 * keyed on the suite, the package list and the month (security updates flow in at least monthly). A run never
 * writes to it: each boot mounts it as the lower layer of an overlay with a fresh upper layer (boot-node.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../process.js';

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
 * The cached root filesystem for this month, built when missing. Builders serialize on a lock file (flock),
 * build into a temporary folder and rename it into place, so a half-built tree is never used. Older keys are
 * removed once a new one exists.
 */
export function ensureRootfs(log: (line: string) => void = () => undefined): string {
  const cache = bootCacheDir();
  mkdirSync(cache, { recursive: true });
  const key = rootfsKey();
  const dir = join(cache, key);
  if (existsSync(join(dir, 'etc', 'os-release'))) return dir;
  // flock(1) holds the lock for the child it runs: this same module's build step, run by tsx.
  const started = Date.now();
  run('flock', ['--timeout', '900', join(cache, '.lock'), process.execPath, '--import', 'tsx', join(ROOT, 'test', 'support', 'boot', 'build-rootfs.ts'), cache, key], 1_000_000);
  if (!existsSync(join(dir, 'etc', 'os-release'))) throw new Error(`building the root filesystem ${dir} left nothing behind`);
  log(`built root filesystem ${key} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

/** Runs under the lock (build-rootfs.ts): builds `<cache>/<key>` unless another builder just did. */
export function buildRootfsLocked(cache: string, key: string): void {
  const dir = join(cache, key);
  if (existsSync(join(dir, 'etc', 'os-release'))) return;
  const tmp = join(cache, `.${key}.building`);
  rmSync(tmp, { recursive: true, force: true });
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
  for (const old of readdirSync(cache)) {
    if (old !== key && !old.startsWith('.') && old.startsWith(`${SUITE}-minbase-`)) rmSync(join(cache, old), { recursive: true, force: true });
  }
}
