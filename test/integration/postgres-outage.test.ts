/**
 * The database goes away and comes back: requests fail cleanly within their deadline (never hang),
 * /readyz turns false and back, the node recovers by itself, and nothing acknowledged is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { createGetLoad } from '../support/load.js';
import { createPrivatePostgres, privatePostgresSkipReason, type PrivatePostgres } from '../support/private-postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';

const skip = privatePostgresSkipReason();

describe.skipIf(skip)('PostgreSQL outages', () => {
  let pgc: PrivatePostgres;
  let server: TestServer;
  let cert: TestClientCert;

  beforeAll(async () => {
    pgc = await createPrivatePostgres();
    server = await startTestServer({
      config: { store: { kind: 'postgres', url: pgc.url, statementTimeoutMs: 2000, connectTimeoutMs: 1000, poolSize: 8 } },
      limits: { requestTimeoutMs: 15_000 },
    });
    ({ cert } = await server.tenant('outage'));
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    pgc?.drop();
  });

  const create = (client: Awaited<ReturnType<TestServer['connect']>>) =>
    client.request([{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } } }]);
  const ready = async () => (await fetch(`http://127.0.0.1:${server.adminPort}/readyz`)).status;

  it('answers with a clear error within its deadline while the database is down, reports not ready, and recovers by itself', async () => {
    const client = await server.connect(cert);
    expect((await create(client)).items[0]!.resultStatus).toBe(ResultStatus.Success);
    expect(await ready()).toBe(200);
    pgc.stop();
    try {
      const started = Date.now();
      const r = await create(client);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.GeneralFailure, resultMessage: 'key storage is unavailable' });
      expect(await ready()).toBe(503);
      const body = (await (await fetch(`http://127.0.0.1:${server.adminPort}/readyz`)).json()) as { checks: Record<string, string> };
      expect(body.checks['store']).not.toBe('ok');
      expect(body.checks['rootKey']).toBe('ok');
    } finally {
      pgc.start();
    }
    const deadline = Date.now() + 20_000;
    while ((await create(client)).items[0]!.resultStatus !== ResultStatus.Success) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await ready()).toBe(200);
  });

  it('a PostgreSQL restart under load: errors are clean, the node recovers, nothing acknowledged is lost', async () => {
    let stop = false;
    const load = createGetLoad({
      ports: () => [server.port],
      tls: { ca: server.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem },
      workers: 4,
      until: () => stop,
      requestTimeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 1500));
    pgc.restart();
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    const result = await load;
    const reasons = [...result.failures.keys()];
    for (const reason of reasons) expect(reason).toBe(ResultReason.GeneralFailure);
    const client = await server.connect(cert);
    let present = 0;
    for (const uid of result.acknowledged) {
      const r = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
      if (r.items[0]!.resultStatus === ResultStatus.Success) present++;
    }
    console.log(`PostgreSQL restart under load: attempted ${result.attempted}, acknowledged ${result.acknowledged.length}, present ${present}, failed ${[...result.failures.values()].reduce((a, b) => a + b, 0)}`);
    expect(result.acknowledged.length).toBeGreaterThan(20);
    expect(present).toBe(result.acknowledged.length);
    expect((await create(client)).items[0]!.resultStatus).toBe(ResultStatus.Success);
  });
});
