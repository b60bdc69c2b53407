/**
 * A restore is all or nothing across a crash (issue 18, finding 4): the target server is killed with
 * SIGKILL at seeded random points of a restore upload (spread over the bytes sent, and past the end
 * record into the publish), then restarted on the same data. The store is either exactly as before
 * (no restored key, tenant or certificate; a retry restores everything) or fully restored (a retry
 * is refused as the store is no longer empty). While the upload runs, nothing it brought serves: a
 * restored key is not gettable and a restored certificate is not registered.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { freshDatabase, postgresSkipReason } from '../support/postgres.js';
import { assertBuilt, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';
import { prng } from '../support/prng.js';

const pgSkip = await postgresSkipReason();
const KEYS = 400;
const SQLITE_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const POSTGRES_SEEDS = [101, 102, 103];
const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };
const dirs: string[] = [];

function start(dir: string, databaseUrl?: string): Promise<RunningServer> {
  const args = [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', '--log-level', 'warn'];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  return startServerProcess(process.execPath, args);
}

function tlsOf(dir: string) {
  return { ca: readFileSync(join(dir, 'pki/ca.pem')), cert: readFileSync(join(dir, 'pki/client-cert.pem')), key: readFileSync(join(dir, 'pki/client-key.pem')) };
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin(server: RunningServer, dir: string, method: string, path: string, body?: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.adminPort, method, path, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/x-ndjson' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function gettable(server: RunningServer, dir: string, uid: string): Promise<boolean> {
  const client = await TestKmipClient.connect(server.kmipPort, tlsOf(dir));
  try {
    const r = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
    return r.items[0]!.resultStatus === ResultStatus.Success;
  } finally {
    await client.close();
  }
}

const fingerprints = async (server: RunningServer, dir: string) =>
  ((await admin(server, dir, 'GET', '/v1/certs')).json['certificates'] as Array<{ fingerprint: string }>).map((c) => c.fingerprint).sort();
const keysHeld = async (server: RunningServer, dir: string) => (await admin(server, dir, 'GET', '/v1/restore')).json['keys'] as number;

describe('SIGKILL during a restore', () => {
  let snapshot: Buffer;
  let uids: string[];
  let sourceCerts: string[];
  let template: string;

  beforeAll(async () => {
    assertBuilt();
    const sourceDir = mkdtempSync(join(tmpdir(), 'kmip-restore-src-'));
    template = mkdtempSync(join(tmpdir(), 'kmip-restore-tpl-'));
    dirs.push(sourceDir, template);
    const source = await start(sourceDir);
    try {
      const clients = await Promise.all(Array.from({ length: 8 }, () => TestKmipClient.connect(source.kmipPort, tlsOf(sourceDir))));
      const made = await Promise.all(
        clients.map(async (c) => {
          const mine: string[] = [];
          for (let i = 0; i < KEYS / clients.length; i++) mine.push((await c.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string);
          await c.close();
          return mine;
        }),
      );
      uids = made.flat();
      sourceCerts = await fingerprints(source, sourceDir);
      const token = readFileSync(join(sourceDir, 'admin-token'), 'utf8').trim();
      snapshot = await new Promise<Buffer>((resolve, reject) => {
        request({ host: '127.0.0.1', port: source.adminPort, path: '/v1/backup', headers: { authorization: `Bearer ${token}` } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
        })
          .on('error', reject)
          .end();
      });
    } finally {
      await source.stop();
    }
    expect(snapshot.toString('utf8').trim().split('\n').at(-1)).toContain('"end"');
    // The target shares the source's root key and starts as a new deployment: a dev tenant and certificate, no keys.
    cpSync(join(sourceDir, 'root-key.json'), join(template, 'root-key.json'));
    const t = await start(template);
    await t.stop();
  }, 60_000);

  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Uploads the snapshot, killing the server once `killAt` bytes are sent (past the end: after a delay). */
  async function killDuring(server: RunningServer, dir: string, seed: number): Promise<{ killAt: number; afterEndMs: number; bodyAnswered: boolean }> {
    const rand = prng(seed);
    const killAt = Math.floor(rand() * snapshot.length * 1.4);
    const afterEndMs = Math.floor(rand() * 500);
    const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
    let answered = false;
    const req = request({ host: '127.0.0.1', port: server.adminPort, method: 'POST', path: '/v1/restore', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' } });
    req.on('response', (res) => {
      answered = res.statusCode === 200;
      res.resume();
    });
    req.on('error', () => undefined);
    const CHUNK = 16 * 1024;
    let sent = 0;
    while (sent < Math.min(killAt, snapshot.length)) {
      const end = Math.min(sent + CHUNK, killAt, snapshot.length);
      if (!req.write(snapshot.subarray(sent, end))) await new Promise((r) => req.once('drain', r));
      sent = end;
      await sleep(3);
    }
    if (killAt >= snapshot.length) {
      req.end();
      await sleep(afterEndMs);
    } else {
      // Let the server take in what was sent, then check that none of it serves yet.
      await sleep(100);
      expect(await gettable(server, dir, uids[0]!)).toBe(false);
      expect((await fingerprints(server, dir)).filter((f) => sourceCerts.includes(f))).toEqual([]);
    }
    await server.stop('SIGKILL');
    req.destroy();
    return { killAt, afterEndMs, bodyAnswered: answered };
  }

  const cases = [
    ...SQLITE_SEEDS.map((seed) => ['SQLite', seed] as const),
    ...POSTGRES_SEEDS.map((seed) => ['PostgreSQL', seed] as const),
  ];
  for (const [backend, seed] of cases) {
    const skip = backend === 'PostgreSQL' ? pgSkip : undefined;
    it.skipIf(skip)(`${backend} seed ${seed}: as before or fully restored after restart, and a retry works`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kmip-restore-'));
      dirs.push(dir);
      cpSync(template, dir, { recursive: true });
      const db = backend === 'PostgreSQL' ? await freshDatabase('kmip_restore_crash') : undefined;
      try {
        let server = await start(dir, db?.url);
        const before = await fingerprints(server, dir);
        expect(await keysHeld(server, dir)).toBe(0);
        const { killAt, afterEndMs, bodyAnswered } = await killDuring(server, dir, seed);
        server = await start(dir, db?.url);
        try {
          const held = await keysHeld(server, dir);
          const certs = await fingerprints(server, dir);
          const full = [...new Set([...before, ...sourceCerts])].sort();
          console.log(`${backend} seed ${seed}: killed at byte ${killAt} of ${snapshot.length}${killAt >= snapshot.length ? ` (${afterEndMs} ms after the end)` : ''}; after restart ${held} keys, ${certs.length} certificates${bodyAnswered ? ' (restore had answered)' : ''}`);
          if (held === 0) {
            expect(certs).toEqual(before);
            expect(bodyAnswered).toBe(false);
            expect(await gettable(server, dir, uids[0]!)).toBe(false);
            const retry = await admin(server, dir, 'POST', '/v1/restore', snapshot);
            expect(retry.status, JSON.stringify(retry.json)).toBe(200);
            expect(retry.json['restored']).toMatchObject({ objects: KEYS });
          } else {
            expect(held).toBe(KEYS);
            expect((await admin(server, dir, 'POST', '/v1/restore', snapshot)).status).toBe(409);
          }
          expect(await keysHeld(server, dir)).toBe(KEYS);
          expect(await fingerprints(server, dir)).toEqual(full);
          expect(await gettable(server, dir, uids[0]!)).toBe(true);
          expect(await gettable(server, dir, uids.at(-1)!)).toBe(true);
        } finally {
          await server.stop();
        }
      } finally {
        await db?.drop();
      }
    }, 30_000);
  }
});
