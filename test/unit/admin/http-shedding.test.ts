/**
 * The admin port's defences against sockets that never finish a request (issue 18, finding 2):
 * headers must be complete within the header timeout (TLS handshake included, and on a kept-alive
 * connection too), and at the connection cap the oldest socket with no request under way is closed
 * to make room for a new one, so a health probe is answered; an authorized (exempt) request is not.
 */
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer, exemptFromDeadline, type AdminServerOptions, type Route } from '../../../server/admin/http.js';
import { createLogger } from '../../../server/log/logger.js';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { closedWithin, sleep } from '../../support/abuse.js';

let server: AdminServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

function start(options: Partial<AdminServerOptions>): Promise<number> {
  server = new AdminServer({ host: '127.0.0.1', port: 0, checks: [{ name: 'store', run: async () => undefined }], metrics: () => '', logger: createLogger({ level: 'silent' }), ...options });
  return server.start();
}

function open(port: number, bytes?: string | Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      if (bytes !== undefined) socket.write(bytes);
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
    sockets.push(socket);
  });
}

const HALF_HEADER = 'GET /v1/tenants HTTP/1.1\r\nHost: admin\r\nX-Slow: ';

function get(port: number, path: string, tls?: boolean): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const done = (res: import('node:http').IncomingMessage) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    };
    const options = { host: '127.0.0.1', port, path, agent: false, timeout: 2_000 } as const;
    const req = tls ? httpsRequest({ ...options, rejectUnauthorized: false }, done) : request(options, done);
    req.once('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.once('error', reject);
    req.end();
  });
}

describe('admin port: header timeout and shedding', () => {
  it('closes a socket that sends half a header, or nothing, within the header timeout', async () => {
    const port = await start({ headersTimeoutMs: 600 });
    const [half, silent] = await Promise.all([open(port, HALF_HEADER), open(port)]);
    const closed = await Promise.all([closedWithin(half, 3_000), closedWithin(silent, 3_000)]);
    for (const ms of closed) {
      expect(ms).toBeDefined();
      expect(ms!).toBeGreaterThan(400);
    }
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it('closes a kept-alive connection whose next header stalls', async () => {
    const port = await start({ headersTimeoutMs: 600 });
    const socket = await open(port, 'GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write(HALF_HEADER);
    expect(await closedWithin(socket, 3_000)).toBeDefined();
  });

  it('at the cap, closes the oldest socket that has not completed a request so a probe is answered', async () => {
    const port = await start({ maxConnections: 4 });
    const attackers: Socket[] = [];
    for (let k = 0; k < 4; k++) attackers.push(await open(port, HALF_HEADER));
    await sleep(50);
    const probe = await get(port, '/readyz');
    expect(probe.status).toBe(200);
    expect(probe.ms).toBeLessThan(1_000);
    await sleep(50);
    expect(attackers.map((s) => s.destroyed)).toEqual([true, false, false, false]);
  });

  it('at the cap, never sheds an authorized request that streams (exempt from the deadline)', async () => {
    let exempted = () => undefined as void;
    const upload: Route = async (req, res) => {
      if (!req.url?.startsWith('/upload')) return false;
      exemptFromDeadline(req);
      exempted();
      for await (const _ of req) void _;
      res.writeHead(200).end('done');
      return true;
    };
    const port = await start({ maxConnections: 2, routes: [upload] });
    const routed = new Promise<void>((resolve) => (exempted = resolve));
    const uploader = await open(port, 'POST /upload HTTP/1.1\r\nHost: admin\r\nContent-Length: 100\r\n\r\nabc');
    await routed;
    const slow = await open(port, HALF_HEADER);
    await sleep(50);
    expect((await get(port, '/healthz')).status).toBe(200);
    await sleep(50);
    expect(slow.destroyed).toBe(true);
    expect(uploader.destroyed).toBe(false);
  });

  it('over TLS: closes a stalled handshake within the header timeout, and sheds it for a probe at the cap', async () => {
    const cert = issueCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const tls = { cert: Buffer.from(cert.certificatePem), key: Buffer.from(cert.privateKeyPem) };
    let port = await start({ tls, headersTimeoutMs: 600 });
    const stalled = await open(port, Buffer.from('160301', 'hex'));
    const halfHeader = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => halfHeader.write(HALF_HEADER));
    halfHeader.on('error', () => undefined);
    sockets.push(halfHeader);
    const closed = await Promise.all([closedWithin(stalled, 3_000), closedWithin(halfHeader, 3_000)]);
    expect(closed.every((ms) => ms !== undefined)).toBe(true);
    await server!.close();

    port = await start({ tls, maxConnections: 3 });
    const attackers = [await open(port, Buffer.from('160301', 'hex')), await open(port, Buffer.from('160301', 'hex')), await open(port)];
    await sleep(50);
    const probe = await get(port, '/readyz', true);
    expect(probe.status).toBe(200);
    await sleep(50);
    expect(attackers.map((s) => s.destroyed)).toEqual([true, false, false]);
  });
});
