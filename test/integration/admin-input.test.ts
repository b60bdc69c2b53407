/**
 * Issue 18, items 6 and 7: dates a tenant sets over KMIP must be ones the operator's key list can
 * show, and the management API answers bad input (a page limit, a path's percent-encoding, a request
 * target) with a 400 and a reason, never a 500.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { ManagedObject } from '../../server/kmip/managed-object.js';
import { dateAttr, enumAttr, intAttr } from '../support/attributes.js';
import type { TestKmipClient } from '../support/kmip-client.js';
import { assertBuilt, runToExit, SERVER_MAIN } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { b, dt, e, i, s } from '../support/ttlv-builder.js';

const HUGE = 2 ** 52; // the date of the report: accepted, then `kmipctl keys list` failed with "internal error"
const MAX_DATE = 253_402_300_799; // 9999-12-31T23:59:59Z

let server: TestServer;
let client: TestKmipClient;
let token = '';

beforeAll(async () => {
  server = await startTestServer();
  token = readFileSync(server.tokenFile, 'utf8').trim();
  const { cert } = await server.tenant('dates');
  client = await server.connect(cert);
});
afterAll(() => server?.close());

function admin(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.adminPort, method, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
}

const aes = (extra: object[] = []) => ({
  objectType: 2,
  templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), ...extra] },
});

async function item(operation: number, payload: Record<string, unknown> | ReturnType<typeof s>, version = 14) {
  return (await client.request([{ operation, payload }], { version })).items[0]!;
}

async function createKey(extra: object[] = []): Promise<string> {
  const r = await item(Operation.Create, aes(extra));
  expect(r.resultStatus).toBe(ResultStatus.Success);
  return r.payload!['uniqueIdentifier'] as string;
}

const refusedAsInvalidField = { resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.InvalidField };

describe('dates a tenant may set (item 6)', () => {
  it('refuses absurd dates with Invalid Field at Create, Register, Add Attribute and Modify Attribute, in 1.x and 2.x', async () => {
    for (const seconds of [HUGE, MAX_DATE + 1, -1]) {
      const created = await item(Operation.Create, aes([dateAttr('Activation Date', seconds)]));
      expect(created, `Create, Activation Date ${seconds}`).toMatchObject(refusedAsInvalidField);
      expect(created.resultMessage).toMatch(/Activation Date must be a date from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z/);
    }
    const created2x = await item(
      Operation.Create,
      s(Tag.RequestPayload, [e(Tag.ObjectType, 2), s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, 3), i(Tag.CryptographicLength, 256), dt(Tag.DeactivationDate, HUGE)])]),
      21,
    );
    expect(created2x, 'Create 2.1, Deactivation Date').toMatchObject(refusedAsInvalidField);
    const registered = await item(
      Operation.Register,
      s(Tag.RequestPayload, [e(Tag.ObjectType, 0x8 /* Opaque Object */), s(Tag.Attributes, [dt(Tag.ProcessStartDate, HUGE)]), s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, 'abcd')])]),
      21,
    );
    expect(registered, 'Register 2.1, Process Start Date').toMatchObject(refusedAsInvalidField);

    const uid = await createKey();
    expect(await item(Operation.AddAttribute, { uniqueIdentifier: uid, attribute: dateAttr('Deactivation Date', HUGE) })).toMatchObject(refusedAsInvalidField);
    expect(await item(Operation.AddAttribute, { uniqueIdentifier: uid, attribute: dateAttr('Activation Date', MAX_DATE + 1) })).toMatchObject(refusedAsInvalidField);
    expect((await item(Operation.AddAttribute, { uniqueIdentifier: uid, attribute: dateAttr('Activation Date', MAX_DATE - 3600) })).resultStatus).toBe(ResultStatus.Success);
    expect(await item(Operation.ModifyAttribute, { uniqueIdentifier: uid, attribute: dateAttr('Activation Date', HUGE) })).toMatchObject(refusedAsInvalidField);
    // The last representable second is a date like any other.
    const last = await createKey([dateAttr('Deactivation Date', MAX_DATE)]);
    const listed = await admin('GET', '/v1/keys?tenant=dates');
    expect(listed.status).toBe(200);
    const keys = listed.body['keys'] as Array<Record<string, string | null>>;
    expect(keys.find((k) => k['id'] === last)).toMatchObject({ deactivated: '9999-12-31T23:59:59.000Z' });
    expect(keys.find((k) => k['id'] === uid)).toMatchObject({ activated: '9999-12-31T22:59:59.000Z' });
  });

  it('lists keys whose stored dates Date cannot show (stored before dates were bounded) instead of failing with 500', async () => {
    const uid = await createKey();
    const tenantId = (await server.app.store.getTenantByName('dates'))!.id;
    const record = (await server.app.store.getObject(tenantId, uid))!;
    const obj = ManagedObject.fromRecord(record, Date.now());
    obj.set('Deactivation Date', HUGE);
    obj.set('Activation Date', HUGE - 1);
    await server.app.store.commit([{ kind: 'update', object: { ...obj.toRecord(Date.now()), revision: record.revision + 1 }, expectedRevision: record.revision }]);
    const listed = await admin('GET', '/v1/keys?tenant=dates');
    expect(listed.status).toBe(200);
    const key = (listed.body['keys'] as Array<Record<string, string | null>>).find((k) => k['id'] === uid);
    expect(key).toMatchObject({ activated: `${HUGE - 1} s since 1970-01-01 (out of range)`, deactivated: `${HUGE} s since 1970-01-01 (out of range)` });
    expect((await admin('GET', '/v1/preflight-destroy')).status).toBe(200);
    expect(server.logs.join('')).not.toMatch(/admin request failed|Invalid time value/);
  });
});

describe('management API input (item 7)', () => {
  it('refuses a page limit that is not an integer from 1 to 10000 with 400 and a reason, and honours a valid one', async () => {
    for (let k = 0; k < 3; k++) await createKey();
    for (const limit of ['-1', '0', '1.5', 'abc', '', '10001', '1e3', ' 5', '0x10', '99999999999999999999']) {
      const r = await admin('GET', `/v1/keys?limit=${encodeURIComponent(limit)}`);
      expect({ limit, status: r.status }).toEqual({ limit, status: 400 });
      expect(r.body['error']).toBe('limit must be an integer from 1 to 10000');
    }
    const page = await admin('GET', '/v1/keys?limit=2');
    expect(page.status).toBe(200);
    expect(page.body['keys']).toHaveLength(2);
    expect(page.body['next']).toBeTypeOf('string');
    expect((await admin('GET', '/v1/keys?limit=10000')).status).toBe(200);
  });

  it('answers malformed percent-encoding in a path with 400, not a 500 with a URIError', async () => {
    for (const [method, path] of [
      ['DELETE', '/v1/tenants/%E0%A4%A'],
      ['DELETE', '/v1/tenants/%'],
      ['POST', '/v1/keys/%E0%A4%A/revoke'],
      ['POST', '/v1/keys/%ff/destroy'],
    ] as const) {
      const r = await admin(method, path);
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 400 });
      expect(r.body['error']).toBe('the path has malformed percent-encoding');
    }
    // Well-formed encoding still reaches the handler.
    expect((await admin('DELETE', `/v1/tenants/${encodeURIComponent('no-such-tenant')}`)).status).toBe(404);
    expect(server.logs.join('')).not.toMatch(/URIError|admin request failed/);
  });

  it('answers a request target the URL parser refuses with 400', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.adminPort, '127.0.0.1', () => socket.write(`GET http://admin:99999/v1/keys HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(server.logs.join('')).not.toMatch(/admin request failed/);
  });
});

describe('admin token over plain HTTP (item 9)', () => {
  it('kmip-server --config refuses a token on a non-loopback admin host without admin.tls, with every other problem, exit 2', async () => {
    assertBuilt();
    const file = join(server.dir, 'plaintext-token.json');
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '0.0.0.0', port: 0, tokenFile: server.tokenFile },
      tls: { certFile: server.pki.serverCertFile, keyFile: server.pki.serverKeyFile },
      store: { kind: 'sqlite', path: join(server.dir, 'other.db') },
      wrap: { kind: 'local', keyFile: join(server.dir, 'root-key.json') },
      limits: { maxBatchItems: 0 },
    };
    writeFileSync(file, JSON.stringify(config));
    const r = await runToExit(process.execPath, [SERVER_MAIN, '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/admin\.tokenFile: .*needs admin\.tls: the bearer token would cross the network in clear/);
    expect(r.stderr).toMatch(/limits\.maxBatchItems/);
  });
});
