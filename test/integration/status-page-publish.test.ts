/**
 * `kmipctl vcenter usage --publish`: the built kmipctl reads the (fake) vCenter over HTTPS, sends the
 * report to the server's management API, and the status page shows which VM and host use which key
 * of this server. Without connection flags it is a usage error before vCenter is contacted.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { FakeVcenter } from '../support/fake-vcenter.js';
import { kmipctl, runKmipctl } from '../support/kmipctl.js';
import { assertBuilt } from '../support/process.js';
import { noteOutput } from '../support/secrets-ledger.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('kmipctl vcenter usage --publish', () => {
  let server: TestServer;
  let fake: FakeVcenter;
  let vc: string[];
  let vmKey: string;
  let hostKey: string;

  beforeAll(async () => {
    assertBuilt();
    [server, fake] = await Promise.all([startTestServer(), FakeVcenter.start({ version: '8.0.2' })]);
    const { cert } = await server.tenant('vc-publish');
    const client = await server.connect(cert);
    const create = async () => (await client.ok(Operation.Create, { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } }))['uniqueIdentifier'] as string;
    vmKey = await create();
    hostKey = await create();
    fake.crypto.seed({ id: 'kp-ours' });
    fake.inventory.vms.push({ id: 'vm-42', name: 'finance-db', key: { keyId: vmKey, providerId: 'kp-ours' } });
    fake.inventory.seedVms(3, 'plain');
    fake.inventory.hosts.push({ id: 'host-7', name: 'esx-07', key: { keyId: hostKey, providerId: 'kp-ours' } });
    const passwordFile = join(mkdtempSync(join(tmpdir(), 'publish-')), 'password');
    writeFileSync(passwordFile, `${fake.password}\n`, { mode: 0o600 });
    vc = ['--vcenter', fake.url, '--vcenter-user', fake.user, '--vcenter-password-file', passwordFile, '--vcenter-ca', fake.caFile, '--provider', 'kp-ours'];
  });
  afterAll(async () => {
    await fake?.close();
    await server?.close();
  });

  it('sends the usage report to the server, whose status page shows which VM and host use which key', async () => {
    const r = await kmipctl(server, '--json', 'vcenter', 'usage', ...vc, '--publish');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ provider: 'kp-ours', inUse: true, counts: { vms: 1, hosts: 1 }, published: { keptOn: 'this node, in memory (a restart forgets it)' } });
    const human = await kmipctl(server, 'vcenter', 'usage', ...vc, '--publish');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/published to the server's status page \(GET \/status\) at \S+: kept on this node/);

    const held = (await server.api('GET', '/v1/vcenter-usage')).json as { reports: Array<{ provider: string; users: Array<{ name: string; keyId?: string }> }> };
    expect(held.reports).toHaveLength(1); // the second publish replaced the first
    expect(held.reports[0]!.users.map((u) => [u.name, u.keyId])).toEqual([
      ['finance-db', vmKey],
      ['esx-07', hostKey],
    ]);

    const token = readFileSync(server.tokenFile, 'utf8').trim();
    const page = await fetch(`http://127.0.0.1:${server.adminPort}/status`, { headers: { authorization: `Bearer ${token}` } });
    const html = await page.text();
    noteOutput('status page (published vCenter usage)', html);
    expect(page.status).toBe(200);
    const text = html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toMatch(/Key provider kp-ours on \S+/);
    expect(text).toMatch(/As published by kmipctl at .*, on this node/);
    expect(text).toContain(`vm finance-db vm-42 ${vmKey} on this server: tenant vc-publish, PreActive`);
    expect(text).toContain(`host esx-07 host-7 ${hostKey} on this server: tenant vc-publish, PreActive`);
  });

  it('without a connection to the server, --publish is a usage error (exit 2) before vCenter is read', async () => {
    const calls = fake.calls.length;
    const r = await runKmipctl(['vcenter', 'usage', ...vc, '--publish']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--admin-url|--token-file|--dev/);
    expect(fake.calls.length).toBe(calls);
  });
});
