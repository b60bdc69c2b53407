/**
 * A private PostgreSQL cluster (Debian's pg_createcluster) that a test may stop and restart at will
 * without disturbing the shared server. Needs root and postgresql-common; elsewhere its tests skip.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { requirement } from './env.js';
import { freePort } from './free-port.js';

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
  /** Replaces the TLS certificate chain and key (a cluster made with `tls`); they take effect at the next start or restart. */
  useTls(tls: NonNullable<PrivatePostgresOptions['tls']>): void;
  drop(): void;
}

export interface PrivatePostgresOptions {
  /** Serve TLS (ssl=on) with this certificate chain and key (PEM); clients may still connect without it. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** The cluster name's start (letters, digits, underscores), e.g. to carry the owner's pid for a later sweep. @default kmip */
  readonly namePrefix?: string;
}

export async function createPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  const name = `${options.namePrefix ?? 'kmip'}${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: 'pipe', timeout: 60_000 });
  const confDir = `/etc/postgresql/${version}/${name}`;
  run('pg_createcluster', version, name, '-p', String(port), '--', '--auth=trust');
  const drop = () => {
    run('pg_dropcluster', '--stop', version, name);
    rmSync(confDir, { recursive: true, force: true });
  };
  const useTls = (tls: { readonly certPem: string; readonly keyPem: string }) => {
    // PostgreSQL refuses a key file that others can read; the server runs as the postgres user.
    writeFileSync(`${confDir}/server.crt`, tls.certPem);
    writeFileSync(`${confDir}/server.key`, tls.keyPem, { mode: 0o600 });
    const pg = userInfoOf('postgres');
    chownSync(`${confDir}/server.crt`, pg.uid, pg.gid);
    chownSync(`${confDir}/server.key`, pg.uid, pg.gid);
  };
  if (options.tls) {
    // pg_createcluster turns `ssl` off without Debian's snakeoil certificate, whatever it is told: conf.d wins.
    mkdirSync(`${confDir}/conf.d`, { recursive: true });
    writeFileSync(`${confDir}/conf.d/90-tls.conf`, `ssl = on\nssl_cert_file = '${confDir}/server.crt'\nssl_key_file = '${confDir}/server.key'\n`);
    useTls(options.tls);
  }
  const ctl = (action: string) => run('pg_ctlcluster', '--skip-systemctl-redirect', version, name, action);
  try {
    ctl('start');
  } catch (err) {
    // A cluster that was made but would not start is not left behind.
    drop();
    throw err;
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => ctl('stop'),
    start: () => ctl('start'),
    restart: () => ctl('restart'),
    useTls: (tls) => {
      if (!options.tls) throw new Error('this cluster was made without TLS');
      useTls(tls);
    },
    drop,
  };
}
