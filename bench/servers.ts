/**
 * The servers under test, as separate processes: ours as users run it (--dev: SQLite with full
 * durability, local root key, logging on, to a file) or on PostgreSQL, and Debian's PyKMIP server
 * on the same PKI. CPU time and memory are read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevPki, type DevPkiPaths } from '../server/pki/dev-pki.js';

export interface ServerUnderTest {
  readonly name: string;
  readonly ports: readonly number[];
  readonly pids: readonly number[];
  readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  /** CPU seconds used so far by all its processes. */
  cpuSeconds(): number;
  /** Resident memory of all its processes, in bytes. */
  rssBytes(): number;
  stop(): Promise<void>;
}

const SERVER_MAIN = fileURLToPath(new URL('../server/main.js', import.meta.url));
const PYKMIP_SERVER = fileURLToPath(new URL('../../bench/pykmip_server.py', import.meta.url));
const BARE_TLS_SERVER = fileURLToPath(new URL('./bare-tls-server.js', import.meta.url));
const TICKS = 100; // USER_HZ on Linux

export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

export function procRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${text.slice(-500)}`)), timeoutMs);
    child[stream]!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${text.slice(-500)}`));
    });
    // A program that cannot start (ENOENT, EACCES) reports here, and may never emit 'exit'.
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${child.spawnfile}: ${err.code ?? err.message}`));
    });
  });
}

/** One TCP connection attempt to 127.0.0.1:port: undefined when it was accepted, else the socket's error code. */
function tryConnect(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000, () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * Waits until 127.0.0.1:port accepts connections, trying every 100 ms for at most `timeoutMs`. A server
 * may say it is ready before it listens (PyKMIP prints "ready" after binding; it listens only once
 * serve() runs), and a benchmark that connects then gets ECONNREFUSED. `check` says what to look at.
 */
async function waitForPort(name: string, port: number, options: { readonly timeoutMs?: number; readonly check: string; readonly child?: ChildProcess }): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: string | undefined;
  for (let attempt = 1; ; attempt++) {
    if (options.child && (options.child.exitCode !== null || options.child.signalCode !== null)) {
      throw new Error(`${name} exited (${options.child.exitCode ?? options.child.signalCode}) before it accepted connections on 127.0.0.1:${port}: ${options.check}`);
    }
    last = await tryConnect(port);
    if (last === undefined) return;
    if (Date.now() >= deadline) {
      throw new Error(`${name} did not accept connections on 127.0.0.1:${port} within ${Math.round((options.timeoutMs ?? 30_000) / 1000)} s (${attempt} attempts, last: ${last}): ${options.check}`);
    }
    await sleep(100);
  }
}

/**
 * SIGTERM, then SIGKILL after 10 s. With `group`, to the child's whole process group (it was spawned
 * `detached`): PyKMIP's server forks a helper that outlives a signal to the parent alone and keeps
 * our pipes open, so the benchmark never ended and idle PyKMIP servers piled up.
 */
export function stopChild(child: ChildProcess, options: { readonly group?: boolean } = {}): Promise<void> {
  const send = (signal: NodeJS.Signals): void => {
    try {
      if (options.group && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Nothing left to signal.
    }
  };
  return new Promise((resolve) => {
    const finish = (): void => {
      if (options.group) send('SIGKILL'); // whatever it forked goes with it
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return finish();
    child.once('exit', finish);
    send('SIGTERM');
    setTimeout(() => send('SIGKILL'), 10_000).unref();
  });
}

/** An empty PostgreSQL database next to the one in `url`, so every run starts from nothing. */
async function scratchDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = `kmip_bench_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return { url: scratch.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** BENCH_CPU_PROF=DIR: every server of ours writes a V8 CPU profile to DIR when it stops (open in Chrome DevTools). */
export function profileFlags(): string[] {
  const dir = process.env['BENCH_CPU_PROF'];
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

/** Our server: one node, or several on one (fresh) PostgreSQL database sharing a data folder. */
export async function startOurs(options: { nodes: number; databaseUrl?: string | undefined; label: string }): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-bench-'));
  const database = options.databaseUrl ? await scratchDatabase(options.databaseUrl) : undefined;
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const log = openSync(join(dir, `server-${i}.log`), 'a');
    const args = [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', '--log-level', 'info'];
    if (database) args.push('--database-url', database.url);
    const child = spawn(process.execPath, [...profileFlags(), ...args], { stdio: ['ignore', log, 'pipe'] });
    children.push(child);
    const m = await waitFor(child, 'stderr', /listening on [\d.]+:(\d+)/, 60_000);
    ports.push(Number(m[1]));
  }
  const pki = (f: string) => readFileSync(join(dir, 'pki', f));
  return {
    name: options.label,
    ports,
    pids: children.map((c) => c.pid!),
    tls: { ca: pki('ca.pem'), cert: pki('client-cert.pem'), key: pki('client-key.pem') },
    cpuSeconds: () => children.reduce((s, c) => s + procCpuSeconds(c.pid!), 0),
    rssBytes: () => children.reduce((s, c) => s + procRssBytes(c.pid!), 0),
    async stop() {
      await Promise.all(children.map((c) => stopChild(c)));
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server under test that is one child process with a development PKI in a scratch folder `dir`. */
export function oneProcessServer(
  name: string,
  port: number,
  child: ChildProcess,
  pki: { readonly caCert: string; readonly clientCert: string; readonly clientKey: string },
  dir: string,
  options: { readonly stopAlso?: () => Promise<void>; readonly group?: boolean } = {},
): ServerUnderTest {
  return {
    name,
    ports: [port],
    pids: [child.pid!],
    tls: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
    cpuSeconds: () => procCpuSeconds(child.pid!),
    rssBytes: () => procRssBytes(child.pid!),
    async stop() {
      await stopChild(child, { group: options.group ?? false });
      await options.stopAlso?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A scratch folder holding a development PKI like the one our server makes for itself. */
function scratchPki(prefix: string): { dir: string; paths: DevPkiPaths } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, paths: ensureDevPki(dir).paths };
}

/** Debian's PyKMIP server with the same kind of PKI (a dev PKI made by our server in a scratch folder). */
export async function startPyKmip(python: string, port: number, options: { readonly readyTimeoutMs?: number } = {}): Promise<ServerUnderTest> {
  const { dir, paths } = scratchPki('kmip-bench-pykmip-');
  const child = spawn(python, [PYKMIP_SERVER, String(port), paths.serverCert, paths.serverKey, paths.caCert, join(dir, 'pykmip.db'), join(dir, 'pykmip.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stopping it stops what it forks
  });
  // Detached, it would not get the terminal's Ctrl-C: if the benchmark ends any other way, so does it.
  const orphanGuard = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', orphanGuard);
  const log = join(dir, 'pykmip.log');
  const check = `check that ${python} imports PyKMIP (apt-get install python3-pykmip), that port ${port} is free, and PyKMIP's log ${log}; or run the benchmark with --no-pykmip`;
  const server = oneProcessServer('PyKMIP', port, child, paths, dir, { group: true, stopAlso: async () => void process.off('exit', orphanGuard) });
  try {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    await waitFor(child, 'stdout', /ready/, timeoutMs).catch((err: Error) => {
      throw new Error(`PyKMIP did not start: ${err.message.split('\n')[0]}; ${check}`);
    });
    await waitForPort('PyKMIP', port, { timeoutMs, check, child });
  } catch (err) {
    // Not left running (nor its scratch folder) when it never became usable.
    await server.stop();
    throw err;
  }
  return server;
}

/**
 * Node's TLS server alone (bench/bare-tls-server.ts), on a development PKI like ours: an echo, or with
 * `durable` one durable insert per message in SQLite (a scratch file) or PostgreSQL (a scratch database
 * next to the URL's).
 */
export async function startBareTls(label: string, durable?: { readonly sqlite: true } | { readonly postgresUrl: string }): Promise<ServerUnderTest> {
  const { dir, paths } = scratchPki('kmip-bench-bare-');
  const database = durable && 'postgresUrl' in durable ? await scratchDatabase(durable.postgresUrl) : undefined;
  const extra = durable === undefined ? [] : database ? ['--postgres', database.url] : ['--sqlite', join(dir, 'floor.db')];
  const child = spawn(process.execPath, [BARE_TLS_SERVER, paths.serverCert, paths.serverKey, paths.caCert, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const m = await waitFor(child, 'stderr', /listening on [\d.]+:(\d+)/, 60_000);
    return oneProcessServer(label, Number(m[1]), child, paths, dir, database ? { stopAlso: database.drop } : {});
  } catch (err) {
    await stopChild(child);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
