/**
 * Removes what an earlier test process left behind when it was killed before its clean-up ran (a CI timeout, a
 * killed vitest worker). Every name the harness gives carries the pid of the process that owns it; whatever
 * belongs to a pid that is gone is stale: the node's cgroup tree (nspawn, the container and the inside relay,
 * killed with one write), a relay that somehow ran outside it, the network namespace, the overlay mount, the
 * node folder, the folder a stack was synthesized into (it holds the stack's TLS keys) and the stack's private
 * PostgreSQL cluster.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CGROUP_PREFIX, CGROUP_ROOTS, killCgroup, removeCgroupTree, UNIFIED } from './cgroups.js';
import { alive, isMountPoint, mountsUnder, sh } from './host.js';

/** `/tmp/kmip-boot-<name>-<pid>`: a node's folder (overlay layers, sockets, console). */
export const NODE_DIR_PREFIX = '/tmp/kmip-boot-';
/** `<tmpdir>/kmip-boot-synth-<pid>-XXXXXX`: a boot stack's synthesized stacks and PKI. */
export const SYNTH_PREFIX = 'kmip-boot-synth-';
export const NETNS_PREFIX = 'kmipboot-';
/** `kmipboot_<pid>_<hex>`: a boot stack's private PostgreSQL cluster (Debian's cluster names take no dashes). */
export const PG_CLUSTER_PREFIX = 'kmipboot_';

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** Processes whose command line names a path under `dir` (a relay of that node, wherever it runs). */
function processesNaming(dir: string): number[] {
  const found: number[] = [];
  for (const entry of list('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes(`${dir}/`))) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

export async function sweepStaleBoots(log: (line: string) => void = () => undefined): Promise<void> {
  const staleId = (name: string, prefix: string) => {
    if (!name.startsWith(prefix) || name.startsWith(SYNTH_PREFIX)) return undefined;
    const m = /^(.+-(\d+))$/.exec(name.slice(prefix.length));
    return m && !alive(Number(m[2])) ? m[1]! : undefined;
  };
  const stale = new Set<string>();
  const collect = (names: readonly string[], prefix: string) => {
    for (const n of names) {
      const id = staleId(n, prefix);
      if (id) stale.add(id);
    }
  };
  collect(list('/tmp'), 'kmip-boot-');
  collect(list('/run/netns'), NETNS_PREFIX);
  for (const root of CGROUP_ROOTS) collect(list(root), CGROUP_PREFIX);

  const problems: string[] = [];
  for (const id of stale) {
    const dir = `${NODE_DIR_PREFIX}${id}`;
    killCgroup(join(UNIFIED, `${CGROUP_PREFIX}${id}`));
    for (const pid of processesNaming(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    for (const root of CGROUP_ROOTS) await removeCgroupTree(join(root, `${CGROUP_PREFIX}${id}`)).catch((e: Error) => problems.push(e.message));
    if (existsSync(`/run/netns/${NETNS_PREFIX}${id}`)) await sh('ip', ['netns', 'del', `${NETNS_PREFIX}${id}`]);
    for (const m of mountsUnder(dir)) await sh('umount', ['-l', m]);
    if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
    else problems.push(`${dir} is still mounted`);
  }
  for (const name of list(tmpdir())) {
    const pid = name.startsWith(SYNTH_PREFIX) ? /^(\d+)-/.exec(name.slice(SYNTH_PREFIX.length))?.[1] : undefined;
    if (pid && !alive(Number(pid)) && !isMountPoint(join(tmpdir(), name))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  for (const version of list('/etc/postgresql')) {
    for (const name of list(join('/etc/postgresql', version))) {
      const pid = name.startsWith(PG_CLUSTER_PREFIX) ? /^(\d+)_/.exec(name.slice(PG_CLUSTER_PREFIX.length))?.[1] : undefined;
      if (!pid || alive(Number(pid))) continue;
      const r = await sh('pg_dropcluster', ['--stop', version, name], 60_000);
      if (r.code === 0) rmSync(join('/etc/postgresql', version, name), { recursive: true, force: true });
      else problems.push(`PostgreSQL cluster ${version}/${name}: ${r.stderr.trim()}`);
    }
  }
  if (stale.size > 0) log(`swept ${stale.size} stale node(s) of earlier runs: ${[...stale].join(', ')}`);
  // Reported, not thrown: a leftover that cannot be removed must not stop every later run; the next sweep retries.
  for (const p of problems) log(`sweep: ${p}`);
}
