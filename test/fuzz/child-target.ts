/**
 * Runs the fuzzed server as a child process (server-child.ts, through tsx): a crash ends that
 * process, not the fuzzer, and is reported with the end of its stderr; memory is the server's own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemorySample } from '../support/memory.js';
import type { Identity } from './connection.js';
import type { Principal } from './mutators.js';
import { FUZZ_LIMITS, type FuzzTarget } from './target.js';

interface Ready {
  type: 'ready';
  port: number;
  ca: string;
  identities: Record<Principal, Identity>;
  legit: Identity;
}
type ChildMessage = Ready | { type: 'memory'; id: number; sample: MemorySample } | { type: 'logs'; lines: string[] };

/** Any `limits` key of the server config; the fuzz defaults (FUZZ_LIMITS) apply to the rest. */
export type ServerLimitOverrides = Partial<Record<keyof typeof FUZZ_LIMITS | 'handshakeTimeoutMs' | 'maxQueuedMessages', number>>;

const STDERR_KEPT = 8192;
const MEMORY_TIMEOUT_MS = 30_000;

export async function childTarget(overrides: ServerLimitOverrides = {}): Promise<FuzzTarget> {
  const child = fork(fileURLToPath(new URL('./server-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, FUZZ_SERVER_LIMITS: JSON.stringify(overrides) },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_KEPT)));
  let crash: string | undefined;
  let stopping = false;
  const logs: string[] = [];
  const waiting = new Map<number, (s: MemorySample) => void>();
  let nextId = 1;

  const ready = await new Promise<Ready>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'memory') waiting.get(m.id)?.(m.sample);
      else if (m.type === 'logs' && logs.length < 10_000) logs.push(...m.lines);
    });
    child.once('exit', (code, signal) => {
      if (!stopping) crash = `server process exited (code ${code}, signal ${signal})\n${stderr}`;
      reject(new Error(crash ?? 'server process exited'));
    });
  });
  const limits = { ...FUZZ_LIMITS, ...overrides };

  return {
    port: ready.port,
    ca: ready.ca,
    identities: ready.identities,
    legit: ready.legit,
    limits,
    crashed: () => crash,
    memory: () => ask(child, waiting, nextId++),
    takeLogs: async () => logs.splice(0),
    async close() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function ask(child: ChildProcess, waiting: Map<number, (s: MemorySample) => void>, id: number): Promise<MemorySample> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`the server process did not report its memory within ${MEMORY_TIMEOUT_MS} ms`));
    }, MEMORY_TIMEOUT_MS);
    waiting.set(id, (sample) => {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(sample);
    });
    child.send({ type: 'memory', id });
  });
}
