/**
 * Boots a KMIP node for real: the cached Debian 13 root filesystem (rootfs.ts) as the lower layer of an
 * overlay, a NoCloud seed carrying the node's user data, systemd as PID 1 under systemd-nspawn, and cloud-init
 * doing what it does on a new instance. The node gets a network namespace of its own holding only loopback,
 * with its VPC address and the metadata service's link-local address on it; relays (relay.ts) carry the few
 * connections it needs to the host's fakes and back, through Unix sockets. The only way out is apt's proxy
 * (apt-proxy.ts), to Debian's archive.
 *
 * This host has no systemd and no D-Bus: nspawn runs with --register=no --keep-unit inside cgroups the harness
 * creates, with the unified hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1). dispose() always powers the node
 * off, kills whatever is left by cgroup, and removes the cgroups, the namespace, the mount and the folder.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../process.js';
import { startRelays, type RelayRule, type Relays } from './relay.js';

export const METADATA_LINK_LOCAL = '169.254.169.254';
const CGROUP_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd'];

/** A host service the node reaches at the same port on its own loopback (or at `address`). */
export interface NodeService {
  readonly port: number;
  /** Where the node dials it. @default 127.0.0.1 (same port) */
  readonly address?: { readonly host: string; readonly port: number };
}

export interface BootOptions {
  /** Short name, unique among nodes booted at once (machine name, netns and cgroup names derive from it). */
  readonly name: string;
  readonly hostname: string;
  /** The node's VPC address: put on its loopback, where the server's admin port binds. */
  readonly nodeIp: string;
  readonly userData: string;
  readonly rootfs: string;
  readonly services: readonly NodeService[];
  /** apt's proxy on the host (apt-proxy.ts). */
  readonly aptProxyPort: number;
  /** Ports inside the node that the host may dial (each gets a host port on 127.0.0.1): e.g. 5696 and IP:9696. */
  readonly exposed: ReadonlyArray<{ readonly host: string; readonly port: number }>;
}

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface UnitState {
  readonly ActiveState: string;
  readonly SubState: string;
  readonly Result: string;
  readonly NRestarts: string;
  readonly ExecMainStatus: string;
}

function sh(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function must(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await sh(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a node cannot boot on this machine (undefined when it can). */
export function bootUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'booting a node needs root';
  for (const tool of ['/usr/bin/systemd-nspawn', '/usr/sbin/debootstrap', '/usr/bin/nsenter', '/usr/bin/flock']) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install systemd-container debootstrap)`;
  }
  if (!existsSync('/sbin/ip') && !existsSync('/usr/sbin/ip') && !existsSync('/usr/bin/ip')) return 'ip (iproute2) is missing';
  for (const root of CGROUP_ROOTS) if (!existsSync(join(root, 'cgroup.procs'))) return `${root} is not a mounted cgroup hierarchy`;
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'the kernel has no overlay file system';
  return undefined;
}

export class BootedNode {
  private nspawn: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private relayInside: ChildProcess | undefined;
  private relaysHost: Relays | undefined;
  private initPid = 0;
  private boots = 0;
  /** Host ports for `exposed`, in order. */
  hostPorts: number[] = [];
  readonly dir: string;
  private readonly merged: string;
  private readonly netns: string;
  private readonly cgroup: string;

  private constructor(readonly options: BootOptions) {
    const id = `${options.name}-${process.pid}`;
    this.dir = join('/tmp', `kmip-boot-${id}`);
    this.merged = join(this.dir, 'root');
    this.netns = `kmipboot-${id}`;
    this.cgroup = `kmip-boot-${id}`;
  }

  /** Prepares the overlay, the seed, the namespace and the relays, then boots. */
  static async boot(options: BootOptions): Promise<BootedNode> {
    const node = new BootedNode(options);
    try {
      await node.prepare();
      await node.start();
    } catch (err) {
      await node.dispose();
      throw err;
    }
    return node;
  }

  /** The console of every boot so far (cloud-init's and systemd's output). */
  console(): string {
    return existsSync(join(this.dir, 'console.log')) ? readFileSync(join(this.dir, 'console.log'), 'utf8') : '';
  }

  private sock(name: string): string {
    return join(this.dir, `${name}.sock`);
  }

  private async prepare(): Promise<void> {
    const o = this.options;
    rmSync(this.dir, { recursive: true, force: true });
    for (const d of ['upper', 'work', 'root']) mkdirSync(join(this.dir, d), { recursive: true });
    await must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${o.rootfs},upperdir=${join(this.dir, 'upper')},workdir=${join(this.dir, 'work')}`, this.merged]);
    const put = (path: string, content: string, mode = 0o644) => {
      mkdirSync(join(this.merged, path, '..'), { recursive: true });
      writeFileSync(join(this.merged, path), content, { mode });
    };
    // The NoCloud seed, and the harness's own cloud-init and apt settings (not part of the user data).
    put('/var/lib/cloud/seed/nocloud/user-data', o.userData, 0o600);
    put('/var/lib/cloud/seed/nocloud/meta-data', `instance-id: boot-test-${o.name}\nlocal-hostname: ${o.hostname}\n`, 0o600);
    put('/etc/cloud/cloud.cfg.d/90-boot-test.cfg', 'datasource_list: [NoCloud, None]\nnetwork: {config: disabled}\n');
    put('/etc/apt/apt.conf.d/90boot-test-proxy', `Acquire::http::Proxy "http://127.0.0.1:${o.aptProxyPort}";\nAcquire::https::Proxy "http://127.0.0.1:${o.aptProxyPort}";\n`);

    // The node's network: loopback only, with its VPC address and the metadata service's address on it.
    await must('ip', ['netns', 'add', this.netns]);
    await must('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
    for (const a of [o.nodeIp, METADATA_LINK_LOCAL]) await must('ip', ['-n', this.netns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);

    // Inside: each service at its address → a Unix socket; each exposed port ← a Unix socket.
    const inside: RelayRule[] = [
      ...o.services.map((s, i) => ({ listen: `tcp:${s.address?.host ?? '127.0.0.1'}:${s.address?.port ?? s.port}` as const, connect: `unix:${this.sock(`svc${i}`)}` as const })),
      { listen: `tcp:127.0.0.1:${o.aptProxyPort}`, connect: `unix:${this.sock('apt')}` },
      ...o.exposed.map((e, i) => ({ listen: `unix:${this.sock(`exp${i}`)}` as const, connect: `tcp:${e.host}:${e.port}` as const })),
    ];
    const host: RelayRule[] = [
      ...o.services.map((s, i) => ({ listen: `unix:${this.sock(`svc${i}`)}` as const, connect: `tcp:127.0.0.1:${s.port}` as const })),
      { listen: `unix:${this.sock('apt')}`, connect: `tcp:127.0.0.1:${o.aptProxyPort}` },
      ...o.exposed.map((_e, i) => ({ listen: 'tcp:127.0.0.1:0' as const, connect: `unix:${this.sock(`exp${i}`)}` as const })),
    ];
    this.relaysHost = await startRelays(host);
    this.hostPorts = this.relaysHost.ports.slice(host.length - o.exposed.length);
    this.relayInside = spawn('ip', ['netns', 'exec', this.netns, process.execPath, '--import', 'tsx', join(ROOT, 'test', 'support', 'boot', 'relay.ts'), JSON.stringify(inside)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`the relay inside ${this.netns} did not start: ${err}`)), 30_000);
      this.relayInside!.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      this.relayInside!.stdout!.on('data', (c: Buffer) => {
        if (c.toString().includes('relaying')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.relayInside!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the relay inside ${this.netns} exited (${code}): ${err}`));
      });
    });
  }

  /** Boots the node (again, after powerOff(): the same disk, a second boot of the same instance). */
  async start(): Promise<void> {
    this.boots++;
    // Fresh cgroups each boot: systemd must not find the previous boot's (killed) unit cgroups under it.
    for (const root of CGROUP_ROOTS) mkdirSync(join(root, this.cgroup), { recursive: true });
    const out = createWriteStream(join(this.dir, 'console.log'), { flags: 'a' });
    out.write(`\n===== boot ${this.boots} =====\n`);
    // The launcher moves itself into the node's cgroups first: nspawn (--keep-unit) then delegates below them.
    const procs = CGROUP_ROOTS.map((r) => join(r, this.cgroup, 'cgroup.procs'));
    const script = 'echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec "$@"';
    const child = spawn(
      'sh',
      [
        '-c',
        script,
        'boot',
        ...procs,
        'systemd-nspawn',
        '--quiet',
        '--register=no',
        '--keep-unit',
        `--machine=kmip-${this.options.name}`,
        `--directory=${this.merged}`,
        `--network-namespace-path=/run/netns/${this.netns}`,
        '--link-journal=no',
        '--resolv-conf=off',
        '--timezone=off',
        '--console=read-only',
        '--boot',
      ],
      { env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    this.nspawn = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.initPid = await this.findInit(child.pid!);
  }

  /** The container's PID 1 (systemd), as the host sees it: a child of nspawn whose innermost PID is 1. */
  private async findInit(nspawnPid: number): Promise<number> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.nspawn?.exitCode !== null && this.nspawn?.exitCode !== undefined) throw new Error(`systemd-nspawn exited (${this.nspawn.exitCode}):\n${this.console().slice(-3000)}`);
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        let status: string;
        try {
          status = readFileSync(`/proc/${entry}/status`, 'utf8');
        } catch {
          continue;
        }
        const ppid = /^PPid:\s+(\d+)$/m.exec(status)?.[1];
        const nspid = /^NSpid:\s+([\d\s]+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
        if (Number(ppid) === nspawnPid && nspid && nspid.length > 1 && nspid.at(-1) === '1') return Number(entry);
      }
      await sleep(100);
    }
    throw new Error('the node did not start its init within 30 s');
  }

  /** Runs a command inside the node (all its namespaces). */
  exec(args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
    return sh('nsenter', ['-t', String(this.initPid), '-a', '--', ...args], timeoutMs);
  }

  async unit(name: string): Promise<UnitState> {
    const r = await this.exec(['systemctl', 'show', name, '-p', 'ActiveState,SubState,Result,NRestarts,ExecMainStatus']);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) as unknown as UnitState;
  }

  /** The journal of this boot, of one unit or all. */
  async journal(unit?: string): Promise<string> {
    const r = await this.exec(['journalctl', '-b', '--no-pager', '-o', 'short-monotonic', ...(unit ? ['-u', unit] : [])]);
    return r.stdout;
  }

  /** Waits until `check` holds, polling; fails with what `describe` says of the node's state. */
  async waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, describe?: () => Promise<string>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check().catch(() => undefined);
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) {
        const detail = describe ? await describe().catch((e: Error) => e.message) : '';
        throw new Error(`${this.options.name}: ${what} not reached within ${timeoutMs / 1000} s\n${detail}\n--- console (tail) ---\n${this.console().slice(-4000)}`);
      }
      if (this.nspawn?.exitCode !== null) throw new Error(`${this.options.name}: the node stopped while waiting for ${what}\n${this.console().slice(-4000)}`);
      await sleep(250);
    }
  }

  /** Powers the node off (systemd's poweroff), then kills whatever is left; the disk stays for start(). */
  async powerOff(timeoutMs = 30_000): Promise<void> {
    const child = this.nspawn;
    if (!child || !this.exited) return;
    if (child.exitCode === null) {
      // SIGRTMIN+4 asks systemd for poweroff.target; nspawn exits when the container's init does.
      if (this.initPid > 0) await sh('kill', ['-s', 'RTMIN+4', String(this.initPid)]);
      const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!done) this.killCgroup();
      await Promise.race([this.exited, sleep(5_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    this.killCgroup();
    for (const root of CGROUP_ROOTS) removeCgroupTree(join(root, this.cgroup));
    this.nspawn = undefined;
    this.initPid = 0;
  }

  private killCgroup(): void {
    const unified = join(CGROUP_ROOTS[0]!, this.cgroup);
    try {
      if (existsSync(join(unified, 'cgroup.kill'))) writeFileSync(join(unified, 'cgroup.kill'), '1');
    } catch {
      // already empty or gone
    }
  }

  /** Always safe to call, also after a failed boot: powers off and removes every trace. */
  async dispose(): Promise<void> {
    await this.powerOff().catch(() => undefined);
    for (const root of CGROUP_ROOTS) removeCgroupTree(join(root, this.cgroup));
    this.relayInside?.kill('SIGTERM');
    await this.relaysHost?.close().catch(() => undefined);
    if (existsSync(`/run/netns/${this.netns}`)) await sh('ip', ['netns', 'del', this.netns]);
    if (existsSync(this.merged)) {
      await sh('umount', [this.merged]);
      if (isMountPoint(this.merged)) await sh('umount', ['-l', this.merged]);
    }
    if (!isMountPoint(this.merged)) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Removes what an earlier test process left behind when it was killed before its clean-up ran (a CI timeout):
 * every node folder, namespace and cgroup whose owning process (the pid in its name) is gone.
 */
export async function sweepStaleBoots(): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stale = new Set<string>();
  const collect = (names: readonly string[], prefix: string) => {
    for (const n of names) {
      const m = new RegExp(`^${prefix}(.+-(\\d+))$`).exec(n);
      if (m && !alive(Number(m[2]))) stale.add(m[1]!);
    }
  };
  collect(existsSync('/tmp') ? readdirSync('/tmp') : [], 'kmip-boot-');
  collect(existsSync('/run/netns') ? readdirSync('/run/netns') : [], 'kmipboot-');
  for (const root of CGROUP_ROOTS) collect(existsSync(root) ? readdirSync(root) : [], 'kmip-boot-');
  for (const id of stale) {
    const unified = join(CGROUP_ROOTS[0]!, `kmip-boot-${id}`);
    try {
      if (existsSync(join(unified, 'cgroup.kill'))) writeFileSync(join(unified, 'cgroup.kill'), '1');
    } catch {
      // empty already
    }
    for (const root of CGROUP_ROOTS) removeCgroupTree(join(root, `kmip-boot-${id}`));
    if (existsSync(`/run/netns/kmipboot-${id}`)) await sh('ip', ['netns', 'del', `kmipboot-${id}`]);
    const merged = join('/tmp', `kmip-boot-${id}`, 'root');
    if (isMountPoint(merged)) await sh('umount', ['-l', merged]);
    if (!isMountPoint(merged)) rmSync(join('/tmp', `kmip-boot-${id}`), { recursive: true, force: true });
  }
}

function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
}

/** Removes a cgroup and its children, deepest first (each must be empty of processes). */
function removeCgroupTree(dir: string, attempts = 20): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const sub = join(dir, entry);
    try {
      if (statSync(sub).isDirectory()) removeCgroupTree(sub, attempts);
    } catch {
      // vanished meanwhile
    }
  }
  for (let i = 0; i < attempts; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch {
      const procs = join(dir, 'cgroup.procs');
      try {
        for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // nothing left to kill
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}
