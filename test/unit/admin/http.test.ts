import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer } from '../../../server/admin/http.js';
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
});
