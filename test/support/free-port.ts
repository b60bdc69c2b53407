/**
 * A port for a program that must be told its port before it starts (a config file, PyKMIP,
 * pg_createcluster). It is chosen below the kernel's ephemeral range: a port from listen(0) comes
 * from that range, and so does the local port of every outgoing connection, so between the check
 * and the program's own bind any client socket on the machine could take it (CI saw EADDRINUSE
 * that way during a handshake benchmark).
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Above the well-known service ports this project's tests and machine use (5432, 5696, 9696…). */
const LOWEST = 15_000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on now, outside the ephemeral range when it can be. */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  if (high - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await listenOnce(randomInt(LOWEST, high + 1));
      if (port !== undefined) return port;
    }
  }
  const port = await listenOnce(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}
