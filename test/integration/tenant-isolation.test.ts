/**
 * Two tenants on one server: every operation of tenant B on tenant A's objects answers exactly as
 * for an object that does not exist (Item Not Found), changes nothing, and Locate never shows them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus, State } from '../../server/kmip/generated/enums.js';
import type { TtlvItem } from '../../server/ttlv/index.js';
import { attributeMap, enumAttr, intAttr, nameAttr, textAttr } from '../support/attributes.js';
import type { TestKmipClient } from '../support/kmip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let alice: TestKmipClient;
let bob: TestKmipClient;
let bobSecondCert: TestKmipClient;
let aliceKey: string;

const createPayload = (name: string) => ({
  objectType: 2,
  templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), nameAttr(name), textAttr('x-Owner', name)] },
});

beforeAll(async () => {
  server = await startTestServer();
  const a = await server.tenant('alice');
  const b = await server.tenant('bob');
  const b2 = server.pki.client('bob-second');
  await server.pin(b.id, b2);
  alice = await server.connect(a.cert);
  bob = await server.connect(b.cert);
  bobSecondCert = await server.connect(b2);
  aliceKey = (await alice.ok(Operation.Create, createPayload('shared-name')))['uniqueIdentifier'] as string;
});
afterAll(() => server.close());

async function stateOf(client: TestKmipClient, uid: string): Promise<number> {
  const p = await client.ok(Operation.GetAttributes, { uniqueIdentifier: uid, attributeNames: ['State'], attributeReferences: [] });
  return attributeMap(p['attributes'] as TtlvItem[]).get('State')![0]!.value as number;
}

describe('tenant isolation', () => {
  const attempts: Array<[string, number, (uid: string) => Record<string, unknown>]> = [
    ['Get', Operation.Get, (uid) => ({ uniqueIdentifier: uid })],
    ['Get Attributes', Operation.GetAttributes, (uid) => ({ uniqueIdentifier: uid, attributeNames: [], attributeReferences: [] })],
    ['Get Attribute List', Operation.GetAttributeList, (uid) => ({ uniqueIdentifier: uid })],
    ['Add Attribute', Operation.AddAttribute, (uid) => ({ uniqueIdentifier: uid, attribute: textAttr('x-Intruder', 'yes') })],
    ['Modify Attribute', Operation.ModifyAttribute, (uid) => ({ uniqueIdentifier: uid, attribute: textAttr('x-Owner', 'bob') })],
    ['Delete Attribute', Operation.DeleteAttribute, (uid) => ({ uniqueIdentifier: uid, attributeName: 'x-Owner' })],
    ['Activate', Operation.Activate, (uid) => ({ uniqueIdentifier: uid })],
    ['Revoke', Operation.Revoke, (uid) => ({ uniqueIdentifier: uid, revocationReason: { revocationReasonCode: 2 } })],
    ['Destroy', Operation.Destroy, (uid) => ({ uniqueIdentifier: uid })],
    ['ReKey', Operation.ReKey, (uid) => ({ uniqueIdentifier: uid })],
    ['Check', Operation.Check, (uid) => ({ uniqueIdentifier: uid, cryptographicUsageMask: 4 })],
    ['Obtain Lease', Operation.ObtainLease, (uid) => ({ uniqueIdentifier: uid })],
    ['Get Usage Allocation', Operation.GetUsageAllocation, (uid) => ({ uniqueIdentifier: uid, usageLimitsCount: 1n })],
    ['ReKey Key Pair', Operation.ReKeyKeyPair, (uid) => ({ privateKeyUniqueIdentifier: uid })],
  ];

  for (const [name, operation, payload] of attempts) {
    it(`${name} on another tenant's object answers Item Not Found, exactly like a missing object`, async () => {
      const foreign = await bob.request([{ operation, payload: payload(aliceKey) }]);
      const missing = await bob.request([{ operation, payload: payload('00000000-0000-0000-0000-000000000000') }]);
      expect(foreign.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.ItemNotFound });
      expect({ ...foreign.items[0], payload: undefined }).toEqual({ ...missing.items[0], payload: undefined });
    });
  }

  it('left the object exactly as it was', async () => {
    expect(await stateOf(alice, aliceKey)).toBe(State.PreActive);
    const all = await alice.ok(Operation.GetAttributes, { uniqueIdentifier: aliceKey, attributeNames: [], attributeReferences: [] });
    const attrs = attributeMap(all['attributes'] as TtlvItem[]);
    expect(attrs.get('x-Owner')?.map((v) => v.value)).toEqual(['shared-name']);
    expect(attrs.has('x-Intruder')).toBe(false);
    expect(attrs.has('Revocation Reason')).toBe(false);
    // Not replaced either: no ReKey reached it.
    expect(attrs.has('Link')).toBe(false);
    expect(attrs.get('Name')).toHaveLength(1);
  });

  it('Locate never returns another tenant’s objects, whatever the filter', async () => {
    for (const attributes of [[], [nameAttr('shared-name')], [textAttr('x-Owner', 'shared-name')], [enumAttr('Object Type', 2)]]) {
      const found = await bob.ok(Operation.Locate, { attributes });
      expect(found['uniqueIdentifiers']).toEqual([]);
    }
    expect((await alice.ok(Operation.Locate, { attributes: [nameAttr('shared-name')] }))['uniqueIdentifiers']).toEqual([aliceKey]);
  });

  it('names are unique per tenant only, so another tenant can use the same name', async () => {
    const bobs = await bob.ok(Operation.Create, createPayload('shared-name'));
    expect(bobs['uniqueIdentifier']).not.toBe(aliceKey);
    const again = await alice.request([{ operation: Operation.Create, payload: createPayload('shared-name') }]);
    expect(again.items[0]!.resultReason).toBe(ResultReason.InvalidField);
  });

  it('an ID Placeholder set in one tenant’s batch never reaches another tenant’s object', async () => {
    // Bob locates (his own) object, then uses the placeholder: it can only name Bob's objects.
    const r = await bob.request([
      { operation: Operation.Locate, payload: { attributes: [nameAttr('shared-name')] }, id: 'a' },
      { operation: Operation.Get, payload: {}, id: 'b' },
    ]);
    const located = r.items[0]!.payload!['uniqueIdentifiers'] as string[];
    expect(located).toHaveLength(1);
    expect(located[0]).not.toBe(aliceKey);
    expect(r.items[1]!.payload!['uniqueIdentifier']).toBe(located[0]);
  });

  it('every certificate of a tenant reaches all of that tenant’s objects', async () => {
    const created = (await bob.ok(Operation.Create, createPayload('bob-only')))['uniqueIdentifier'] as string;
    expect((await bobSecondCert.ok(Operation.Get, { uniqueIdentifier: created }))['uniqueIdentifier']).toBe(created);
    const viaSecond = await bobSecondCert.request([{ operation: Operation.Get, payload: { uniqueIdentifier: aliceKey } }]);
    expect(viaSecond.items[0]!.resultReason).toBe(ResultReason.ItemNotFound);
  });

  it('removing a certificate cuts that client off at once, connection and all', async () => {
    const t = await server.tenant('carol');
    const carol = await server.connect(t.cert);
    expect((await carol.request([{ operation: Operation.DiscoverVersions }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
    await server.app.store.removeClientCert(t.cert.fingerprint);
    expect(server.app.revokeClientAccess(t.cert.fingerprint)).toBe(1);
    await expect(carol.request([{ operation: Operation.DiscoverVersions }])).rejects.toThrow(/closed/);
    const again = await server.connect(t.cert);
    const refused = await again.request([{ operation: Operation.DiscoverVersions }]);
    expect(refused.items[0]!.resultReason).toBe(ResultReason.PermissionDenied);
  });
});
