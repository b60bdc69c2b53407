/**
 * What a connection learns of its client's certificate (net/kmip-tls.ts connectionInfoOf), over real
 * TLS sockets: after a full handshake (read through getPeerCertificate and parsed once per
 * certificate) and after a resumed one (read from the session) it is the same certificate with the
 * fingerprint openssl computes; a client without a certificate has none.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, connect, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionInfoOf } from '../../server/net/kmip-tls.js';
import { KmipListener } from '../../server/net/listener.js';
import { createLogger } from '../../server/log/logger.js';
import { FrameReader } from '../../server/ttlv/index.js';
import type { ConnectionInfo } from '../../server/net/types.js';
import { createTestPki, type TestClientCert, type TestPki } from '../support/pki.js';

let pki: TestPki;
let alice: TestClientCert;
let bob: TestClientCert;
let server: Server;
let port: number;
const seen: ConnectionInfo[] = [];

beforeAll(async () => {
  pki = createTestPki();
  alice = pki.client('alice');
  bob = pki.client('bob');
  server = createServer(
    {
      cert: pki.server.certificatePem,
      key: pki.server.privateKeyPem,
      ca: pki.ca.certificatePem,
      requestCert: true,
      rejectUnauthorized: false,
      maxVersion: 'TLSv1.2',
    },
    (socket: TLSSocket) => {
      seen.push(connectionInfoOf(socket, seen.length + 1));
      socket.end('x');
    }
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(pki.dir, { recursive: true, force: true });
});

/** One connection; resolves with what the server made of it and the session to resume. */
function visit(
  client?: TestClientCert,
  session?: Buffer
): Promise<{
  info: ConnectionInfo;
  session: Buffer | undefined;
  reused: boolean;
}> {
  return new Promise((resolve, reject) => {
    const before = seen.length;
    let saved: Buffer | undefined;
    let reused = false;
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: pki.ca.certificatePem,
      servername: 'localhost',
      ...(client ? { cert: client.certificatePem, key: client.privateKeyPem } : {}),
      ...(session ? { session } : {}),
    });
    socket.on('secureConnect', () => (reused = socket.isSessionReused()));
    socket.on('session', (s: Buffer) => (saved = s));
    socket.on('data', () => undefined);
    socket.on('error', reject);
    socket.on('close', () => {
      const info = seen[before];
      if (!info) reject(new Error('the server saw no connection'));
      else resolve({ info, session: saved ?? socket.getSession(), reused });
    });
  });
}

const opensslFingerprint = (certFile: string) =>
  execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1]!.replaceAll(':', '').toLowerCase();

describe('the peer certificate of a connection', () => {
  it('after a full handshake: the client certificate, with the fingerprint openssl computes', async () => {
    const { info, reused } = await visit(alice);
    expect(reused).toBe(false);
    expect(info.resumed).toBe(false);
    expect(info.peerFingerprint).toBe(opensslFingerprint(alice.certFile));
    expect(info.peerFingerprint).toBe(alice.fingerprint);
    expect(info.peerCertificate?.subject).toBe(alice.subject);
    expect(info.peerCertificate?.raw.equals(new X509Certificate(alice.certificatePem).raw)).toBe(true);
  });

  it('after a resumed handshake: the same certificate and fingerprint', async () => {
    const first = await visit(alice);
    const again = await visit(alice, first.session);
    expect(again.reused).toBe(true);
    expect(again.info.resumed).toBe(true);
    expect(again.info.peerFingerprint).toBe(opensslFingerprint(alice.certFile));
    expect(again.info.peerCertificate?.raw.equals(first.info.peerCertificate!.raw)).toBe(true);
    // The object already parsed for this certificate: its validity dates are not read again.
    expect(again.info.peerCertificate).toBe(first.info.peerCertificate);
    expect(again.info.remoteAddress).toBe('127.0.0.1');
  });

  it('tells two clients apart, and parses each certificate once across connections', async () => {
    const a1 = await visit(alice);
    const b1 = await visit(bob);
    const a2 = await visit(alice);
    expect(b1.info.peerFingerprint).toBe(opensslFingerprint(bob.certFile));
    expect(b1.info.peerFingerprint).not.toBe(a1.info.peerFingerprint);
    expect(b1.info.peerCertificate?.subject).toBe(bob.subject);
    expect(a2.info.peerCertificate).toBe(a1.info.peerCertificate);
  });

  it('does not keep a certificate of unusual size (anyone can present one), and still reads it right', async () => {
    const large = pki.client('large', { dnsNames: Array.from({ length: 400 }, (_, i) => `host-${i}.an-unusually-long-name.example`) });
    expect(new X509Certificate(large.certificatePem).raw.length).toBeGreaterThan(8192);
    const first = await visit(large);
    const again = await visit(large);
    expect(again.info.peerFingerprint).toBe(opensslFingerprint(large.certFile));
    expect(again.info.peerCertificate?.subject).toBe(large.subject);
    expect(again.info.peerCertificate).not.toBe(first.info.peerCertificate);
  });

  it('a client without a certificate has none', async () => {
    const { info } = await visit();
    expect(info.peerCertificate).toBeUndefined();
    expect(info.peerFingerprint).toBeUndefined();
  });

  it('through the KMIP listener: each connection gets its address and certificate, and a finished handshake no longer counts', async () => {
    const infos: ConnectionInfo[] = [];
    const listener = new KmipListener({
      host: '127.0.0.1',
      port: 0,
      cert: pki.server.certificatePem,
      key: pki.server.privateKeyPem,
      ca: pki.ca.certificatePem,
      // Three at once, no more: a handshake still counted after it finished would refuse the third.
      limits: {
        maxMessageSize: 4096,
        maxConnections: 3,
        maxUnauthenticatedConnections: 3,
        handshakeTimeoutMs: 5000,
        idleTimeoutMs: 5000,
        requestTimeoutMs: 5000,
        maxQueuedMessages: 4,
      },
      handler: async (message, info) => {
        infos.push(info);
        return message;
      },
      logger: createLogger({ level: 'silent' }),
    });
    const listenerPort = await listener.start();
    const message = Buffer.from([0x42, 0, 0x78, 1, 0, 0, 0, 0]);
    const sockets: TLSSocket[] = [];
    // One after another, each kept open: the next one's count includes every finished handshake before it.
    for (const client of [alice, bob, alice]) {
      sockets.push(
        await new Promise<TLSSocket>((resolve, reject) => {
          const socket = connect(
            {
              host: '127.0.0.1',
              port: listenerPort,
              ca: pki.ca.certificatePem,
              servername: 'localhost',
              cert: client.certificatePem,
              key: client.privateKeyPem,
            },
            () => socket.write(message)
          );
          const framer = new FrameReader(4096);
          socket.on('data', (chunk: Buffer) => framer.push(chunk).length > 0 && resolve(socket));
          socket.on('error', reject);
          socket.on('close', () => reject(new Error('closed before its answer')));
        })
      );
    }
    try {
      expect(infos.map((i) => i.remoteAddress)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
      expect(infos.map((i) => i.peerFingerprint).sort()).toEqual([alice.fingerprint, alice.fingerprint, bob.fingerprint].sort());
      expect(listener.connectionCount).toBe(3);
    } finally {
      for (const s of sockets) s.destroy();
      await listener.drain(100);
    }
  });
});
