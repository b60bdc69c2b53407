/**
 * A private PostgreSQL cluster (Debian's pg_createcluster) that a test may stop and restart at will
 * without disturbing the shared server. Needs root and postgresql-common; elsewhere its tests skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { requirement } from './env.js';

export function privatePostgresSkipReason(): string | undefined {
  const ok = process.getuid?.() === 0 && existsSync('/usr/bin/pg_createcluster') && existsSync('/etc/postgresql');
  return requirement('a private PostgreSQL cluster (root and pg_createcluster)', ok, 'run the suite as root on Debian with postgresql installed');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PrivatePostgres {
  readonly url: string;
  stop(): void;
  start(): void;
  restart(): void;
  drop(): void;
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  const name = `kmip${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: 'pipe', timeout: 60_000 });
  run('pg_createcluster', version, name, '-p', String(port), '--', '--auth=trust');
  const ctl = (action: string) => run('pg_ctlcluster', '--skip-systemctl-redirect', version, name, action);
  ctl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => ctl('stop'),
    start: () => ctl('start'),
    restart: () => ctl('restart'),
    drop: () => run('pg_dropcluster', '--stop', version, name),
  };
}
