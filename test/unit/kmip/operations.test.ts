/** Operation details beyond the lifecycle: key algorithms, Get formats, attributes, Locate filters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type StructureItem, type TtlvItem } from '../../../server/ttlv/index.js';
import { CryptographicAlgorithm, KeyFormatType, Operation, ResultReason, ResultStatus, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { attributeMap, dateAttr, enumAttr, intAttr, nameAttr, textAttr } from '../../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness({ maxLocateItems: 50 });
});
afterAll(() => h.close());

async function create(algorithm: number, length: number, extra: object[] = [], version = 11) {
  const r = await h.run(
    [{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', algorithm), intAttr('Cryptographic Length', length), ...extra] } } }],
    { version },
  );
  return r.items[0]!;
}

async function keyBlock(uid: string, format?: number): Promise<StructureItem> {
  const r = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid, ...(format ? { keyFormatType: format } : {}) } }]);
  expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
  return (r.items[0]!.payload!['symmetricKey'] as StructureItem).value[0] as StructureItem;
}

const material = (block: StructureItem) => (block.value[1] as StructureItem).value[0]!;

describe('Create', () => {
  it('makes AES 128/192/256, 3DES (168 bits in 24 bytes, odd parity), HMAC and ChaCha20 keys of the right size', async () => {
    const cases: Array<[number, number, number]> = [
      [CryptographicAlgorithm.AES, 128, 16],
      [CryptographicAlgorithm.AES, 192, 24],
      [CryptographicAlgorithm.AES, 256, 32],
      [CryptographicAlgorithm.DES3, 168, 24],
      [CryptographicAlgorithm.HMAC_SHA256, 256, 32],
      [CryptographicAlgorithm.HMAC_SHA512, 512, 64],
      [CryptographicAlgorithm.ChaCha20, 256, 32],
    ];
    for (const [alg, bits, bytes] of cases) {
      // ChaCha20 exists from KMIP 1.4 on.
      const item = await create(alg, bits, [], 14);
      expect(item.resultStatus, `${alg}/${bits}`).toBe(ResultStatus.Success);
      const block = await keyBlock(item.payload!['uniqueIdentifier'] as string);
      const key = material(block).value as Uint8Array;
      expect(key.length).toBe(bytes);
      expect(block.value[2]).toMatchObject({ value: alg });
      expect(block.value[3]).toMatchObject({ value: bits });
      if (alg === CryptographicAlgorithm.DES3) for (const b of key) expect(b.toString(2).split('1').length % 2, 'odd parity').toBe(0);
    }
  });

  it('refuses lengths an algorithm does not have, algorithms it cannot make, and a missing algorithm', async () => {
    expect((await create(CryptographicAlgorithm.AES, 100)).resultReason).toBe(ResultReason.InvalidField);
    expect((await create(CryptographicAlgorithm.RSA, 2048)).resultReason).toBe(ResultReason.InvalidField);
    const r = await h.run([{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: { names: [], attributes: [intAttr('Cryptographic Length', 256)] } } }]);
    expect(r.items[0]!.resultReason).toBe(ResultReason.InvalidField);
  });

  it('refuses server-set attributes in the template', async () => {
    expect((await create(3, 256, [enumAttr('State', State.Active)])).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await create(3, 256, [textAttr('y-Server', 'x')])).resultReason).toBe(ResultReason.PermissionDenied);
  });
});

describe('Get formats', () => {
  it('serves Raw by default and Transparent Symmetric Key on request, with the same key bytes', async () => {
    const uid = (await create(3, 256)).payload!['uniqueIdentifier'] as string;
    const raw = await keyBlock(uid);
    expect(raw.value[0]).toMatchObject({ value: KeyFormatType.Raw });
    const transparent = await keyBlock(uid, KeyFormatType.TransparentSymmetricKey);
    expect(transparent.value[0]).toMatchObject({ value: KeyFormatType.TransparentSymmetricKey });
    const keyStruct = material(transparent) as StructureItem;
    expect(keyStruct.type).toBe(ItemType.Structure);
    expect(keyStruct.value).toEqual([{ tag: Tag.Key, type: ItemType.ByteString, value: material(raw).value }]);
    const refused = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid, keyFormatType: KeyFormatType.PKCS_8 } }]);
    expect(refused.items[0]!.resultReason).toBe(ResultReason.KeyFormatTypeNotSupported);
  });
});

describe('attributes', () => {
  it('never lets one object carry the same Name twice: not at Create, not by Add or Modify Attribute', async () => {
    const tag = `twice-${Date.now()}`;
    const twice = await create(3, 128, [nameAttr(`${tag}-a`), nameAttr(`${tag}-a`)]);
    expect(twice.resultReason).toBe(ResultReason.InvalidField); // Non-Unique Name Attribute, as a 1.1 client sees it
    expect(twice.resultMessage).toMatch(/Name already exists/);
    const uid = (await create(3, 128, [nameAttr(`${tag}-a`), nameAttr(`${tag}-b`)])).payload!['uniqueIdentifier'] as string;
    const run = (operation: number, payload: Record<string, unknown>) => h.run([{ operation, payload: { uniqueIdentifier: uid, ...payload } }], { version: 14 }).then((r) => r.items[0]!);
    // 1.x clients get Invalid Field for Non-Unique Name Attribute (a 2.0 reason); the message says which.
    for (const refused of [await run(Operation.AddAttribute, { attribute: nameAttr(`${tag}-a`) }), await run(Operation.ModifyAttribute, { attribute: { ...nameAttr(`${tag}-a`), attributeIndex: 1 } })]) {
      expect(refused.resultReason).toBe(ResultReason.InvalidField);
      expect(refused.resultMessage).toMatch(/Name already exists/);
    }
    expect((await run(Operation.ModifyAttribute, { attribute: { ...nameAttr(`${tag}-c`), attributeIndex: 1 } })).resultStatus).toBe(ResultStatus.Success);
  });

  it('adds, modifies and deletes custom and multi-instance attributes with indices', async () => {
    const uid = (await create(3, 128)).payload!['uniqueIdentifier'] as string;
    const run = (operation: number, payload: Record<string, unknown>) => h.run([{ operation, payload: { uniqueIdentifier: uid, ...payload } }]).then((r) => r.items[0]!);
    for (const v of ['a', 'b', 'c']) expect((await run(Operation.AddAttribute, { attribute: textAttr('x-Multi', v) })).resultStatus).toBe(ResultStatus.Success);
    const third = attributeMap([(await run(Operation.AddAttribute, { attribute: textAttr('x-Multi', 'd') })).payload!['attribute'] as TtlvItem]);
    expect(third.get('x-Multi')).toHaveLength(1);
    expect((await run(Operation.ModifyAttribute, { attribute: { ...textAttr('x-Multi', 'B'), attributeIndex: 1 } })).resultStatus).toBe(ResultStatus.Success);
    expect((await run(Operation.DeleteAttribute, { attributeName: 'x-Multi', attributeIndex: 0 })).resultStatus).toBe(ResultStatus.Success);
    expect((await run(Operation.DeleteAttribute, { attributeName: 'x-Multi', attributeIndex: 0 })).resultReason).toBe(ResultReason.InvalidField);
    const all = await run(Operation.GetAttributes, { attributeNames: ['x-Multi'], attributeReferences: [] });
    expect(attributeMap(all.payload!['attributes'] as TtlvItem[]).get('x-Multi')!.map((v) => v.value)).toEqual(['B', 'c', 'd']);
    const list = await run(Operation.GetAttributeList, {});
    expect(list.payload!['attributeNames']).toEqual(expect.arrayContaining(['x-Multi', 'State', 'Digest', 'Cryptographic Algorithm']));
  });

  it('refuses a second value of a single-valued attribute and any change to read-only ones', async () => {
    const uid = (await create(3, 128)).payload!['uniqueIdentifier'] as string;
    const add = (a: object) => h.run([{ operation: Operation.AddAttribute, payload: { uniqueIdentifier: uid, attribute: a } }]).then((r) => r.items[0]!);
    expect((await add(textAttr('Contact Information', 'ops'))).resultStatus).toBe(ResultStatus.Success);
    expect((await add(textAttr('Contact Information', 'again'))).resultReason).toBe(ResultReason.IllegalOperation);
    expect((await add(intAttr('Cryptographic Length', 256))).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await add(intAttr('Cryptographic Usage Mask', 4))).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await add(textAttr('Object Group', 'g1'))).resultStatus).toBe(ResultStatus.Success);
    expect((await add({ ...textAttr('x-Indexed', 'v'), attributeIndex: 2 })).resultReason).toBe(ResultReason.InvalidField);
    const del = await h.run([{ operation: Operation.DeleteAttribute, payload: { uniqueIdentifier: uid, attributeName: 'Initial Date' } }]);
    expect(del.items[0]!.resultReason).toBe(ResultReason.PermissionDenied);
  });
});

describe('Locate', () => {
  it('filters by object type, name, state and custom attributes together, honouring Maximum Items', async () => {
    const tag = `loc-${Date.now()}`;
    const uids: string[] = [];
    for (let i = 0; i < 6; i++) uids.push((await create(3, 256, [textAttr('x-Batch', tag), nameAttr(`${tag}-${i}`)])).payload!['uniqueIdentifier'] as string);
    await h.run([{ operation: Operation.Activate, payload: { uniqueIdentifier: uids[1] } }]);
    const locate = async (attributes: object[], maximumItems?: number) =>
      (await h.run([{ operation: Operation.Locate, payload: { attributes, ...(maximumItems === undefined ? {} : { maximumItems }) } }])).items[0]!.payload!['uniqueIdentifiers'];
    expect(await locate([textAttr('x-Batch', tag)])).toEqual(uids);
    expect(await locate([textAttr('x-Batch', tag), enumAttr('State', State.Active)])).toEqual([uids[1]]);
    expect(await locate([nameAttr(`${tag}-4`), enumAttr('Object Type', 2)])).toEqual([uids[4]]);
    expect(await locate([nameAttr(`${tag}-4`), enumAttr('Object Type', 7)])).toEqual([]);
    expect(await locate([textAttr('x-Batch', tag)], 2)).toEqual(uids.slice(0, 2));
    expect(await locate([textAttr('x-Batch', 'nothing-has-this')])).toEqual([]);
    // Algorithm and length are read from stored attributes, not the attribute index: same answers.
    const odd = (await create(CryptographicAlgorithm.AES, 192, [textAttr('x-Batch', tag)])).payload!['uniqueIdentifier'] as string;
    expect(await locate([textAttr('x-Batch', tag), intAttr('Cryptographic Length', 192)])).toEqual([odd]);
    expect(await locate([intAttr('Cryptographic Length', 192), enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.AES), textAttr('x-Batch', tag)])).toEqual([odd]);
    // Destroyed objects are not online: Locate does not find them.
    await h.run([{ operation: Operation.Destroy, payload: { uniqueIdentifier: uids[0] } }]);
    expect(await locate([textAttr('x-Batch', tag)])).toEqual([...uids.slice(1), odd]);
  });

  it('finds objects by a range over dates the attribute index does not hold (Last Change Date, Original Creation Date)', async () => {
    const tag = `dates-${Date.now()}`;
    const uid = (await create(CryptographicAlgorithm.AES, 256, [textAttr('x-Dates', tag)])).payload!['uniqueIdentifier'] as string;
    const now = Math.floor(Date.now() / 1000);
    const locate = async (name: string, from: number, to: number) => {
      const item = (await h.run([{ operation: Operation.Locate, payload: { attributes: [textAttr('x-Dates', tag), dateAttr(name, from), dateAttr(name, to)] } }], { version: 12 })).items[0]!;
      expect(item.resultMessage ?? '', name).toBe('');
      return item.payload!['uniqueIdentifiers'];
    };
    for (const name of ['Last Change Date', 'Original Creation Date']) {
      expect(await locate(name, now - 60, now + 60), name).toEqual([uid]);
      expect(await locate(name, now + 600, now + 900), name).toEqual([]);
    }
  });

  it('finds objects by Fresh: never served by Get, or served', async () => {
    const tag = `fresh-${Date.now()}`;
    const [kept, served] = await Promise.all([0, 1].map(async () => (await create(CryptographicAlgorithm.AES, 256, [textAttr('x-Fresh', tag)])).payload!['uniqueIdentifier'] as string));
    await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: served } }]);
    // A Get's time reaches the store with the next touch flush (1 s).
    await new Promise((r) => setTimeout(r, 1_300));
    const locate = async (fresh: boolean) =>
      (await h.run([{ operation: Operation.Locate, payload: { attributes: [textAttr('x-Fresh', tag), { attributeName: 'Fresh', attributeValue: { tag: Tag.AttributeValue, type: ItemType.Boolean, value: fresh } as TtlvItem }] } }])).items[0]!.payload!['uniqueIdentifiers'];
    expect(await locate(true)).toEqual([kept]);
    expect(await locate(false)).toEqual([served]);
  });

  it('reports Located Items to clients that page (1.3+), bounded by the server limit', async () => {
    const tag = `page-${Date.now()}`;
    for (let i = 0; i < 60; i++) await create(3, 128, [textAttr('x-Page', tag)]);
    const r = await h.run([{ operation: Operation.Locate, payload: { attributes: [textAttr('x-Page', tag)], maximumItems: 500, offsetItems: 5 } }], { version: 13 });
    expect(r.items[0]!.payload!['locatedItems']).toBe(60);
    expect(r.items[0]!.payload!['uniqueIdentifiers']).toHaveLength(50);
    const plain = await h.run([{ operation: Operation.Locate, payload: { attributes: [textAttr('x-Page', tag)] } }], { version: 13 });
    expect(plain.items[0]!.payload!['locatedItems']).toBeUndefined();
  });
});
