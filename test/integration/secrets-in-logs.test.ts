/**
 * A full lifecycle with logging at debug: no key byte (hex or base64), no root key, no private key
 * ever appears in any log line, and the audit line exists for every batch item.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import type { StructureItem } from '../../server/ttlv/index.js';
import { enumAttr, intAttr, nameAttr, textAttr } from '../support/attributes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { vcenter, VCENTER_PRODUCT_TAGS } from '../support/vcenter.js';
import { decodeResponse } from '../support/kmip-client.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

function encodings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  return [b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64'), b.toString('base64url')];
}

describe('secrets never reach the logs', () => {
  it('logs an audit line per item and none of the key material, root key or client key', async () => {
    const { cert } = await server.tenant('logs');
    const client = await server.connect(cert);
    const secrets: string[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await client.ok(Operation.Create, {
        objectType: 2,
        templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), nameAttr(`log-${i}`)] },
      });
      const uid = created['uniqueIdentifier'] as string;
      keys.push(uid);
      const got = await client.ok(Operation.Get, { uniqueIdentifier: uid });
      const block = (got['symmetricKey'] as StructureItem).value[0] as StructureItem;
      secrets.push(...encodings((block.value[1] as StructureItem).value[0]!.value as Uint8Array));
      decodeResponse(await client.send(vcenter.addAttributes(uid, VCENTER_PRODUCT_TAGS)), 11);
      await client.ok(Operation.AddAttribute, { uniqueIdentifier: uid, attribute: textAttr('x-Note', 'not secret') });
      await client.ok(Operation.Activate, { uniqueIdentifier: uid });
      await client.ok(Operation.Revoke, { uniqueIdentifier: uid, revocationReason: { revocationReasonCode: 2 } });
      await client.ok(Operation.Destroy, { uniqueIdentifier: uid });
      const failed = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
      expect(failed.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
    }
    const rootKey = JSON.parse(readFileSync(join(server.dir, 'root-key.json'), 'utf8')) as { versions: Record<string, string> };
    for (const k of Object.values(rootKey.versions)) secrets.push(...encodings(Buffer.from(k, 'base64')));
    const privateKeyBody = cert.privateKeyPem.split('\n').filter((l) => !l.startsWith('-----')).join('');
    secrets.push(privateKeyBody.slice(0, 64));

    const logs = server.logs.join('\n');
    expect(secrets.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(logs.includes(secret), 'a secret appeared in the logs').toBe(false);

    const audits = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['audit'] === true && l['tenant'] === 'logs');
    // create, get, 3 add, add, activate, revoke, destroy, failed get — per key
    expect(audits).toHaveLength(5 * 10);
    expect(audits.filter((a) => a['op'] === 'Get' && a['result'] === 'failure').map((a) => a['reason'])).toEqual(Array(5).fill('ObjectDestroyed'));
    expect(new Set(audits.map((a) => a['object']))).toEqual(new Set(keys));
    for (const a of audits) {
      expect(a['cert']).toBe(cert.fingerprint);
      expect(typeof a['ms']).toBe('number');
    }
  });
});
