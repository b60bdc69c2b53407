/**
 * kmipctl backup end to end: export from a running server, verify offline, import into another
 * server (on PostgreSQL when there is one) that shares the root key, and compare every object; a
 * vCenter certificate from the backup reaches the same key bytes there. Refusals leave the target
 * exactly as it was.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { assertBuilt } from '../support/process.js';
import { kmipctl } from '../support/kmipctl.js';
import { freshDatabase, postgresSkipReason } from '../support/postgres.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { vcenter, HOST_OWNER_TAGS } from '../support/vcenter.js';
import { decodeResponse } from '../support/kmip-client.js';
import { noteSecret } from '../support/secrets-ledger.js';

const pgSkip = await postgresSkipReason();
const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };

describe(`kmipctl backup (SQLite to ${pgSkip ? 'SQLite' : 'PostgreSQL'})`, () => {
  let source: TestServer;
  let target: TestServer;
  let stranger: TestServer;
  let drop: (() => Promise<void>) | undefined;
  let passFile: string;
  const uids: string[] = [];
  const certs = new Map<string, ReturnType<TestServer['pki']['client']>>();

  beforeAll(async () => {
    assertBuilt();
    source = await startTestServer();
    const sameRootKey = { kind: 'local' as const, keyFile: join(source.dir, 'root-key.json') };
    if (pgSkip) {
      target = await startTestServer({ pki: source.pki, config: { wrap: sameRootKey } });
    } else {
      const db = await freshDatabase();
      drop = db.drop;
      target = await startTestServer({ pki: source.pki, config: { wrap: sameRootKey, store: { kind: 'postgres', url: db.url } } });
    }
    stranger = await startTestServer({ pki: source.pki });
    passFile = join(source.dir, 'passphrase');
    writeFileSync(passFile, 'a long backup passphrase\n', { mode: 0o600 });
    noteSecret('backup passphrase', 'a long backup passphrase');

    for (const tenant of ['vc-prod', 'vc-lab']) {
      await kmipctl(source, 'tenant', 'add', tenant);
      const cert = source.pki.client(`${tenant}-vcenter`);
      certs.set(tenant, cert);
      await kmipctl(source, 'cert', 'add', '--tenant', tenant, '--pem', cert.certFile);
      const client = await source.connect(cert);
      for (let i = 0; i < 30; i++) {
        const uid = (await client.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
        uids.push(uid);
        if (i % 3 === 0) decodeResponse(await client.send(vcenter.addAttributes(uid, HOST_OWNER_TAGS)), 11);
        if (i % 3 === 1) await client.ok(Operation.Activate, { uniqueIdentifier: uid });
        if (i % 5 === 0) await client.ok(Operation.Get, { uniqueIdentifier: uid });
      }
      await client.close();
    }
    // One destroyed key: its metadata travels, its material does not exist any more.
    const k = (await kmipctl(source, '--json', 'keys', 'list', '--tenant', 'vc-lab', '--state', 'preactive')).json.keys[0].id as string;
    expect((await kmipctl(source, 'keys', 'destroy', k, '--tenant', 'vc-lab')).code).toBe(0);
  });
  afterAll(async () => {
    await Promise.all([source?.close(), target?.close(), stranger?.close()]);
    await drop?.();
  });

  it('exports with progress, refuses to overwrite, and verifies offline', async () => {
    const file = join(source.dir, 'backup.kfv');
    const exported = await kmipctl(source, '--json', 'backup', 'export', '--out', file, '--passphrase-file', passFile);
    expect(exported.code, exported.stdout + exported.stderr).toBe(0);
    expect(exported.json).toMatchObject({ tenants: 2, certificates: 2, objects: 60 });
    const progress = exported.stdout.trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as { done: number; total: number });
    expect(progress.at(-1)).toEqual({ done: 60, total: 60 });
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from('vc-prod'))).toBe(false);
    expect(bytes.includes(Buffer.from('BEGIN CERTIFICATE'))).toBe(false);

    expect((await kmipctl(source, 'backup', 'export', '--out', file, '--passphrase-file', passFile)).code).toBe(2);
    const verified = await kmipctl(source, '--json', 'backup', 'verify', '--in', file, '--passphrase-file', passFile);
    expect(verified.json).toMatchObject({ ok: true, tenants: 2, certificates: 2, objects: 60 });
    const wrong = join(source.dir, 'wrong');
    writeFileSync(wrong, 'not the passphrase at all');
    const refused = await kmipctl(source, 'backup', 'verify', '--in', file, '--passphrase-file', wrong);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/wrong passphrase/);
    writeFileSync(wrong, 'short');
    expect((await kmipctl(source, 'backup', 'export', '--out', `${file}.2`, '--passphrase-file', wrong)).code).toBe(2);
  });

  it('refuses a damaged file and a server without the root key, changing nothing', async () => {
    const file = join(source.dir, 'backup.kfv');
    const damaged = Buffer.from(readFileSync(file));
    damaged[damaged.length - 40]! ^= 0xff;
    writeFileSync(join(source.dir, 'damaged.kfv'), damaged);
    const bad = await kmipctl(target, 'backup', 'import', '--in', join(source.dir, 'damaged.kfv'), '--passphrase-file', passFile);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/changed or damaged/);

    const noKey = await kmipctl(stranger, 'backup', 'import', '--in', file, '--passphrase-file', passFile);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/cannot unwrap keys wrapped by local root key/);
    // Give the server a moment in case undo were still running, then look: nothing is left.
    await new Promise((r) => setTimeout(r, 200));
    for (const s of [target, stranger]) {
      expect(await s.app.store.listTenants()).toEqual([]);
      expect(await s.app.store.listClientCerts()).toEqual([]);
      expect(await s.app.store.countObjectsByState()).toEqual([]);
    }
    expect(stranger.logs.some((l) => l.includes('"admin":"restore"') && l.includes('"result":"failed"'))).toBe(true);
  });

  it('imports into an empty server: every object is identical, and vCenter reaches the same key bytes', async () => {
    const file = join(source.dir, 'backup.kfv');
    const imported = await kmipctl(target, '--json', 'backup', 'import', '--in', file, '--passphrase-file', passFile);
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    expect(imported.json.restored).toEqual({ tenants: 2, certs: 2, objects: 60 });

    for (const tenant of await source.app.store.listTenants()) {
      const there = await target.app.store.getTenantByName(tenant.name);
      expect(there).toEqual(tenant);
      expect(await target.app.store.listClientCerts(tenant.id)).toEqual(await source.app.store.listClientCerts(tenant.id));
    }
    for (const uid of uids) {
      const original = (await source.app.store.listObjects({ limit: 1000 })).find((o) => o.uid === uid)!;
      const a = await source.app.store.getObject(original.tenantId, uid);
      const b = await target.app.store.getObject(original.tenantId, uid);
      expect(b, uid).toEqual(a);
    }

    const cert = certs.get('vc-prod')!;
    const [before, after] = [await source.connect(cert), await target.connect(cert)];
    const uid = uids[1]!;
    const fromSource = await before.ok(Operation.Get, { uniqueIdentifier: uid });
    const fromTarget = await after.ok(Operation.Get, { uniqueIdentifier: uid });
    expect(JSON.stringify(fromTarget)).toBe(JSON.stringify(fromSource));
    await Promise.all([before.close(), after.close()]);

    // A second import is refused: the store is no longer empty.
    const again = await kmipctl(target, 'backup', 'import', '--in', file, '--passphrase-file', passFile);
    expect(again.code, again.stdout + again.stderr).toBe(3);
    expect(again.stderr).toMatch(/restore needs a store without keys/);
  });

  it('never writes the passphrase or key material to the logs', () => {
    const logs = [...source.logs, ...target.logs, ...stranger.logs].join('\n');
    expect(logs).not.toContain('a long backup passphrase');
    expect(source.logs.some((l) => l.includes('"admin":"backup export"'))).toBe(true);
    expect(target.logs.some((l) => l.includes('"admin":"restore"') && l.includes('"result":"success"'))).toBe(true);
  });
});
