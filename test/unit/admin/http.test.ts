import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { AdminServer, exemptFromDeadline, type Route } from '../../../server/admin/http.js';
import { createLogger } from '../../../server/log/logger.js';
import { MetricsRegistry } from '../../../server/metrics/registry.js';

let server: AdminServer | undefined;
afterEach(() => server?.close());

async function start(checks: ConstructorParameters<typeof AdminServer>[0]['checks']): Promise<number> {
  const registry = new MetricsRegistry();
  registry.counter('demo_total', 'a demo counter').inc({ op: 'Get' }, 3);
  server = new AdminServer({ host: '127.0.0.1', port: 0, checks, metrics: () => registry.render(), logger: createLogger({ level: 'silent' }), readinessTimeoutMs: 200 });
  return server.start();
}

describe('admin port', () => {
  it('is ready when every check passes', async () => {
    const port = await start([{ name: 'store', run: async () => undefined }]);
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ready: true, checks: { store: 'ok' } });
  });

  it('is not ready (503) when a check fails or hangs past its deadline, naming which', async () => {
    const port = await start([
      { name: 'store', run: async () => { throw new Error('database unreachable'); } },
      { name: 'rootKey', run: () => new Promise(() => undefined) },
      { name: 'other', run: async () => undefined },
    ]);
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ ready: false, checks: { store: 'database unreachable', rootKey: 'timed out after 200 ms', other: 'ok' } });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('serves Prometheus text and 404 for anything else', async () => {
    const port = await start([]);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('demo_total{op="Get"} 3');
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  });

  it('closes a request whose body trickles in past the request deadline, unless the route exempts it', async () => {
    // Stands in for the management API, which exempts authorized calls only.
    const long: Route = async (req, res) => {
      if (!req.url?.startsWith('/long')) return false;
      exemptFromDeadline(req);
      let size = 0;
      for await (const chunk of req) size += (chunk as Buffer).length;
      res.writeHead(200, { connection: 'close', 'content-length': String(String(size).length) }).end(String(size));
      return true;
    };
    server = new AdminServer({ host: '127.0.0.1', port: 0, checks: [], metrics: () => '', logger: createLogger({ level: 'silent' }), requestTimeoutMs: 800, routes: [long] });
    const port = await server.start();
    const trickle = (path: string, bytes: number) =>
      new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
        const started = performance.now();
        const socket = connect(port, '127.0.0.1', () => socket.write(`POST ${path} HTTP/1.1\r\nHost: admin\r\nContent-Length: ${bytes}\r\n\r\n`));
        let sent = 0;
        let answer = '';
        const drip = setInterval(() => {
          if (sent < bytes && !socket.destroyed) socket.write('x', () => undefined), sent++;
        }, 100);
        socket.on('data', (d: Buffer) => (answer += d.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(drip);
          resolve({ closedAfterMs: performance.now() - started, answer });
        });
        setTimeout(() => socket.destroy(), 5_000);
      });
    const [slow, exempted] = await Promise.all([trickle('/metrics', 1_000), trickle('/long', 15)]);
    // One byte every 100 ms keeps the idle timer happy; the deadline cuts it.
    expect(slow.closedAfterMs).toBeGreaterThan(700);
    expect(slow.closedAfterMs).toBeLessThan(3_000);
    // The exempt request outlived the deadline (15 bytes take 1.5 s) and was answered in full.
    expect(exempted.answer).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\n\r\n15$/);
  });
});
