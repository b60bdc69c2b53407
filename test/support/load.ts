/**
 * A small create/get load over several server nodes for failure tests: each worker keeps one TLS
 * connection, moves to the next node when its connection dies, and records every Create the server
 * acknowledged, so the test can prove afterwards that none of them was lost.
 */
import type { ConnectionOptions } from 'node:tls';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from './attributes.js';
import { TestKmipClient } from './kmip-client.js';

export interface LoadResult {
  readonly attempted: number;
  readonly acknowledged: string[];
  /** Failed KMIP results, by Result Reason. */
  readonly failures: Map<number, number>;
  readonly reconnects: number;
  readonly getsOk: number;
}

export interface LoadOptions {
  readonly ports: () => readonly number[];
  readonly tls: ConnectionOptions;
  readonly workers: number;
  readonly until: () => boolean;
  /** Upper bound for one request; a hang past it fails the load. */
  readonly requestTimeoutMs?: number;
  /** Told of each acknowledged Create as it happens (the test may stop or kill on a count). */
  readonly onAcknowledged?: (count: number) => void;
  /** Skip the Get after each Create (pure create load). */
  readonly createsOnly?: boolean;
}

const createPayload = {
  objectType: 2,
  templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] },
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`request hung past ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

export async function createGetLoad(options: LoadOptions): Promise<LoadResult> {
  const acknowledged: string[] = [];
  const failures = new Map<number, number>();
  let attempted = 0;
  let reconnects = 0;
  let getsOk = 0;
  const timeout = options.requestTimeoutMs ?? 20_000;
  const worker = async (w: number) => {
    let node = w;
    let client: TestKmipClient | undefined;
    while (!options.until()) {
      try {
        if (!client) {
          const ports = options.ports();
          client = await withTimeout(TestKmipClient.connect(ports[node % ports.length]!, options.tls), timeout);
        }
        attempted++;
        const created = await withTimeout(client.request([{ operation: Operation.Create, payload: createPayload }]), timeout);
        const item = created.items[0]!;
        if (item.resultStatus === ResultStatus.Success) {
          const uid = item.payload!['uniqueIdentifier'] as string;
          acknowledged.push(uid);
          options.onAcknowledged?.(acknowledged.length);
          if (options.createsOnly) continue;
          const got = await withTimeout(client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]), timeout);
          if (got.items[0]!.resultStatus === ResultStatus.Success) getsOk++;
        } else {
          failures.set(item.resultReason!, (failures.get(item.resultReason!) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 50));
        }
      } catch (err) {
        if ((err as Error).message.includes('hung past')) throw err;
        // The node went away: move on to the next one.
        client?.socket.destroy();
        client = undefined;
        node++;
        reconnects++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await client?.close();
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return { attempted, acknowledged, failures, reconnects, getsOk };
}
