import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmipListener } from '../../server/net/listener.js';
import { createLogger } from '../../server/log/logger.js';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { encodeTtlv } from '../../server/ttlv/index.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { decodeResponse, encodeRequest, TestKmipClient } from '../support/kmip-client.js';
import { createTestPki } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';
import type { MessageHandler } from '../../server/net/types.js';

let server: TestServer;
let cert: TestClientCert;

beforeAll(async () => {
  server = await startTestServer({
    limits: { maxMessageSize: 8192, idleTimeoutMs: 400, handshakeTimeoutMs: 400, maxBatchItems: 8, maxConnections: 40 },
  });
  ({ cert } = await server.tenant('t'));
});
afterAll(() => server.close());

const discover = () => encodeRequest([{ operation: Operation.DiscoverVersions }]);

function handshake(options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: server.port, ca: server.pki.ca.certificatePem, servername: 'localhost', cert: cert.certificatePem, key: cert.privateKeyPem, ...options }, () => {
      const result = { protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.destroy();
      resolve(result);
    });
    s.on('error', reject);
  });
}

function closedWithin(socket: { once(e: 'close', f: () => void): unknown; closed?: boolean }, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('TLS', () => {
  it('negotiates TLS_RSA_WITH_AES_128_CBC_SHA256 (vCenter 7.0.3) and AES_256 with the RSA server key', async () => {
    expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256' })).toEqual({ protocol: 'TLSv1.2', cipher: 'AES128-SHA256' });
    expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES256-SHA256' })).toEqual({ protocol: 'TLSv1.2', cipher: 'AES256-SHA256' });
  });

  it('prefers ECDHE-GCM on TLS 1.2 and speaks TLS 1.3', async () => {
    expect((await handshake({ maxVersion: 'TLSv1.2' })).cipher).toMatch(/^ECDHE-RSA-AES(128|256)-GCM-SHA(256|384)$/);
    expect((await handshake({})).protocol).toBe('TLSv1.3');
  });

  it('refuses TLS 1.0 and 1.1', async () => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      await expect(handshake({ minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
    }
  });

  it('refuses suites outside its list (RSA key exchange without SHA-256)', async () => {
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' })).rejects.toThrow();
  });

  it('does not renegotiate: a client that tries loses its connection', async () => {
    const client = await server.connect(cert, { maxVersion: 'TLSv1.2' });
    const closed = closedWithin(client.socket, 2000);
    client.socket.renegotiate({}, () => undefined);
    expect(await closed).toBe(true);
  });
});

describe('connections and limits', () => {
  it('serves many requests on one connection and pipelined requests in order', async () => {
    const client = await server.connect(cert);
    for (let i = 0; i < 100; i++) expect((await client.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
    const ids = Array.from({ length: 10 }, (_, i) => new Uint8Array([i]));
    // Written back to back without waiting: the server must answer each, in order.
    const responses = await Promise.all(ids.map((id) => client.send(encodeRequest([{ operation: Operation.DiscoverVersions, id }]))));
    expect(responses.map((r) => decodeResponse(r, 11).items[0]!.uniqueBatchItemId)).toEqual(ids);
  });

  it('serves parallel connections', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const c = await TestKmipClient.connect(server.port, { ca: server.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem });
        let ok = 0;
        for (let i = 0; i < 5; i++) if ((await c.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultStatus === ResultStatus.Success) ok++;
        await c.close();
        return ok;
      }),
    );
    expect(results.reduce((a, b) => a + b, 0)).toBe(150);
  });

  it('answers a framed message that is not KMIP with Invalid Message and keeps the connection', async () => {
    const client = await server.connect(cert);
    const garbage = encodeTtlv({ tag: 0x420001, type: 1, value: [{ tag: 0x420002, type: 7, value: 'not a request' }] });
    const r = decodeResponse(await client.send(garbage), 10);
    expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.InvalidMessage });
    expect((await client.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
  });

  it('refuses more batch items than the limit', async () => {
    const client = await server.connect(cert);
    const items = Array.from({ length: 9 }, (_, i) => ({ operation: Operation.DiscoverVersions, id: new Uint8Array([i]) }));
    const r = await client.request(items);
    expect(r.items).toHaveLength(1);
    expect(r.items[0]!.resultReason).toBe(ResultReason.InvalidMessage);
  });

  it('closes a connection whose header claims a message above the size limit, before reading it', async () => {
    const client = await server.connect(cert);
    const closed = closedWithin(client.socket, 2000);
    client.socket.write(Buffer.from('420078010000fff8', 'hex'));
    expect(await closed).toBe(true);
  });

  it('closes a connection that sends a real message above the size limit', async () => {
    const client = await server.connect(cert);
    const big = encodeRequest([{ operation: Operation.Query, payload: { tag: Tag.RequestPayload, type: 1, value: [{ tag: Tag.QueryFunction, type: 5, value: 1 }, ...Array.from({ length: 600 }, () => ({ tag: Tag.QueryFunction, type: 5 as const, value: 1 }))] } }]);
    expect(big.length).toBeGreaterThan(8192);
    const closed = closedWithin(client.socket, 2000);
    client.socket.write(big);
    expect(await closed).toBe(true);
  });

  it('closes idle connections after the idle timeout', async () => {
    const client = await server.connect(cert);
    await client.request([{ operation: Operation.DiscoverVersions }]);
    expect(await closedWithin(client.socket, 3000)).toBe(true);
  });

  it('closes a TCP connection that never starts the handshake', async () => {
    const socket = tcpConnect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    expect(await closedWithin(socket, 3000)).toBe(true);
  });

  it('refuses connections beyond the connection limit and serves again when they close', async () => {
    const limited = await startTestServer({ limits: { maxConnections: 5 } });
    const t = await limited.tenant('limited');
    const open: TestKmipClient[] = [];
    for (let i = 0; i < 5; i++) open.push(await limited.connect(t.cert));
    const extra = tcpConnect(limited.port, '127.0.0.1');
    extra.on('error', () => undefined);
    expect(await closedWithin(extra, 2000)).toBe(true);
    await Promise.all(open.map((c) => c.close()));
    await new Promise((r) => setTimeout(r, 100));
    const client = await limited.connect(t.cert);
    expect((await client.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
    await limited.close();
  });
});

/** A listener alone (no KMIP behind it) whose handler the test writes. */
function bareListener(pki: ReturnType<typeof createTestPki>, handler: MessageHandler): KmipListener {
  return new KmipListener({
    host: '127.0.0.1',
    port: 0,
    cert: pki.server.certificatePem,
    key: pki.server.privateKeyPem,
    limits: { maxMessageSize: 65536, maxConnections: 10, maxUnauthenticatedConnections: 64, handshakeTimeoutMs: 2000, idleTimeoutMs: 60_000, requestTimeoutMs: 10_000, maxQueuedMessages: 4 },
    logger: createLogger({ level: 'silent' }),
    handler,
  });
}

describe('drain', () => {
  it('lets an in-flight request finish and answer, refuses new connections, then closes', async () => {
    const pki = createTestPki();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const listener = bareListener(pki, async (message) => {
      started();
      await gate;
      return message; // echo
    });
    const port = await listener.start();
    const client = await TestKmipClient.connect(port, { ca: pki.ca.certificatePem });
    const idle = await TestKmipClient.connect(port, { ca: pki.ca.certificatePem });
    const response = client.send(discover());
    await inFlight;
    const drained = listener.drain(5000);
    await new Promise((r) => setTimeout(r, 50));
    await expect(TestKmipClient.connect(port, { ca: pki.ca.certificatePem })).rejects.toThrow();
    expect(await closedWithin(idle.socket, 2000)).toBe(true);
    release();
    expect(Buffer.from(await response).equals(Buffer.from(discover()))).toBe(true);
    await drained;
    expect(client.socket.destroyed || client.socket.readableEnded).toBe(true);
  });
});

describe('cancellation', () => {
  it('aborts the signal of a request in flight when its client goes away, and of no request once idle', async () => {
    const pki = createTestPki();
    const signals: AbortSignal[] = [];
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const listener = bareListener(pki, async (message, _info, signal) => {
      signals.push(signal);
      if (signals.length === 1) return message; // the idle connection's one request
      started();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return message;
    });
    const port = await listener.start();
    try {
      const idle = await TestKmipClient.connect(port, { ca: pki.ca.certificatePem });
      await idle.send(discover());
      const busy = await TestKmipClient.connect(port, { ca: pki.ca.certificatePem });
      void busy.send(discover()).catch(() => undefined);
      await inFlight;
      idle.socket.destroy();
      busy.socket.destroy();
      const deadline = Date.now() + 2000;
      while (!signals[1]!.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      expect(signals[1]!.aborted).toBe(true);
      expect(signals[0]!.aborted).toBe(false);
    } finally {
      await listener.drain(1000);
    }
  });
});
