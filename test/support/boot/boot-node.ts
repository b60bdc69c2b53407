/**
 * Boots a KMIP node for real: the cached Debian 13 root filesystem (rootfs.ts) as the lower layer of an
 * overlay, a NoCloud seed carrying the node's user data, systemd as PID 1 under systemd-nspawn, and cloud-init
 * doing what it does on a new instance. The node gets a network namespace of its own holding only loopback,
 * with its VPC address and the metadata service's link-local address on it; relays (relay.ts) carry the few
 * connections it needs to the host's fakes and back, through Unix sockets. The only way out is apt's proxy
 * (apt-proxy.ts), to Debian's archive.
 *
 * This host has no systemd and no D-Bus: nspawn runs with --register=no --keep-unit inside cgroups the harness
 * creates (cgroups.ts), with the unified hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1). dispose() always powers
 * the node off, kills whatever is left by cgroup, and removes the cgroups, the namespace, the mount and the
 * folder; if this process dies first, the cgroups' watchdog kills the node and the next run sweeps the rest.
 */
import { noteOutput } from '../secrets-ledger.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../process.js';
import { CGROUP_PREFIX, CGROUP_ROOTS, enterArgs, killCgroup, removeCgroupTree, startWatchdog, UNIFIED } from './cgroups.js';
import { isMountPoint, must, sh, sleep, type ExecResult } from './host.js';
import { startRelays, type RelayRule, type Relays } from './relay.js';
import { NETNS_PREFIX, NODE_DIR_PREFIX } from './sweep.js';

export type { ExecResult } from './host.js';
export const METADATA_LINK_LOCAL = '169.254.169.254';
/** What commands run inside the node get as their whole environment: nothing of the test process's. */
const NODE_PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

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

export interface UnitState {
  readonly ActiveState: string;
  readonly SubState: string;
  readonly Result: string;
  readonly NRestarts: string;
  readonly MainPID: string;
  readonly ExecMainStatus: string;
}

/** Whether a child has ended, by exit code or by signal (a killed child has a signalCode and no exitCode). */
const ended = (c: ChildProcess | undefined) => !c || c.exitCode !== null || c.signalCode !== null;

/** Whether `pid` is the container's init as the host sees it: a child of nspawn whose innermost PID is 1. */
function isInitOf(pid: number, nspawnPid: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const ppid = /^PPid:\s+(\d+)$/m.exec(status)?.[1];
  const nspid = /^NSpid:\s+([\d\s]+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  return Number(ppid) === nspawnPid && !!nspid && nspid.length > 1 && nspid.at(-1) === '1';
}

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
  private exited: Promise<void> | undefined;
  private consoleClosed: Promise<void> | undefined;
  private relayInside: ChildProcess | undefined;
  private relaysHost: Relays | undefined;
  private watchdog: ReturnType<typeof startWatchdog> | undefined;
  private initPid = 0;
  private boots = 0;
  /** Host ports for `exposed`, in order. */
  hostPorts: number[] = [];
  readonly dir: string;
  private readonly merged: string;
  private readonly netns: string;
  /** The node's cgroup tree, relative to each hierarchy's root (cgroups.ts). */
  private readonly cgroup: string;

  private constructor(readonly options: BootOptions) {
    const id = `${options.name}-${process.pid}`;
    this.dir = `${NODE_DIR_PREFIX}${id}`;
    this.merged = join(this.dir, 'root');
    this.netns = `${NETNS_PREFIX}${id}`;
    this.cgroup = `${CGROUP_PREFIX}${id}`;
  }

  /** Prepares the overlay, the seed, the namespace and the relays, then boots; on a failure removes all it made. */
  static async boot(options: BootOptions): Promise<BootedNode> {
    const node = new BootedNode(options);
    try {
      await node.prepare();
      await node.start();
    } catch (err) {
      const cleanup = await node.dispose().then(
        () => '',
        (e: Error) => `\n(and its clean-up failed: ${e.message})`,
      );
      throw new Error(`${options.name}: boot failed: ${(err as Error).message}${cleanup}`, { cause: err });
    }
    return node;
  }

  /** The console of every boot so far (cloud-init's and systemd's output). */
  console(): string {
    return existsSync(join(this.dir, 'console.log')) ? readFileSync(join(this.dir, 'console.log'), 'utf8') : '';
  }

  /** Local ports of the host relay's open connections to service `index` (its `services` entry): how that service sees this node. */
  serviceClientPorts(index: number): number[] {
    return this.relaysHost?.clientPorts(index) ?? [];
  }

  private sock(name: string): string {
    return join(this.dir, `${name}.sock`);
  }

  private async prepare(): Promise<void> {
    const o = this.options;
    rmSync(this.dir, { recursive: true, force: true });
    for (const d of ['upper', 'work', 'root']) mkdirSync(join(this.dir, d), { recursive: true });
    // The cgroup tree and its watchdog come first: from here on, this process dying kills all the node runs.
    for (const root of CGROUP_ROOTS) mkdirSync(join(root, this.cgroup), { recursive: true });
    mkdirSync(join(UNIFIED, this.cgroup, 'relay'), { recursive: true });
    this.watchdog = startWatchdog(join(UNIFIED, this.cgroup));
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
    // In the node's cgroup tree (the watchdog's kill reaches it; it keeps the namespace's sockets open), and
    // with its stdin a pipe from here, so it also exits by itself when this process goes.
    const relay = [process.execPath, '--import', 'tsx', join(ROOT, 'test', 'support', 'boot', 'relay.ts'), JSON.stringify(inside)];
    this.relayInside = spawn('sh', enterArgs([join(UNIFIED, this.cgroup, 'relay', 'cgroup.procs')], ['ip', 'netns', 'exec', this.netns, ...relay]), {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.relayInside.stdin!.on('error', () => undefined);
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
      this.relayInside!.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the relay inside ${this.netns} exited (${code ?? signal}): ${err}`));
      });
    });
  }

  /** Boots the node (again, after powerOff(): the same disk, a second boot of the same instance). */
  async start(): Promise<void> {
    this.boots++;
    // A fresh machine cgroup each boot: systemd must not find the previous boot's (killed) unit cgroups under it.
    for (const root of CGROUP_ROOTS) mkdirSync(join(root, this.cgroup, 'machine'), { recursive: true });
    const out = createWriteStream(join(this.dir, 'console.log'), { flags: 'a' });
    out.write(`\n===== boot ${this.boots} =====\n`);
    // The launcher moves itself into the machine cgroups first: nspawn (--keep-unit) then delegates below them.
    const procs = CGROUP_ROOTS.map((r) => join(r, this.cgroup, 'machine', 'cgroup.procs'));
    const nspawn = [
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
    ];
    const child = spawn('sh', enterArgs(procs, nspawn), { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    this.nspawn = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // 'close' comes once both output pipes are drained: then the console file is complete and can be closed.
    this.consoleClosed = new Promise((resolve) => child.once('close', () => out.end(() => resolve())));
    this.initPid = await this.findInit(child);
  }

  private async findInit(child: ChildProcess): Promise<number> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (ended(child)) throw new Error(`systemd-nspawn exited (${child.exitCode ?? child.signalCode}):\n${this.console().slice(-3000)}`);
      for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry) && isInitOf(Number(entry), child.pid!)) return Number(entry);
      await sleep(100);
    }
    throw new Error('the node did not start its init within 30 s');
  }

  /** The container's init, checked again now: nspawn still runs and the PID is still its child with PID 1 inside. */
  private liveInit(): number | undefined {
    const child = this.nspawn;
    if (ended(child) || this.initPid <= 0 || !isInitOf(this.initPid, child!.pid!)) return undefined;
    return this.initPid;
  }

  /** Runs a command inside the node (all its namespaces), with an empty environment but PATH. */
  async exec(args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
    const pid = this.liveInit();
    if (pid === undefined) throw new Error(`${this.options.name}: not running (cannot run ${args[0]} inside)`);
    return sh('nsenter', ['-t', String(pid), '-a', '--', 'env', '-i', NODE_PATH, ...args], timeoutMs);
  }

  async unit(name: string, timeoutMs?: number): Promise<UnitState> {
    const r = await this.exec(['systemctl', 'show', name, '-p', 'ActiveState,SubState,Result,NRestarts,ExecMainStatus,MainPID'], timeoutMs);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) as unknown as UnitState;
  }

  /** The journal of this boot, of one unit or all. */
  async journal(unit?: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec(['journalctl', '-b', '--no-pager', '-o', 'short-monotonic', ...(unit ? ['-u', unit] : [])], timeoutMs);
    return r.stdout;
  }

  /**
   * Waits until `check` holds, polling; fails with what `describe` says of the node's state. The description
   * gets at most 10 s, so a caller that leaves that much of its test's time sees it before vitest's timeout.
   */
  async waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, describe?: () => Promise<string>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check().catch(() => undefined);
      if (v !== undefined && v !== false) return v;
      const stopped = ended(this.nspawn);
      if (stopped || Date.now() > deadline) {
        const detail = describe ? await Promise.race([describe().catch((e: Error) => e.message), sleep(10_000).then(() => '(no description within 10 s)')]) : '';
        const why = stopped ? 'the node stopped while waiting' : `not reached within ${(timeoutMs / 1000).toFixed(0)} s`;
        const message = `${this.options.name}: ${what}: ${why}\n${detail}\n--- console (tail) ---\n${this.console().slice(-4000)}`;
        noteOutput(`booted node ${this.options.name} (failure report)`, message);
        throw new Error(message);
      }
      await sleep(250);
    }
  }

  /** Powers the node off (systemd's poweroff), then kills whatever is left; the disk stays for start(). */
  async powerOff(timeoutMs = 30_000): Promise<void> {
    const child = this.nspawn;
    const machine = join(UNIFIED, this.cgroup, 'machine');
    if (child && this.exited && !ended(child)) {
      // SIGRTMIN+4 asks systemd for poweroff.target; nspawn exits when the container's init does.
      const pid = this.liveInit();
      if (pid !== undefined) await sh('kill', ['-s', 'RTMIN+4', String(pid)]);
      const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!done) killCgroup(machine);
      await Promise.race([this.exited, sleep(5_000)]);
      if (!ended(child)) child.kill('SIGKILL');
    }
    killCgroup(machine);
    await Promise.race([this.consoleClosed, sleep(5_000)]);
    this.nspawn = undefined;
    this.initPid = 0;
    for (const root of CGROUP_ROOTS) await removeCgroupTree(join(root, this.cgroup, 'machine'));
  }

  /** Always safe to call, also after a failed boot: powers off and removes every trace; throws naming what stayed. */
  async dispose(): Promise<void> {
    const problems: string[] = [];
    const attempt = async (what: string, step: () => unknown) => {
      try {
        await step();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    await attempt('power off', () => this.powerOff());
    // Everything the node printed on its console goes through the suite's secrets scan.
    noteOutput(`booted node ${this.options.name} console`, this.console());
    const relay = this.relayInside;
    if (relay && !ended(relay)) {
      relay.stdin!.end();
      await Promise.race([new Promise((r) => relay.once('exit', r)), sleep(5_000)]);
    }
    await this.watchdog?.release();
    killCgroup(join(UNIFIED, this.cgroup));
    for (const root of CGROUP_ROOTS) await attempt('cgroups', () => removeCgroupTree(join(root, this.cgroup)));
    await attempt('host relays', () => this.relaysHost?.close());
    if (existsSync(`/run/netns/${this.netns}`)) await attempt('network namespace', () => must('ip', ['netns', 'del', this.netns]));
    if (isMountPoint(this.merged)) {
      await sh('umount', [this.merged]);
      if (isMountPoint(this.merged)) await sh('umount', ['-l', this.merged]);
    }
    if (isMountPoint(this.merged)) problems.push(`${this.merged} is still mounted`);
    else rmSync(this.dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`${this.options.name}: clean-up left something behind:\n${problems.join('\n')}`);
  }
}
