/** Fills a server with named keys through KMIP (batches of Create), for the Get and Locate scenarios. */
import { connect } from 'node:tls';
import { FrameReader } from '../server/ttlv/index.js';
import { allSucceeded, readResponse, requests } from './load/scenarios.js';
import type { ServerUnderTest } from './servers.js';

/** Sends one Get per key, so the scenario measures steady-state Gets, not the one write a key's first Get makes (Fresh). */
export async function getEach(server: ServerUnderTest, uids: readonly string[], connections = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async (_, slot) => {
      const socket = connect({ host: '127.0.0.1', port: server.ports[slot % server.ports.length]!, servername: 'localhost', ca: server.tls.ca, cert: server.tls.cert, key: server.tls.key });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      const framer = new FrameReader(1 << 24);
      const responses: Buffer[] = [];
      let wake: (() => void) | undefined;
      socket.on('data', (chunk: Buffer) => {
        responses.push(...framer.push(chunk));
        wake?.();
      });
      while (next < uids.length) {
        socket.write(requests.get(uids[next++]!));
        while (responses.length === 0) await new Promise<void>((r) => (wake = r));
        responses.shift();
      }
      socket.destroy();
    }),
  );
}

export async function populate(server: ServerUnderTest, count: number, prefix: string, options: { batch: number; connections: number }): Promise<string[]> {
  const uids: string[] = [];
  let next = 0;
  const worker = async (slot: number) => {
    const socket = connect({
      host: '127.0.0.1',
      port: server.ports[slot % server.ports.length]!,
      servername: 'localhost',
      ca: server.tls.ca,
      cert: server.tls.cert,
      key: server.tls.key,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const framer = new FrameReader(1 << 24);
    const responses: Buffer[] = [];
    let wake: (() => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      responses.push(...framer.push(chunk));
      wake?.();
    });
    while (next < count) {
      const from = next;
      next = Math.min(count, next + options.batch);
      const names = Array.from({ length: next - from }, (_, i) => `${prefix}-${from + i}`);
      socket.write(names.length === 1 ? requests.create(names[0]) : requests.createBatch(names));
      while (responses.length === 0) await new Promise<void>((r) => (wake = r));
      const { statuses, uids: created } = readResponse(responses.shift()!);
      if (!allSucceeded(statuses)) throw new Error(`population failed at ${from}: statuses ${statuses.join(',')}`);
      uids.push(...created);
    }
    socket.destroy();
  };
  await Promise.all(Array.from({ length: options.connections }, (_, slot) => worker(slot)));
  return uids;
}
