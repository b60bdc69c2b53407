/**
 * Connection abuse against the real server in a process of its own (so its memory is its own):
 * slow senders, a header claiming 4 GiB, deep nesting, thousands of idle connections, handshake
 * floods and clients that never read. Each attack runs while a legitimate client is served on its
 * own connection; its failures must be zero and its latency is reported.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectType, Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { childTarget } from '../fuzz/child-target.js';
import { LegitClient, type LegitReport } from '../fuzz/legit-client.js';
import type { FuzzTarget } from '../fuzz/target.js';
import { closedWithin, deeplyNestedRequest, openTcp, openTls, sleep } from '../support/abuse.js';
import { decodeResponse, encodeRequest, TestKmipClient } from '../support/kmip-client.js';
import { b, e, s } from '../support/ttlv-builder.js';

const LIMITS = {
  maxMessageSize: 256 * 1024,
  handshakeTimeoutMs: 4_000,
  idleTimeoutMs: 5_000,
  requestTimeoutMs: 3_000,
  maxConnections: 4_000,
  maxQueuedMessages: 16,
};
/** Closing is checked against the limit plus this much: timers, a busy 2-core machine. */
const SLACK_MS = 3_000;

let target: FuzzTarget;
const figures: string[] = [];

beforeAll(async () => {
  target = await childTarget(LIMITS);
}, 60_000);
afterAll(async () => {
  console.log(`connection abuse (server in its own process):\n  ${figures.join('\n  ')}`);
  await target?.close();
});

const registered = () => ({ cert: target.identities.registered.cert, key: target.identities.registered.key });
const discover = () => encodeRequest([{ operation: Operation.DiscoverVersions }]);

/** Runs `attack` while a legitimate client is served; returns its report and the server's memory growth. */
async function underAttack<T>(
  name: string,
  attack: () => Promise<T>,
): Promise<{ result: T; legit: LegitReport; heapGrowthMb: number; peakHeapGrowthMb: number; peakRssMb: number; beforeHeapMb: number }> {
  const before = await target.memory();
  const legit = new LegitClient(target.port, { ca: target.ca, cert: target.legit.cert, key: target.legit.key }, 15_000);
  legit.start();
  let peakRssMb = before.rssMb;
  // Sampled while the attack holds its connections: what is freed when they close must count too.
  let peakHeapMb = before.heapMb;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = await target.memory();
      peakRssMb = Math.max(peakRssMb, now.rssMb);
      peakHeapMb = Math.max(peakHeapMb, now.heapMb);
      await sleep(250);
    }
  })();
  try {
    const started = performance.now();
    const result = await attack();
    // Long enough for the legitimate client's figures to mean something, however quick the attack.
    await sleep(Math.max(0, 1_000 - (performance.now() - started)));
    const round = (mb: number) => Math.round(mb * 10) / 10;
    const heapGrowthMb = round((await target.memory()).heapMb - before.heapMb);
    return { result, legit: await legit.stop(), heapGrowthMb, peakHeapGrowthMb: round(peakHeapMb - before.heapMb), peakRssMb, beforeHeapMb: before.heapMb };
  } finally {
    sampling = false;
    await sampler;
    await legit.stop();
    expect(target.crashed(), name).toBeUndefined();
  }
}

function note(name: string, legit: LegitReport, extra: string): void {
  figures.push(`${name}: ${extra}; legit client ${legit.requests} requests, ${legit.failures} failed, p50 ${legit.p50Ms} ms, p99 ${legit.p99Ms} ms`);
}

function expectServed(legit: LegitReport): void {
  expect(legit.failureExamples).toEqual([]);
  expect(legit.requests).toBeGreaterThan(10);
}

describe('connection abuse', () => {
  it('closes slow senders (one byte a second) when the request timeout runs out, though bytes keep coming', async () => {
    const message = discover();
    const { result, legit } = await underAttack('slow senders', async () => {
      const sockets = await Promise.all(Array.from({ length: 50 }, () => openTls(target.port, target.ca, registered())));
      const started = performance.now();
      const sent = sockets.map(() => 0);
      const dripping = setInterval(() => {
        sockets.forEach((s, k) => {
          if (!s.destroyed && sent[k]! < message.length) s.write(message.subarray(sent[k]!, ++sent[k]!));
        });
      }, 1_000);
      const closedAfter = await Promise.all(sockets.map((s) => closedWithin(s, LIMITS.requestTimeoutMs + SLACK_MS)));
      clearInterval(dripping);
      return { closedAfter, sent, elapsed: performance.now() - started };
    });
    // Every byte kept the idle timer alive; only the whole-message deadline can have closed them.
    expect(result.closedAfter.every((ms) => ms !== undefined && ms >= LIMITS.requestTimeoutMs - 500)).toBe(true);
    expect(Math.min(...result.sent)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...result.sent)).toBeLessThan(message.length);
    expectServed(legit);
    note('50 slow senders', legit, `closed after ${Math.round(Math.max(...(result.closedAfter as number[])))} ms at most, ${Math.max(...result.sent)} bytes sent`);
  }, 30_000);

  it('closes 200 connections whose header claims a 4 GiB message, at once and without buffering', async () => {
    const header = Buffer.from('42007801fffffff8', 'hex');
    const sockets = await Promise.all(Array.from({ length: 200 }, () => openTls(target.port, target.ca, registered())));
    const { result, legit, heapGrowthMb, peakHeapGrowthMb } = await underAttack('4 GiB headers', async () => {
      for (const s of sockets) s.write(Buffer.concat([header, Buffer.alloc(64 * 1024, 0x42)]));
      return Promise.all(sockets.map((s) => closedWithin(s, 5_000)));
    });
    expect(result.every((ms) => ms !== undefined)).toBe(true);
    expect(heapGrowthMb).toBeLessThan(20);
    expect(peakHeapGrowthMb).toBeLessThan(20);
    expectServed(legit);
    note('200 × 4 GiB header', legit, `all closed within ${Math.round(Math.max(...(result as number[])))} ms, server heap change ${heapGrowthMb} MB`);
  }, 30_000);

  it('answers 30,000 levels of nesting with Invalid Message, without recursing, and keeps the connection', async () => {
    const nested = deeplyNestedRequest(30_000);
    expect(nested.length).toBeLessThan(LIMITS.maxMessageSize);
    const { result, legit } = await underAttack('deep nesting', async () => {
      const client = await TestKmipClient.connect(target.port, { ca: target.ca, ...registered() });
      const answers = [];
      for (let k = 0; k < 20; k++) answers.push(decodeResponse(await client.send(nested), 11));
      const after = decodeResponse(await client.send(discover()), 11);
      await client.close();
      return { answers, after };
    });
    for (const answer of result.answers) expect(answer.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.InvalidMessage });
    expect(result.after.items[0]?.resultStatus).toBe(ResultStatus.Success);
    expectServed(legit);
    note('20 × 30,000-deep nesting', legit, 'Invalid Message each time, connection kept');
  }, 30_000);

  it('holds thousands of idle connections in bounded memory and closes them on time', async () => {
    const { result, legit, heapGrowthMb, peakRssMb, beforeHeapMb } = await underAttack('idle connections', async () => {
      const tls: Socket[] = [];
      for (let batch = 0; batch < 500 / 25; batch++) tls.push(...(await Promise.all(Array.from({ length: 25 }, () => openTls(target.port, target.ca, registered())))));
      // In batches the server's accept queue (Node's default backlog, 511) can take.
      const tcp: Socket[] = [];
      for (let batch = 0; batch < 2_000 / 250; batch++) {
        tcp.push(...(await Promise.all(Array.from({ length: 250 }, () => openTcp(target.port)))));
        await sleep(100);
      }
      const heldOpen = (await target.memory()).heapMb;
      const started = performance.now();
      const [tcpClosed, tlsClosed] = await Promise.all([
        Promise.all(tcp.map((s) => closedWithin(s, LIMITS.handshakeTimeoutMs + SLACK_MS))),
        Promise.all(tls.map((s) => closedWithin(s, LIMITS.idleTimeoutMs + SLACK_MS))),
      ]);
      return { heldOpen, tcpClosed, tlsClosed, elapsed: performance.now() - started };
    });
    expect(result.tcpClosed.filter((ms) => ms === undefined)).toHaveLength(0);
    expect(result.tlsClosed.filter((ms) => ms === undefined)).toHaveLength(0);
    // 2,500 open connections: a few KB each at most (40 MB is 16 KB each), not the 1 MiB message limit each.
    expect(heapGrowthMb).toBeLessThan(20);
    expect(result.heldOpen - beforeHeapMb).toBeLessThan(40);
    expectServed(legit);
    note('2,000 idle TCP + 500 idle TLS connections', legit, `server heap while held ${result.heldOpen} MB (before ${beforeHeapMb} MB), peak RSS ${peakRssMb} MB, all closed by their timeouts`);
  }, 60_000);

  it('keeps serving through a handshake flood', async () => {
    const { result, legit } = await underAttack('handshake flood', async () => {
      const until = performance.now() + 4_000;
      let handshakes = 0;
      let abandoned = 0;
      const full = async () => {
        while (performance.now() < until) {
          const s = await openTls(target.port, target.ca, {}).catch(() => undefined);
          if (s) handshakes++;
          s?.destroy();
        }
      };
      const half = async () => {
        while (performance.now() < until) {
          const s = await openTcp(target.port).catch(() => undefined);
          s?.write(Buffer.from('160301', 'hex'));
          s?.destroy();
          abandoned++;
          await sleep(1);
        }
      };
      await Promise.all([...Array.from({ length: 12 }, full), ...Array.from({ length: 4 }, half)]);
      return { handshakes, abandoned };
    });
    expect(result.handshakes).toBeGreaterThan(100);
    expectServed(legit);
    expect(legit.p99Ms).toBeLessThan(2_000);
    note('4 s handshake flood', legit, `${result.handshakes} full handshakes and ${result.abandoned} abandoned ones`);
  }, 30_000);

  it('stops reading clients that never read their responses, bounds their memory and closes them', async () => {
    // A 192 KiB object: a few answers fill the kernel's buffers both ways, and then only our memory could.
    const client = await TestKmipClient.connect(target.port, { ca: target.ca, ...registered() });
    const registeredObject = await client.request(
      [{ operation: Operation.Register, payload: s(Tag.RequestPayload, [e(Tag.ObjectType, ObjectType.OpaqueObject), s(Tag.Attributes, []), s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, 'ab'.repeat(192 * 1024))])]) }],
      { version: 21 },
    );
    await client.close();
    const uid = registeredObject.items[0]?.payload?.['uniqueIdentifier'] as string;
    expect(uid).toBeTypeOf('string');
    const get = encodeRequest([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }], { version: 21 });
    const { result, legit, heapGrowthMb, beforeHeapMb } = await underAttack('never-reading clients', async () => {
      const sockets = await Promise.all(Array.from({ length: 20 }, () => openTls(target.port, target.ca, registered())));
      for (const socket of sockets) {
        socket.pause();
        for (let k = 0; k < 500; k++) socket.write(get);
      }
      await sleep(2_000);
      const whileStalled = await target.memory();
      // A client that reads nothing cannot see the close either: look once the server must have
      // closed. Node checks that a stalled write made no progress over one idle period, then another.
      await sleep(2 * LIMITS.idleTimeoutMs + SLACK_MS - 2_000);
      const received = sockets.map(() => 0);
      sockets.forEach((socket, k) => socket.on('data', (chunk: Buffer) => (received[k]! += chunk.length)).resume());
      const closed = await Promise.all(sockets.map((socket) => closedWithin(socket, 2_500)));
      return { whileStalled, closed, received };
    });
    // Closed by the server, before it had written even a tenth of the answers asked for.
    expect(result.closed.filter((ms) => ms === undefined)).toHaveLength(0);
    expect(Math.max(...result.received)).toBeLessThan((500 * get.length * 1024) / 10);
    expect(heapGrowthMb).toBeLessThan(20);
    // While stalled: what the server holds for 20 clients that read nothing, not 10,000 answers of 192 KiB.
    expect(result.whileStalled.heapMb - beforeHeapMb).toBeLessThan(20);
    expectServed(legit);
    note('20 never-reading clients', legit, `${20 * 500} Gets of a 192 KiB object offered, at most ${Math.round(Math.max(...result.received) / 1024)} KiB answered per client, server heap while stalled ${result.whileStalled.heapMb} MB (before ${beforeHeapMb} MB), all closed within two idle periods`);
  }, 40_000);
});
