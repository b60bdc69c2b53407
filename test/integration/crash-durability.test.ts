/**
 * Nothing acknowledged is lost: a single server under a create load is killed with SIGKILL (no
 * chance to flush anything) after at least 5,000 acknowledged Creates; restarted on the same data,
 * every acknowledged key is there and gettable. Run for SQLite and PostgreSQL.
 */
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { createGetLoad } from '../support/load.js';
import { freshDatabase, postgresSkipReason } from '../support/postgres.js';
import { assertBuilt, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';

const pgSkip = await postgresSkipReason();
const TARGET = 5000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(dir: string, databaseUrl?: string): Promise<RunningServer> {
  const args = [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', '--log-level', 'warn'];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  return startServerProcess(process.execPath, args);
}

for (const [label, skip] of [
  ['SQLite', undefined],
  ['PostgreSQL', pgSkip],
] as const) {
  describe.skipIf(skip)(`SIGKILL during a create load (${label})`, () => {
    it(`every acknowledged Create of at least ${TARGET} is present after restart`, async () => {
      assertBuilt();
      const dir = mkdtempSync(join(tmpdir(), 'kmip-crash-'));
      dirs.push(dir);
      const db = label === 'PostgreSQL' ? await freshDatabase('kmip_crash') : undefined;
      try {
        let server = await start(dir, db?.url);
        const tls = { ca: readFileSync(join(dir, 'pki/ca.pem')), cert: readFileSync(join(dir, 'pki/client-cert.pem')), key: readFileSync(join(dir, 'pki/client-key.pem')) };
        let killed = false;
        let acknowledgedAtKill = 0;
        const load = createGetLoad({
          ports: () => (killed ? [] : [server.kmipPort]),
          tls,
          workers: 12,
          createsOnly: true,
          until: () => killed,
          onAcknowledged: (n) => {
            if (n >= TARGET && !killed) {
              // Killed mid-flight: other workers still have Creates on the wire.
              killed = true;
              acknowledgedAtKill = n;
              server.child.kill('SIGKILL');
            }
          },
        });
        const result = await load;
        await server.stop('SIGKILL');
        server = await start(dir, db?.url);
        const client = await TestKmipClient.connect(server.kmipPort, tls);
        let present = 0;
        for (let i = 0; i < result.acknowledged.length; i += 32) {
          const chunk = result.acknowledged.slice(i, i + 32);
          const r = await client.request(chunk.map((uid, n) => ({ operation: Operation.Get, payload: { uniqueIdentifier: uid }, id: `g${n}` })));
          present += r.items.filter((it) => it.resultStatus === ResultStatus.Success).length;
        }
        await client.close();
        await server.stop();
        console.log(`${label} SIGKILL: attempted ${result.attempted}, acknowledged ${result.acknowledged.length} (${acknowledgedAtKill} when killed), present after restart ${present}`);
        expect(result.acknowledged.length).toBeGreaterThanOrEqual(TARGET);
        expect(present).toBe(result.acknowledged.length);
      } finally {
        await db?.drop();
      }
    }, 180_000);
  });
}
