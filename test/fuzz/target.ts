/**
 * The server under fuzzing, as the runner sees it: where to connect, with which identities, its
 * limits, its memory, its log lines and whether it is still alive. In-process (vitest) here; a
 * child process in child-target.ts (the script, so a crash cannot take the fuzzer down with it).
 */
import { memorySample, type MemorySample } from '../support/memory.js';
import { noteOutput } from '../support/secrets-ledger.js';
import type { TestServer } from '../support/server.js';
import type { Identity } from './connection.js';
import type { Principal } from './mutators.js';

export interface ServerLimits {
  readonly maxMessageSize: number;
  readonly maxDepth: number;
  readonly maxBatchItems: number;
  readonly requestTimeoutMs: number;
}

export interface FuzzTarget {
  readonly port: number;
  readonly ca: string;
  /** Who sends fuzz inputs, by principal. */
  readonly identities: Readonly<Record<Principal, Identity>>;
  /** The legitimate client: a tenant of its own, untouched by fuzz inputs. */
  readonly legit: Identity;
  readonly limits: ServerLimits;
  /** The server process's memory after a full GC. */
  memory(): Promise<MemorySample>;
  /** Why the server is gone, or undefined while it runs. */
  crashed(): string | undefined;
  /** Server log lines written since the last call. */
  takeLogs(): Promise<string[]>;
  close(): Promise<void>;
}

/** Limits for a fuzzed server: a request timeout short enough that a hang shows within a run. */
export const FUZZ_LIMITS = {
  maxMessageSize: 256 * 1024,
  maxDepth: 24,
  maxBatchItems: 64,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 2048,
} as const;

/** Tenants and certificates of a fuzzing run, created in the server's own store. */
export async function fuzzIdentities(server: TestServer): Promise<{ identities: Record<Principal, Identity>; legit: Identity }> {
  const fuzz = await server.tenant('fuzz');
  const legit = await server.tenant('legit');
  const stranger = server.pki.client('stranger');
  const id = (c: { certificatePem: string; privateKeyPem: string }): Identity => ({ cert: c.certificatePem, key: c.privateKeyPem });
  return { identities: { registered: id(fuzz.cert), unregistered: id(stranger), anonymous: {} }, legit: id(legit.cert) };
}

/** The server of a test file, in this very process (memory figures then include the fuzzer's). */
export async function inProcessTarget(server: TestServer, limits: ServerLimits): Promise<FuzzTarget> {
  const { identities, legit } = await fuzzIdentities(server);
  return {
    port: server.port,
    ca: server.pki.ca.certificatePem,
    identities,
    legit,
    limits,
    memory: async () => memorySample(),
    crashed: () => undefined,
    takeLogs: async () => {
      const lines = server.logs.splice(0);
      noteOutput('fuzzed server log', lines.join(''));
      return lines;
    },
    close: () => server.close(),
  };
}
