/**
 * A private PostgreSQL cluster (Debian's pg_createcluster) that a test may stop and restart at will
 * without disturbing the shared server. Needs root and postgresql-common; elsewhere its tests skip.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { freePort, requirement } from './env.js';

export function privatePostgresSkipReason(): string | undefined {
  const ok = process.getuid?.() === 0 && existsSync('/usr/bin/pg_createcluster') && existsSync('/etc/postgresql');
  return requirement('a private PostgreSQL cluster (root and pg_createcluster)', ok, 'run the suite as root on Debian with postgresql installed');
}


function userInfoOf(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  if (!line) throw new Error(`no user ${name}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PrivatePostgres {
  readonly port: number;
  readonly url: string;
  stop(): void;
  start(): void;
  restart(): void;
  drop(): void;
}

export interface PrivatePostgresOptions {
  /** Serve TLS (ssl=on) with this certificate chain and key (PEM); clients may still connect without it. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
}

export async function createPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  const name = `kmip${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: 'pipe', timeout: 60_000 });
  const confDir = `/etc/postgresql/${version}/${name}`;
  run('pg_createcluster', version, name, '-p', String(port), '--', '--auth=trust');
  if (options.tls) {
    // pg_createcluster turns `ssl` off without Debian's snakeoil certificate, whatever it is told: conf.d wins.
    mkdirSync(`${confDir}/conf.d`, { recursive: true });
    writeFileSync(`${confDir}/conf.d/90-tls.conf`, `ssl = on\nssl_cert_file = '${confDir}/server.crt'\nssl_key_file = '${confDir}/server.key'\n`);
    // PostgreSQL refuses a key file that others can read; the server runs as the postgres user.
    writeFileSync(`${confDir}/server.crt`, options.tls.certPem);
    writeFileSync(`${confDir}/server.key`, options.tls.keyPem, { mode: 0o600 });
    const pg = userInfoOf('postgres');
    chownSync(`${confDir}/server.crt`, pg.uid, pg.gid);
    chownSync(`${confDir}/server.key`, pg.uid, pg.gid);
  }
  const ctl = (action: string) => run('pg_ctlcluster', '--skip-systemctl-redirect', version, name, action);
  ctl('start');
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => ctl('stop'),
    start: () => ctl('start'),
    restart: () => ctl('restart'),
    drop: () => {
      run('pg_dropcluster', '--stop', version, name);
      rmSync(confDir, { recursive: true, force: true });
    },
  };
}
