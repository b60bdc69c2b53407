/** Raw sockets and hostile messages for connection-abuse tests (127.0.0.1 only). */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { encodeTtlv } from '../../server/ttlv/index.js';
import { Operation } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { e, i, s } from './ttlv-builder.js';

export interface TlsIdentity {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** A TLS connection once its handshake is done; errors are swallowed (the server closing is the point). */
export function openTls(port: number, ca: string, identity: TlsIdentity = {}, timeoutMs = 10_000): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(identity.cert ? { cert: identity.cert, key: identity.key } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`handshake not done within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A TCP connection that never starts TLS. */
export function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.on('error', () => undefined);
  });
}

/** Resolves with the milliseconds until the socket closed, or undefined if it stayed open for `ms`. */
export function closedWithin(socket: Socket, ms: number): Promise<number | undefined> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(0);
    const timer = setTimeout(() => resolve(undefined), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function header(tagAndType: number, length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(tagAndType, 0);
  h.writeUInt32BE(length, 4);
  return h;
}

/**
 * A 1.1 Query whose payload nests `depth` structures: built byte by byte, as no encoder (ours
 * included) should be asked to recurse that deep.
 */
export function deeplyNestedRequest(depth: number): Buffer {
  const requestHeader = Buffer.from(
    encodeTtlv(s(Tag.RequestHeader, [s(Tag.ProtocolVersion, [i(Tag.ProtocolVersionMajor, 1), i(Tag.ProtocolVersionMinor, 1)]), i(Tag.BatchCount, 1)])),
  );
  const operation = Buffer.from(encodeTtlv(e(Tag.Operation, Operation.Query)));
  const nest = Buffer.alloc(8 * depth);
  for (let k = 0; k < depth; k++) {
    nest.writeUInt32BE((Tag.RequestPayload << 8) | 0x01, 8 * k);
    nest.writeUInt32BE(8 * (depth - 1 - k), 8 * k + 4);
  }
  const batchItem = Buffer.concat([header((Tag.BatchItem << 8) | 0x01, operation.length + nest.length), operation, nest]);
  return Buffer.concat([header((Tag.RequestMessage << 8) | 0x01, requestHeader.length + batchItem.length), requestHeader, batchItem]);
}
