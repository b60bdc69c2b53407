/** Runs one load scenario on worker threads against a server and merges what they measured. */
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import type { ServerUnderTest } from '../servers.js';
import type { ScenarioSpec } from './scenarios.js';
import type { WorkerJob, WorkerResult } from './worker.js';

export interface LoadStats {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuMsPerOp: number;
  /** CPU of the load generator (this process, its worker threads included) per operation. */
  readonly clientCpuMsPerOp: number;
  readonly failedResults: number;
  readonly errors: number;
  readonly resumed: number;
  readonly uids: string[];
}

export interface LoadOptions {
  readonly scenario: ScenarioSpec;
  readonly connections: number;
  readonly workers: number;
  readonly seconds: number;
  readonly maxOps?: number;
  /** The server is a reference that echoes each message: an answer must equal its request. */
  readonly echo?: boolean;
}

export async function runLoad(server: ServerUnderTest, options: LoadOptions): Promise<LoadStats> {
  const workers = Math.max(1, Math.min(options.workers, options.connections));
  const cpuBefore = server.cpuSeconds();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const job: WorkerJob = {
        ports: server.ports,
        tls: server.tls,
        connections: Math.floor(options.connections / workers) + (w < options.connections % workers ? 1 : 0),
        durationMs: options.seconds * 1000,
        maxOps: Math.ceil((options.maxOps ?? Number.MAX_SAFE_INTEGER) / workers),
        scenario: options.scenario,
        offset: w * 7919,
        ...(options.echo ? { echo: true } : {}),
      };
      return new Promise<WorkerResult>((resolve, reject) => {
        const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
        worker.once('message', (m: WorkerResult | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
        worker.once('error', reject);
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = server.cpuSeconds() - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  const merged = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (const r of results) merged.add(hdr.decodeFromCompressedBase64(r.histogram, 32, false));
  const ops = results.reduce((s, r) => s + r.ops, 0);
  return {
    ops,
    seconds,
    opsPerSecond: ops / seconds,
    p50Ms: merged.getValueAtPercentile(50) / 1000,
    p99Ms: merged.getValueAtPercentile(99) / 1000,
    serverCpuMsPerOp: ops ? (cpu * 1000) / ops : 0,
    clientCpuMsPerOp: ops ? (client.user + client.system) / 1000 / ops : 0,
    failedResults: results.reduce((s, r) => s + r.failedResults, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    resumed: results.reduce((s, r) => s + r.resumed, 0),
    uids: results.flatMap((r) => r.uids),
  };
}
