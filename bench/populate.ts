/** Fills a server with named keys through KMIP (batches of Create), for the Get and Locate scenarios. */
import { connect } from 'node:tls';
import { FrameReader } from '../server/ttlv/index.js';
import { allSucceeded, readResponse, requests } from './load/scenarios.js';
import type { ServerUnderTest } from './servers.js';

/** One TLS connection to node `slot` of the server that sends a request and waits for its answer. */
async function openExchange(server: ServerUnderTest, slot: number): Promise<{ exchange(request: Uint8Array): Promise<Buffer>; close(): void }> {
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
  return {
    async exchange(request) {
      socket.write(request);
      while (responses.length === 0) await new Promise<void>((r) => (wake = r));
      return responses.shift()!;
    },
    close: () => socket.destroy(),
  };
}

/** Sends one Get per key, so the scenario measures steady-state Gets, not the one write a key's first Get makes (Fresh). */
export async function getEach(server: ServerUnderTest, uids: readonly string[], connections = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async (_, slot) => {
      const connection = await openExchange(server, slot);
      while (next < uids.length) await connection.exchange(requests.get(uids[next++]!));
      connection.close();
    }),
  );
}

export async function populate(server: ServerUnderTest, count: number, prefix: string, options: { batch: number; connections: number }): Promise<string[]> {
  const uids: string[] = [];
  let next = 0;
  const worker = async (slot: number) => {
    const connection = await openExchange(server, slot);
    while (next < count) {
      const from = next;
      next = Math.min(count, next + options.batch);
      const names = Array.from({ length: next - from }, (_, i) => `${prefix}-${from + i}`);
      const { statuses, uids: created } = readResponse(await connection.exchange(names.length === 1 ? requests.create(names[0]) : requests.createBatch(names)));
      if (!allSucceeded(statuses)) throw new Error(`population failed at ${from}: statuses ${statuses.join(',')}`);
      uids.push(...created);
    }
    connection.close();
  };
  await Promise.all(Array.from({ length: options.connections }, (_, slot) => worker(slot)));
  return uids;
}

/** One Active AES-256 key that may encrypt, for the encrypt scenario. */
export async function encryptionKey(server: ServerUnderTest): Promise<string> {
  const connection = await openExchange(server, 0);
  try {
    const created = readResponse(await connection.exchange(requests.create('bench-encrypt')));
    const uid = created.uids[0];
    if (!uid || !allSucceeded(created.statuses)) throw new Error(`could not create the encryption key: statuses ${created.statuses.join(',')}`);
    const activated = readResponse(await connection.exchange(requests.activate(uid)));
    if (!allSucceeded(activated.statuses)) throw new Error(`could not activate the encryption key: statuses ${activated.statuses.join(',')}`);
    return uid;
  } finally {
    connection.close();
  }
}
