/**
 * Drives a fuzzing run through the real TLS listener: `concurrency` workers take input numbers in
 * turn, keep one connection per principal and reuse it while the server keeps it open, judge every
 * exchange, and save failing inputs for replay. Meanwhile a legitimate client is served on its own
 * connection and timed, server memory is sampled and server log lines are watched.
 */
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import type { RequestLimits } from '../../server/kmip/message-codec.js';
import type { MemorySample } from '../support/memory.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { FuzzConnection } from './connection.js';
import { buildCorpus } from './corpus.js';
import { saveFailure, type SavedFailure } from './failures.js';
import { createKnownObjects } from './known-objects.js';
import { LegitClient, type LegitReport } from './legit-client.js';
import { LogWatch, type ServerFinding } from './log-findings.js';
import { InputGenerator, type FuzzInput, type Principal } from './mutators.js';
import { expectFrames } from './oracle.js';
import type { FuzzTarget } from './target.js';
import { judgeExchange } from './verdict.js';

export interface RunOptions {
  readonly target: FuzzTarget;
  readonly seed: number;
  readonly count: number;
  readonly concurrency: number;
  /** How long one input may go without an answer or a close before it counts as a hang. */
  readonly deadlineMs: number;
  readonly failuresDir: string;
  readonly maxSavedFailures?: number;
  readonly sampleEveryMs?: number;
  /** Only these input numbers (replaying some inputs of a seed); the default is 0..count-1. */
  readonly indexes?: readonly number[];
  /** A saved input to send instead of generated ones. */
  readonly replay?: FuzzInput;
  readonly onProgress?: (p: Progress) => void;
}

export interface Progress {
  readonly done: number;
  readonly elapsedMs: number;
  readonly failures: number;
  readonly rssMb: number;
  readonly legit: LegitReport;
}

export interface Counters {
  frames: number;
  responses: number;
  /** Connections the server closed (inputs that announce too much, or stop half way). */
  closes: number;
  /** Of those, closes after whole messages within the size limit (every one also shows in the server log). */
  closedOnWholeMessages: number;
  connects: number;
  readonly kinds: Record<string, number>;
  readonly statuses: Record<string, number>;
  readonly reasons: Record<string, number>;
}

export interface RunReport {
  readonly seed: number;
  readonly inputs: number;
  readonly elapsedMs: number;
  readonly inputsPerSecond: number;
  readonly failureCount: number;
  readonly failures: readonly SavedFailure[];
  readonly counters: Counters;
  readonly legit: LegitReport;
  readonly memory: { readonly before: MemorySample; readonly after: MemorySample; readonly peakRssMb: number };
  readonly findings: readonly ServerFinding[];
  readonly toleratedFindings: readonly ServerFinding[];
  readonly crashed: string | undefined;
}

const REASON_NAMES = new Map<number, string>(Object.entries(ResultReason).map(([k, v]) => [v, k]));
const STATUS_NAMES = new Map<number, string>(Object.entries(ResultStatus).map(([k, v]) => [v, k]));
const bump = (record: Record<string, number>, key: string) => (record[key] = (record[key] ?? 0) + 1);

export async function runFuzz(o: RunOptions): Promise<RunReport> {
  const { target } = o;
  const limits: RequestLimits = { maxSize: target.limits.maxMessageSize, maxDepth: target.limits.maxDepth, maxBatchItems: target.limits.maxBatchItems };
  const objects = await createKnownObjects(target.port, target.ca, target.identities.registered);
  const generator = new InputGenerator(buildCorpus(objects), o.seed, target.limits);
  const counters: Counters = { frames: 0, responses: 0, closes: 0, closedOnWholeMessages: 0, connects: 0, kinds: {}, statuses: {}, reasons: {} };
  const failures: SavedFailure[] = [];
  let failureCount = 0;
  const watch = new LogWatch();
  const sessions = new Map<Principal, Buffer>();
  const contexts = new Map((['registered', 'unregistered', 'anonymous'] as const).map((p) => [p, FuzzConnection.context(target.ca, target.identities[p])]));
  const indexes = o.replay ? [o.replay.index] : (o.indexes ?? undefined);
  const total = indexes?.length ?? o.count;

  const before = await target.memory();
  let peakRssMb = before.rssMb;
  const legit = new LegitClient(target.port, { ca: target.ca, cert: target.legit.cert, key: target.legit.key }, o.deadlineMs);
  legit.start();
  const started = performance.now();
  let next = 0;
  let done = 0;

  const fail = (input: FuzzInput, reason: string, responses: readonly Uint8Array[]) => {
    failureCount++;
    if (failures.length < (o.maxSavedFailures ?? 100)) failures.push(saveFailure(o.failuresDir, o.seed, input, reason, responses));
  };

  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const m = await target.memory();
      peakRssMb = Math.max(peakRssMb, m.rssMb);
      watch.feed(await target.takeLogs());
      o.onProgress?.({ done, elapsedMs: performance.now() - started, failures: failureCount, rssMb: m.rssMb, legit: legit.report() });
    } catch {
      // A server too busy or gone to answer shows up as hangs or a crash on the inputs themselves.
    } finally {
      sampling = false;
    }
  };
  const sampler = setInterval(() => void sample(), o.sampleEveryMs ?? 5000);

  const connect = async (principal: Principal): Promise<FuzzConnection> => {
    for (let attempt = 0; ; attempt++) {
      try {
        counters.connects++;
        return await FuzzConnection.open(target.port, contexts.get(principal)!, sessions.get(principal), (s) => sessions.set(principal, s), o.deadlineMs);
      } catch (err) {
        if (attempt >= 3 || target.crashed()) throw err;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  };

  const worker = async () => {
    const pool = new Map<Principal, FuzzConnection>();
    while (next < total && !target.crashed()) {
      const n = next++;
      const input = o.replay ?? generator.generate(indexes ? indexes[n]! : n);
      const expect = expectFrames(input.bytes, target.limits.maxMessageSize);
      bump(counters.kinds, input.recipe[0]!);
      let conn = pool.get(input.principal);
      try {
        if (!conn?.usable) pool.set(input.principal, (conn = await connect(input.principal)));
      } catch (err) {
        fail(input, `cannot connect: ${(err as Error).message}`, []);
        done++;
        continue;
      }
      const ex = await conn.exchange(input.bytes, input.splits, expect, o.deadlineMs);
      const outcome = judgeExchange(input, expect, ex, limits, o.deadlineMs);
      counters.frames += expect.frames.length;
      counters.responses += ex.responses.length;
      if (ex.closed) {
        counters.closes++;
        if (expect.ending === 'open') counters.closedOnWholeMessages++;
      }
      for (const v of outcome.verdicts) {
        for (const s of v.statuses) bump(counters.statuses, STATUS_NAMES.get(s) ?? String(s));
        for (const r of v.reasons) bump(counters.reasons, REASON_NAMES.get(r) ?? String(r));
      }
      if (outcome.problems.length > 0) fail(input, outcome.problems.join('; '), ex.responses);
      if (!conn.usable || expect.ending !== 'open' || ex.timedOut) {
        conn.destroy();
        pool.delete(input.principal);
      }
      done++;
    }
    for (const c of pool.values()) c.destroy();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, total)) }, worker));
  const elapsedMs = performance.now() - started;
  clearInterval(sampler);
  while (sampling) await new Promise((r) => setTimeout(r, 10));
  const legitReport = await legit.stop();

  const crashed = target.crashed();
  if (!crashed) {
    const refused = await stillServing(target);
    if (refused) {
      failureCount++;
      failures.push({ file: '', index: -1, reason: refused });
    }
  }
  // Let the last log lines reach us (the child forwards them every 250 ms).
  await new Promise((r) => setTimeout(r, 400));
  watch.feed(await target.takeLogs().catch(() => []));
  const after = crashed ? before : await target.memory();
  return {
    seed: o.seed,
    inputs: done,
    elapsedMs,
    inputsPerSecond: done / (elapsedMs / 1000),
    failureCount: failureCount + (crashed ? 1 : 0),
    failures: crashed ? [...failures, { file: '', index: -1, reason: crashed }] : failures,
    counters,
    legit: legitReport,
    memory: { before, after, peakRssMb: Math.max(peakRssMb, after.rssMb) },
    findings: watch.findings(),
    toleratedFindings: watch.toleratedFindings(),
    crashed,
  };
}

/** After the run, a new client must still be served: returns why not, or undefined. */
async function stillServing(target: FuzzTarget): Promise<string | undefined> {
  try {
    const client = await TestKmipClient.connect(target.port, { ca: target.ca, cert: target.identities.registered.cert, key: target.identities.registered.key });
    const timer = setTimeout(() => client.socket.destroy(), 10_000);
    const r = await client.request([{ operation: Operation.DiscoverVersions }]);
    clearTimeout(timer);
    await client.close();
    return r.items[0]?.resultStatus === ResultStatus.Success ? undefined : `after the run, Discover Versions failed (${r.items[0]?.resultReason})`;
  } catch (err) {
    return `after the run, a new client was not served: ${(err as Error).message}`;
  }
}
