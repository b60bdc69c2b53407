/**
 * Clients without a certificate must not crowd out registered ones (issue 18, finding 1): 2,048
 * hostile connections (the default maxConnections) that present no certificate and keep sending
 * requests that each get Permission Denied, reopened as soon as the server closes them, while a
 * registered client opens a new connection for every request and must be served within a second,
 * every time. The server runs in a process of its own (its memory is its own).
 */
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { childTarget } from '../fuzz/child-target.js';
import type { FuzzTarget } from '../fuzz/target.js';
import { openTls, sleep } from '../support/abuse.js';
import { decodeResponse, encodeRequest, TestKmipClient } from '../support/kmip-client.js';

const HOSTILE = 2_048;
const ATTACK_MS = 12_000;
const LEGIT_DEADLINE_MS = 1_000;

let target: FuzzTarget;

beforeAll(async () => {
  target = await childTarget({ maxConnections: HOSTILE, handshakeTimeoutMs: 4_000, requestTimeoutMs: 3_000 });
}, 60_000);
afterAll(async () => {
  await target?.close();
});

const discover = encodeRequest([{ operation: Operation.DiscoverVersions }]);

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe('connections without a registered certificate', () => {
  it('cannot take the connections of registered clients: 2,048 hostile connections, a registered client served within a second throughout', async () => {
    const before = await target.memory();
    let stop = false;
    let open = 0;
    let peakOpen = 0;
    let opened = 0;
    let refusedAnswers = 0;
    let otherAnswers = 0;
    // Reconnecting is bounded (so this is a connection-holding attack, not a handshake flood).
    let handshakes = 0;
    const MAX_HANDSHAKES = 32;

    const hold = async (): Promise<void> => {
      while (!stop) {
        while (handshakes >= MAX_HANDSHAKES && !stop) await sleep(5);
        if (stop) return;
        handshakes++;
        const socket: TLSSocket | undefined = await openTls(target.port, target.ca, {}, 5_000).catch(() => undefined);
        handshakes--;
        if (!socket) {
          await sleep(20);
          continue;
        }
        opened++;
        open++;
        peakOpen = Math.max(peakOpen, open);
        socket.on('data', (chunk: Buffer) => {
          // Each answer is one small response; Permission Denied is what a client without a certificate gets.
          try {
            const r = decodeResponse(chunk, 11);
            if (r.items[0]?.resultReason === ResultReason.PermissionDenied) refusedAnswers++;
            else otherAnswers++;
          } catch {
            // A partial chunk: not counted.
          }
        });
        await new Promise<void>((resolve) => {
          const tick = setInterval(() => {
            if (stop) socket.destroy();
            else if (!socket.destroyed) socket.write(discover);
          }, 500);
          socket.write(discover);
          socket.once('close', () => {
            clearInterval(tick);
            open--;
            resolve();
          });
        });
      }
    };

    const latencies: number[] = [];
    const failures: string[] = [];
    const legit = async (): Promise<void> => {
      while (!stop) {
        const started = performance.now();
        let client: TestKmipClient | undefined;
        let timer: NodeJS.Timeout | undefined;
        try {
          const attempt = (async () => {
            client = await TestKmipClient.connect(target.port, { ca: target.ca, cert: target.legit.cert, key: target.legit.key });
            return decodeResponse(await client.send(discover), 11);
          })();
          const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not served within ${LEGIT_DEADLINE_MS} ms`)), LEGIT_DEADLINE_MS)));
          const r = await Promise.race([attempt, deadline]);
          if (r.items[0]?.resultStatus !== ResultStatus.Success) failures.push(`status ${r.items[0]?.resultStatus} reason ${r.items[0]?.resultReason}`);
          else latencies.push(performance.now() - started);
        } catch (err) {
          failures.push((err as Error).message);
        } finally {
          clearTimeout(timer);
          client?.socket.destroy();
        }
        await sleep(100);
      }
    };

    let peakRssMb = before.rssMb;
    const sampler = (async () => {
      while (!stop) {
        peakRssMb = Math.max(peakRssMb, (await target.memory()).rssMb);
        await sleep(500);
      }
    })();

    const holders = Array.from({ length: HOSTILE }, hold);
    // Let the attackers fill the server first, then time the registered client throughout.
    await sleep(2_000);
    const served = legit();
    await sleep(ATTACK_MS);
    stop = true;
    await Promise.all([served, sampler, ...holders]);

    latencies.sort((a, b) => a - b);
    const figure = (ms: number) => Math.round(ms);
    console.log(
      `unauthenticated crowding: ${HOSTILE} hostile connections held by the attacker (peak ${peakOpen} open at once, ${opened} opened, ${refusedAnswers} Permission Denied answers, ${otherAnswers} other); ` +
        `registered client, a new connection per request: ${latencies.length} served, ${failures.length} failed, p50 ${figure(percentile(latencies, 50))} ms, p99 ${figure(percentile(latencies, 99))} ms, max ${figure(latencies.at(-1) ?? NaN)} ms; ` +
        `server RSS ${Math.round(before.rssMb)} → peak ${Math.round(peakRssMb)} MB`,
    );
    expect(target.crashed()).toBeUndefined();
    expect(failures.slice(0, 5)).toEqual([]);
    expect(latencies.length).toBeGreaterThan(30);
    expect(latencies.at(-1)!).toBeLessThan(LEGIT_DEADLINE_MS);
    // The attack really ran: the attacker held its connections and was answered Permission Denied.
    expect(opened).toBeGreaterThan(HOSTILE);
    expect(refusedAnswers).toBeGreaterThan(100);
    expect(otherAnswers).toBe(0);
    // Without a registered certificate, connections are few on the server, whatever the attacker opens.
    expect(peakRssMb - before.rssMb).toBeLessThan(100);
  }, 40_000);
});
