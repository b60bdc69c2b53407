/**
 * A vCenter 7.0.3 session at TTLV level (kmip-vmware.md §2): the request bytes are rebuilt from the
 * documented structure (and were checked byte for byte against the published vCenter captures),
 * each step on a new TLS connection as vCenter does, every response checked field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type StructureItem, type TtlvItem } from '../../server/ttlv/index.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, ResultStatus, State } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { attributeMap } from '../support/attributes.js';
import { decodeResponse, type DecodedResponse } from '../support/kmip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';
import { HOST_OWNER_TAGS, vcenter, vcenterBatchId, VCENTER_PRODUCT_TAGS, VM_OWNER_TAGS } from '../support/vcenter.js';

let server: TestServer;
let cert: TestClientCert;

beforeAll(async () => {
  server = await startTestServer();
  ({ cert } = await server.tenant('vcenter'));
});
afterAll(() => server.close());

/** One vCenter connection: Discover Versions first, then the given requests, strictly one at a time. */
async function connection(...requests: Uint8Array[]): Promise<DecodedResponse[]> {
  const client = await server.connect(cert);
  const out: DecodedResponse[] = [];
  for (const r of [vcenter.discoverVersions(false), ...requests]) out.push(decodeResponse(await client.send(r), 11));
  await client.close();
  return out.slice(1);
}

function expectHeader(r: DecodedResponse, batchCount: number): void {
  expect(r.header.protocolVersion).toEqual({ major: 1, minor: 1 });
  expect(Math.abs(r.header.timeStamp - Date.now() / 1000)).toBeLessThan(30);
  expect(r.header.batchCount).toBe(batchCount);
  expect(r.items).toHaveLength(batchCount);
}

function only(r: DecodedResponse, operation: number, id: Uint8Array | null = vcenterBatchId(1)) {
  expectHeader(r, 1);
  const item = r.items[0]!;
  expect(item.operation).toBe(operation);
  expect(item.uniqueBatchItemId).toEqual(id ?? undefined);
  expect(item.resultStatus).toBe(ResultStatus.Success);
  expect(item.resultReason).toBeUndefined();
  return item.payload!;
}

const attrsOf = (p: Record<string, unknown>) => attributeMap(p['attributes'] as TtlvItem[]);

describe('vCenter 7.0.3 session', () => {
  let uid: string;
  let firstKey: Uint8Array;

  it('answers the first Discover Versions (no batch id) with every version, newest first, in a 1.1 header', async () => {
    const client = await server.connect(cert);
    const r = decodeResponse(await client.send(vcenter.discoverVersions(false)), 11);
    const p = only(r, Operation.DiscoverVersions, null);
    expect(p['protocolVersions']).toEqual([
      { major: 2, minor: 1 },
      { major: 2, minor: 0 },
      { major: 1, minor: 4 },
      { major: 1, minor: 3 },
      { major: 1, minor: 2 },
      { major: 1, minor: 1 },
      { major: 1, minor: 0 },
    ]);
    // The health-check connection's second Discover Versions carries QLKC 01 00 00 00, echoed byte for byte.
    const again = decodeResponse(await client.send(vcenter.discoverVersions(true)), 11);
    expect(only(again, Operation.DiscoverVersions)['protocolVersions']).toHaveLength(7);
    await client.close();
  });

  it('answers Query(Server Information) with the vendor and no 2.x structures', async () => {
    const [r] = await connection(vcenter.queryServerInformation());
    const p = only(r!, Operation.Query);
    expect(p['vendorIdentification']).toBe('kmip-for-vmware');
    expect(p['serverInformation']).toBeUndefined();
    expect(p['operations']).toEqual([]);
    expect(p['objectTypes']).toEqual([]);
  });

  it('creates an AES-256 key from exactly the three template attributes', async () => {
    const [r] = await connection(vcenter.createAes256());
    const p = only(r!, Operation.Create);
    expect(p['objectType']).toBe(ObjectType.SymmetricKey);
    expect(typeof p['uniqueIdentifier']).toBe('string');
    uid = p['uniqueIdentifier'] as string;
    expect(uid.length).toBeGreaterThan(0);
  });

  it('answers Get Attributes for each absent x- attribute with success and only the identifier', async () => {
    const responses = await connection(...VCENTER_PRODUCT_TAGS.map(([name]) => vcenter.getAttributes(uid, name)));
    for (const r of responses) {
      const p = only(r, Operation.GetAttributes);
      expect(p['uniqueIdentifier']).toBe(uid);
      expect(p['attributes']).toEqual([]);
    }
  });

  it('adds the three product tags in one batch, echoing QLKC 01/02/03', async () => {
    const [r] = await connection(vcenter.addAttributes(uid, VCENTER_PRODUCT_TAGS));
    expectHeader(r!, 3);
    r!.items.forEach((item, i) => {
      expect(item.operation).toBe(Operation.AddAttribute);
      expect(item.uniqueBatchItemId).toEqual(vcenterBatchId(i + 1));
      expect(item.resultStatus).toBe(ResultStatus.Success);
      expect(item.payload!['uniqueIdentifier']).toBe(uid);
      const [name, value] = VCENTER_PRODUCT_TAGS[i]!;
      const added = attributeMap([item.payload!['attribute'] as TtlvItem]);
      expect([...added.keys()]).toEqual([name]);
      expect(added.get(name)).toEqual([{ tag: Tag.AttributeValue, type: ItemType.TextString, value }]);
      // No Attribute Index for a first instance.
      expect((item.payload!['attribute'] as StructureItem).value.some((c) => c.tag === Tag.AttributeIndex)).toBe(false);
    });
  });

  it('serves the key with Get while it is still Pre-Active: Raw, 32 bytes, AES, 256', async () => {
    const [r] = await connection(vcenter.get(uid));
    const p = only(r!, Operation.Get);
    expect(p['objectType']).toBe(ObjectType.SymmetricKey);
    expect(p['uniqueIdentifier']).toBe(uid);
    const key = p['symmetricKey'] as StructureItem;
    const block = key.value.find((c) => c.tag === Tag.KeyBlock) as StructureItem;
    expect(block.value.map((c) => c.tag)).toEqual([Tag.KeyFormatType, Tag.KeyValue, Tag.CryptographicAlgorithm, Tag.CryptographicLength]);
    expect(block.value[0]).toMatchObject({ type: ItemType.Enumeration, value: KeyFormatType.Raw });
    const material = (block.value[1] as StructureItem).value;
    expect(material).toHaveLength(1);
    expect(material[0]!.tag).toBe(Tag.KeyMaterial);
    expect(material[0]!.type).toBe(ItemType.ByteString);
    firstKey = material[0]!.value as Uint8Array;
    expect(firstKey).toHaveLength(32);
    expect(block.value[2]).toMatchObject({ type: ItemType.Enumeration, value: CryptographicAlgorithm.AES });
    expect(block.value[3]).toMatchObject({ type: ItemType.Integer, value: 256 });
  });

  it('reports State Pre-Active, activates, then reports Active', async () => {
    const [before, activated, after] = await connection(vcenter.getAttributes(uid, 'State'), vcenter.activate(uid), vcenter.getAttributes(uid, 'State'));
    const state = (r: DecodedResponse) => attrsOf(only(r, Operation.GetAttributes)).get('State');
    expect(state(before!)).toEqual([{ tag: Tag.AttributeValue, type: ItemType.Enumeration, value: State.PreActive }]);
    expect(only(activated!, Operation.Activate)).toEqual({ uniqueIdentifier: uid });
    expect(state(after!)).toEqual([{ tag: Tag.AttributeValue, type: ItemType.Enumeration, value: State.Active }]);
  });

  it('tags the key with its owner (host, then a VM key) and serves the same material afterwards', async () => {
    const absent = await connection(...HOST_OWNER_TAGS.map(([name]) => vcenter.getAttributes(uid, name)));
    for (const r of absent) expect(only(r, Operation.GetAttributes)['attributes']).toEqual([]);
    const [added] = await connection(vcenter.addAttributes(uid, HOST_OWNER_TAGS));
    expect(added!.items.map((i) => i.resultStatus)).toEqual([ResultStatus.Success, ResultStatus.Success, ResultStatus.Success]);
    const [name] = await connection(vcenter.getAttributes(uid, 'x-Name'));
    expect(attrsOf(only(name!, Operation.GetAttributes)).get('x-Name')).toEqual([
      { tag: Tag.AttributeValue, type: ItemType.TextString, value: '172.16.220.132' },
    ]);
    const [get] = await connection(vcenter.get(uid));
    const block = (only(get!, Operation.Get)['symmetricKey'] as StructureItem).value[0] as StructureItem;
    expect(((block.value[1] as StructureItem).value[0]!.value as Uint8Array)).toEqual(firstKey);

    // A second key for a VM goes through the same flow.
    const [vmCreate] = await connection(vcenter.createAes256());
    const vmUid = only(vmCreate!, Operation.Create)['uniqueIdentifier'] as string;
    expect(vmUid).not.toBe(uid);
    const [vmTags] = await connection(vcenter.addAttributes(vmUid, VM_OWNER_TAGS));
    expect(vmTags!.items.every((i) => i.resultStatus === ResultStatus.Success)).toBe(true);
    const [component] = await connection(vcenter.getAttributes(vmUid, 'x-Component'));
    expect(attrsOf(only(component!, Operation.GetAttributes)).get('x-Component')?.[0]).toMatchObject({ value: 'Virtual Machine' });
  });
});
