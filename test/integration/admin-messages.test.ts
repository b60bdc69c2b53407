/**
 * The server side of issue 19's error messages, through the built kmipctl and the HTTP API: a
 * malformed or unknown certificate fingerprint, a route asked with the wrong method, a certificate
 * held by another tenant (named), the KMIP Name in the key listing, a rewrap cursor that is not one,
 * and `vcenter config --stack` naming the stacks that do exist.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr, nameAttr } from '../support/attributes.js';
import { kmipctl, runKmipctl } from '../support/kmipctl.js';
import { assertBuilt } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';

const aes = (...extra: ReturnType<typeof nameAttr>[]) => ({ objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), ...extra] } });

describe('management API messages', () => {
  let server: TestServer;
  let token: string;
  const http = (method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    token = readFileSync(server.tokenFile, 'utf8').trim();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('cert remove: a malformed fingerprint names the expected format (exit 2); an unknown one is "no such certificate" (exit 2)', async () => {
    const malformed = await kmipctl(server, 'cert', 'remove', 'deadbeef');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/"deadbeef" is not a certificate fingerprint: give the certificate's SHA-256 fingerprint: 64 hexadecimal digits \(colons allowed\)/);
    expect(malformed.stderr).not.toMatch(/no route/);
    const unknown = await kmipctl(server, 'cert', 'remove', 'ab'.repeat(32));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(new RegExp(`no such certificate: no registration has the fingerprint ${'ab'.repeat(32)}`));

    const raw = await http('DELETE', '/v1/certs/deadbeef');
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: string }).error).toMatch(/64 hexadecimal digits/);
    const missing = await http('DELETE', `/v1/certs/${'AB:'.repeat(31)}AB`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/^no such certificate/);
  });

  it('cert remove takes the fingerprint in any case and with colons', async () => {
    const { cert } = await server.tenant('vc-colons');
    const colons = cert.fingerprint.toUpperCase().match(/../g)!.join(':');
    const removed = await kmipctl(server, '--json', 'cert', 'remove', colons);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.json.removed).toBe(cert.fingerprint);
  });

  it('a route asked with another method answers 405 with the methods it takes, never "no route"', async () => {
    const wrong = await http('PUT', '/v1/certs');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    const body = (await wrong.json()) as { error: string; allowed: string[] };
    expect(body.error).toBe('/v1/certs does not take PUT; it takes GET, POST');
    expect(body.allowed).toEqual(['GET', 'POST']);
    const get = await http('GET', `/v1/certs/${'ab'.repeat(32)}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('DELETE');
    const none = await http('GET', '/v1/nothing-here');
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: string }).error).toBe('no route GET /v1/nothing-here');
  });

  it('a certificate registered to another tenant: the refusal names that tenant (exit 3)', async () => {
    expect((await kmipctl(server, 'tenant', 'add', 'vc-holder')).code).toBe(0);
    expect((await kmipctl(server, 'tenant', 'add', 'vc-other')).code).toBe(0);
    const cert = server.pki.client('vcenter-held');
    expect((await kmipctl(server, 'cert', 'add', '--tenant', 'vc-holder', '--pem', cert.certFile)).code).toBe(0);
    const again = await kmipctl(server, 'cert', 'add', '--tenant', 'vc-other', '--pem', cert.certFile);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain(`certificate is registered to another tenant, vc-holder: remove it there first (kmipctl cert remove ${cert.fingerprint})`);
    const same = await kmipctl(server, '--json', 'cert', 'add', '--tenant', 'vc-holder', '--pem', cert.certFile);
    expect(same.code).toBe(3);
    expect(JSON.stringify(same.json)).toContain('certificate already registered to tenant vc-holder');
  });

  it('GET /v1/keys gives each key its KMIP Name as kmipName (null when it has none)', async () => {
    const { cert } = await server.tenant('vc-names');
    const client = await server.connect(cert);
    const named = (await client.ok(Operation.Create, aes(nameAttr('backup-signing-key'))))['uniqueIdentifier'] as string;
    const unnamed = (await client.ok(Operation.Create, aes()))['uniqueIdentifier'] as string;
    const listed = await kmipctl(server, '--json', 'keys', 'list', '--tenant', 'vc-names');
    expect(listed.code, listed.stderr).toBe(0);
    const byId = new Map((listed.json.keys as Array<{ id: string; kmipName: string | null; name: string | null }>).map((k) => [k.id, k]));
    expect(byId.get(named)).toMatchObject({ kmipName: 'backup-signing-key', name: null });
    expect(byId.get(unnamed)).toMatchObject({ kmipName: null, name: null });
  });

  it('POST /v1/rewrap?after=bogus is a 400 naming the cursor format, and rewraps nothing; a real cursor works', async () => {
    const { cert } = await server.tenant('vc-rewrap');
    const client = await server.connect(cert);
    const uid = (await client.ok(Operation.Create, aes()))['uniqueIdentifier'] as string;
    const bogus = await http('POST', '/v1/rewrap?after=bogus');
    expect(bogus.status).toBe(400);
    expect(((await bogus.json()) as { error: string }).error).toMatch(/^after="bogus" is not a rewrap cursor: give the cursor a stopped rewrap printed \(kmipctl rewrap --after ID\): the Unique Identifier of a key, a UUID/);
    const cli = await kmipctl(server, 'rewrap', '--after', 'bogus');
    expect(cli.code).toBe(2);
    const ok = await http('POST', `/v1/rewrap?after=${uid}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/"done":/);
  });

  it('POST /v1/vcenter-usage validates the report and bounds its size', async () => {
    const bad = await http('POST', '/v1/vcenter-usage', { source: 'kmipctl vcenter usage', provider: 'kp' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/readAt: .*vcenter: /);
    const huge = await http('POST', '/v1/vcenter-usage', `{"users":"${'x'.repeat(9 * 1024 * 1024)}"}`);
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toBe('request body too large (at most 8388608 bytes)');
    const empty = await http('GET', '/v1/vcenter-usage');
    expect(((await empty.json()) as { reports: unknown[] }).reports).toEqual([]);
  });
});

describe('kmipctl vcenter config --stack', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'stack-names-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a stack that is not synthesized lists the stacks that are (exit 2)', async () => {
    const out = join(dir, 'cdktf.out');
    for (const stack of ['kmip-prod-us-south', 'kmip-dev-eu-de']) {
      mkdirSync(join(out, 'stacks', stack), { recursive: true });
      writeFileSync(join(out, 'stacks', stack, 'cdk.tf.json'), '{}');
    }
    mkdirSync(join(out, 'stacks', 'half-written'), { recursive: true }); // no cdk.tf.json: not a stack
    const r = await runKmipctl(['vcenter', 'config', '--stack', 'kmip-nope', '--cdktf-out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no synthesized stack named kmip-nope in ${join(out, 'stacks')}; the stacks there: kmip-dev-eu-de, kmip-prod-us-south (give one of them to --stack, or synthesize kmip-nope first: npm run synth)`);
    expect(r.stderr).not.toMatch(/run the synth first/);
  });

  it('with no stack synthesized at all it still says to run the synth first (exit 2)', async () => {
    const r = await runKmipctl(['vcenter', 'config', '--stack', 'kmip-nope', '--cdktf-out', join(dir, 'never-synthesized')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no stack is synthesized in .*never-synthesized: run the synth first \(npm run synth\)/);
  });
});
