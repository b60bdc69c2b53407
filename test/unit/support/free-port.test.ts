import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../support/free-port.js';

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

function listen(port: number): Promise<ReturnType<typeof createServer>> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('freePort', () => {
  it('gives ports below the ephemeral range that can be listened on, so outgoing connections cannot take them first', async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(15_000);
      expect(port).toBeLessThan(ephemeralLow);
      const s = await listen(port);
      await new Promise((r) => s.close(r));
      ports.add(port);
    }
    // Random, not one fixed port: two programs asking at once rarely get the same one.
    expect(ports.size).toBeGreaterThan(10);
  });
});
