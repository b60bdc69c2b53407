/**
 * Starving the admin port without credentials (issue 18, finding 2): hundreds of sockets that send
 * part of a request header (or of a TLS handshake) and go silent, reopened as soon as they close,
 * against the built server in a process of its own. Meanwhile /readyz and /healthz are probed as a
 * load balancer would, on fresh connections: every probe must be answered within a second.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devPkiPaths } from '../../server/pki/dev-pki.js';
import { sleep } from '../support/abuse.js';
import { assertBuilt, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';

const ATTACKERS = 300;
const PROBE_EVERY_MS = 500;
const PROBE_DEADLINE_MS = 1_000;
const figures: string[] = [];

interface Attack {
  readonly opened: () => number;
  readonly open: () => number;
  stop(): void;
}

/**
 * `count` attackers, each keeping one socket open that did `start` and then nothing; a closed one
 * is reopened at once (after a 5 ms pause, so the attack does not starve the probes of this process).
 */
function attack(count: number, start: (onClose: () => void) => Socket): Attack {
  let stopped = false;
  let opened = 0;
  const live = new Set<Socket>();
  const spawn = () => {
    if (stopped) return;
    opened++;
    const socket = start(() => {
      live.delete(socket);
      if (!stopped) setTimeout(spawn, 5);
    });
    live.add(socket);
    socket.on('error', () => undefined);
  };
  for (let k = 0; k < count; k++) setTimeout(spawn, k % 50);
  return {
    opened: () => opened,
    open: () => live.size,
    stop() {
      stopped = true;
      for (const s of live) s.destroy();
    },
  };
}

const PARTIAL_HEADER = 'GET /v1/tenants HTTP/1.1\r\nHost: admin\r\nX-Slow: ';

const partialHttp = (port: number) => (onClose: () => void) => {
  const socket = tcpConnect(port, '127.0.0.1', () => socket.write(PARTIAL_HEADER));
  socket.once('close', onClose);
  return socket;
};

const partialHttps = (port: number, ca: string) => (onClose: () => void) => {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write(PARTIAL_HEADER));
  socket.once('close', onClose);
  return socket as Socket;
};

/** The first bytes of a TLS record and nothing more: a handshake that never completes. */
const partialHandshake = (port: number) => (onClose: () => void) => {
  const socket = tcpConnect(port, '127.0.0.1', () => socket.write(Buffer.from('160301', 'hex')));
  socket.once('close', onClose);
  return socket;
};

interface ProbeResult {
  readonly path: string;
  readonly ms: number;
  readonly status?: number;
  readonly error?: string;
}

function probe(tls: { ca: string } | undefined, port: number, path: string): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { status?: number; error?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ path, ms: Math.round(performance.now() - started), ...r });
    };
    const options = { host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } } as const;
    const onResponse = (res: import('node:http').IncomingMessage) => {
      res.resume();
      res.once('end', () => finish({ status: res.statusCode ?? 0 }));
    };
    const req = tls ? httpsRequest({ ...options, ca: tls.ca, servername: 'localhost' }, onResponse) : httpRequest(options, onResponse);
    const timer = setTimeout(() => finish({ error: `no answer within ${PROBE_DEADLINE_MS} ms` }), PROBE_DEADLINE_MS);
    req.on('error', (err) => finish({ error: err.message }));
    req.end();
  });
}

/** Probes /readyz and /healthz every PROBE_EVERY_MS for `ms` while `attackers` run. */
async function probeThroughout(tls: { ca: string } | undefined, port: number, ms: number, attackers: Attack[]): Promise<ProbeResult[]> {
  const results: Promise<ProbeResult>[] = [];
  // Let the attack fill the server's sockets first.
  await sleep(1_000);
  const until = performance.now() + ms;
  while (performance.now() < until) {
    results.push(probe(tls, port, '/readyz'), probe(tls, port, '/healthz'));
    await sleep(PROBE_EVERY_MS);
  }
  const all = await Promise.all(results);
  for (const a of attackers) a.stop();
  return all;
}

function judge(name: string, results: ProbeResult[], attackers: Attack[], atLeast: number): void {
  const failed = results.filter((r) => r.error !== undefined || r.status !== 200);
  const maxMs = Math.max(...results.map((r) => r.ms));
  const opened = attackers.reduce((n, a) => n + a.opened(), 0);
  figures.push(`${name}: ${results.length - failed.length}/${results.length} probes answered 200 within ${PROBE_DEADLINE_MS} ms, max ${maxMs} ms; ${opened} attacking sockets opened`);
  expect(failed.slice(0, 5)).toEqual([]);
  expect(results.length).toBeGreaterThanOrEqual(atLeast);
  // The attack pressed on the cap: sockets were closed and reopened, not merely held.
  expect(opened).toBeGreaterThan(ATTACKERS);
}

describe('admin port under a slow-header flood', () => {
  let dir: string;
  let server: RunningServer | undefined;

  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'kmip-admin-slowloris-'));
  });
  afterAll(async () => {
    await server?.stop();
    console.log(`admin port under attack (server in its own process):\n  ${figures.join('\n  ')}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('over HTTP: 300 sockets holding half a header for 11 s do not keep /readyz or /healthz from answering', async () => {
    server = await startServerProcess(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', '--log-level', 'warn']);
    const port = server.adminPort;
    const attackers = [attack(ATTACKERS, partialHttp(port))];
    const results = await probeThroughout(undefined, port, 10_000, attackers);
    await server.stop();
    server = undefined;
    judge('HTTP, 300 half-header sockets for 11 s', results, attackers, 36);
  }, 40_000);

  it('over HTTPS: half-done handshakes and half headers do not keep /readyz or /healthz from answering', async () => {
    // The --dev run above made the PKI, root key and store this production-style config uses.
    const pki = devPkiPaths(dir);
    const file = join(dir, 'server.json');
    writeFileSync(
      file,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0, tls: { certFile: pki.serverCert, keyFile: pki.serverKey } },
        tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
        store: { kind: 'sqlite', path: join(dir, 'kmip.db') },
        wrap: { kind: 'local', keyFile: join(dir, 'root-key.json') },
        log: { level: 'info' },
      }),
    );
    server = await startServerProcess(process.execPath, [SERVER_MAIN, '--config', file], undefined, 30_000, /"kmip":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/);
    const port = server.adminPort;
    const ca = readFileSync(pki.caCert, 'utf8');
    const attackers = [attack(ATTACKERS / 2, partialHandshake(port)), attack(ATTACKERS / 2, partialHttps(port, ca))];
    const results = await probeThroughout({ ca }, port, 4_000, attackers);
    await server.stop();
    server = undefined;
    judge('HTTPS, 150 half handshakes + 150 half headers for 5 s', results, attackers, 14);
  }, 40_000);
});
