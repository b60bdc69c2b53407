/**
 * Attributes the spec says the server SHALL set or default, through the real executor and store:
 * Random Number Generator (1.3+), Sensitive / Extractable and the server-kept Always Sensitive /
 * Never Extractable (1.4+), and in 2.x Short Unique Identifier, Key Format Type and Protection
 * Storage Mask — each shown to the versions that define it and to no other.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../../server/ttlv/index.js';
import {
  CryptographicAlgorithm,
  DRBGAlgorithm,
  KeyFormatType,
  ObjectType,
  Operation,
  ProtectionStorageMask,
  ResultReason,
  ResultStatus,
  RNGAlgorithm,
} from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { attributeMap, enumAttr, intAttr, type V1Attribute } from '../../../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import type { DecodedItem } from '../../../support/kmip-client.js';
import { b, bool, e, i, s } from '../../../support/ttlv-builder.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const AES_256 = [enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.AES), intAttr('Cryptographic Length', 256)];
const boolAttr = (name: string, value: boolean): V1Attribute => ({ attributeName: name, attributeValue: bool(Tag.AttributeValue, value) });

/** What the server's DRBG is recorded as: OpenSSL's default, SP 800-90A CTR_DRBG over AES-256. */
const SERVER_RNG: TtlvItem[] = [
  e(Tag.RNGAlgorithm, RNGAlgorithm.DRBG),
  e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
  i(Tag.CryptographicLength, 256),
  e(Tag.DRBGAlgorithm, DRBGAlgorithm.CTR),
];

const NEW_1X = ['Random Number Generator', 'Sensitive', 'Extractable', 'Always Sensitive', 'Never Extractable'];
const NEW_2X = ['Short Unique Identifier', 'Key Format Type', 'Protection Storage Mask'];

function ok(item: { resultStatus: number; resultReason?: number | undefined; resultMessage?: string | undefined }): void {
  expect(item.resultStatus, `${item.resultReason}: ${item.resultMessage}`).toBe(ResultStatus.Success);
}

async function create1x(version: number, attributes: V1Attribute[] = AES_256): Promise<string> {
  const r = await h.run([{ operation: Operation.Create, payload: { objectType: ObjectType.SymmetricKey, templateAttribute: { names: [], attributes } } }], { version });
  ok(r.items[0]!);
  return r.items[0]!.payload!['uniqueIdentifier'] as string;
}

async function create21(extra: TtlvItem[] = []): Promise<DecodedItem> {
  const r = await h.run(
    [
      {
        operation: Operation.Create,
        payload: s(Tag.RequestPayload, [
          e(Tag.ObjectType, ObjectType.SymmetricKey),
          s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 256)]),
          ...extra,
        ]),
      },
    ],
    { version: 21 },
  );
  return r.items[0]!;
}

/** 1.x Get Attributes (all, or the names given) as name → values. */
async function attributes1x(uid: string, version: number, names: string[] = []): Promise<Map<string, TtlvItem[]>> {
  const r = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: names, attributeReferences: [] } }], { version });
  ok(r.items[0]!);
  return attributeMap(r.items[0]!.payload!['attributes'] as TtlvItem[]);
}

async function attributeList(uid: string, version: number): Promise<string[]> {
  const r = await h.run([{ operation: Operation.GetAttributeList, payload: { uniqueIdentifier: uid } }], { version });
  ok(r.items[0]!);
  return (version >= 20 ? r.items[0]!.payload!['attributeReferences'] : r.items[0]!.payload!['attributeNames']) as string[];
}

/** 2.x Get Attributes (all) as tag → items. */
async function attributes2x(uid: string): Promise<Map<number, TtlvItem[]>> {
  const r = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: [], attributeReferences: [] } }], { version: 21 });
  ok(r.items[0]!);
  const out = new Map<number, TtlvItem[]>();
  for (const item of r.items[0]!.payload!['attributesV2'] as TtlvItem[]) out.set(item.tag, [...(out.get(item.tag) ?? []), item]);
  return out;
}
const one2x = (m: Map<number, TtlvItem[]>, tag: number) => {
  expect(m.get(tag), `tag ${tag.toString(16)}`).toHaveLength(1);
  return m.get(tag)![0]!;
};
const value1x = (m: Map<string, TtlvItem[]>, name: string) => {
  expect(m.get(name), name).toHaveLength(1);
  return m.get(name)![0]!.value;
};

describe('what each version sees of a key the server made', () => {
  it('KMIP 1.1 (vCenter): the attributes it saw before and the server-set Lease Time of 1.0, none of the later ones', async () => {
    const uid = await create1x(11);
    expect(await attributeList(uid, 11)).toEqual([
      'Unique Identifier',
      'Object Type',
      'State',
      'Fresh',
      'Cryptographic Algorithm',
      'Cryptographic Length',
      'Digest',
      'Initial Date',
      'Last Change Date',
      'Cryptographic Usage Mask',
      // KMIP 1.0 §3.15: the server's lease, on every cryptographic object (the lease Obtain Lease grants).
      'Lease Time',
    ]);
    const all = await attributes1x(uid, 11);
    for (const name of [...NEW_1X, ...NEW_2X]) expect(all.has(name), name).toBe(false);
    // Asked by name, an attribute 1.1 does not define is left out like an absent one, not refused.
    const asked = await attributes1x(uid, 11, ['State', 'Random Number Generator', 'Sensitive']);
    expect([...asked.keys()]).toEqual(['State']);
  });

  it('KMIP 1.2 sees no Random Number Generator; 1.3 sees it, and not the 1.4 attributes', async () => {
    const uid = await create1x(13);
    expect((await attributeList(uid, 12)).filter((n) => NEW_1X.includes(n))).toEqual([]);
    const list13 = await attributeList(uid, 13);
    expect(list13.filter((n) => [...NEW_1X, ...NEW_2X].includes(n))).toEqual(['Random Number Generator']);
    expect(value1x(await attributes1x(uid, 13, ['Random Number Generator']), 'Random Number Generator')).toEqual(SERVER_RNG);
  });

  it('KMIP 1.4: the generator, Sensitive False, Extractable True, never Always Sensitive nor Never Extractable', async () => {
    const uid = await create1x(14);
    const m = await attributes1x(uid, 14);
    expect(value1x(m, 'Random Number Generator')).toEqual(SERVER_RNG);
    expect(value1x(m, 'Sensitive')).toBe(false);
    expect(value1x(m, 'Extractable')).toBe(true);
    expect(value1x(m, 'Always Sensitive')).toBe(false);
    expect(value1x(m, 'Never Extractable')).toBe(false);
    for (const name of NEW_2X) expect(m.has(name), name).toBe(false);
    const list = await attributeList(uid, 14);
    for (const name of NEW_1X) expect(list, name).toContain(name);
  });

  it('KMIP 2.1: also Short Unique Identifier (SHA-256 of the identifier), Key Format Type Raw, Protection Storage Mask Software', async () => {
    const created = await create21();
    ok(created);
    const uid = created.payload!['uniqueIdentifier'] as string;
    const m = await attributes2x(uid);
    const short = one2x(m, Tag.ShortUniqueIdentifier);
    expect(short.type).toBe(ItemType.ByteString);
    expect(Buffer.from(short.value as Uint8Array).equals(createHash('sha256').update(uid).digest())).toBe(true);
    expect(one2x(m, Tag.KeyFormatType)).toMatchObject({ type: ItemType.Enumeration, value: KeyFormatType.Raw });
    expect(one2x(m, Tag.ProtectionStorageMask)).toMatchObject({ type: ItemType.Integer, value: ProtectionStorageMask.Software });
    expect(one2x(m, Tag.RandomNumberGenerator).value).toEqual(SERVER_RNG);
    expect(one2x(m, Tag.Sensitive).value).toBe(false);
    expect(one2x(m, Tag.Extractable).value).toBe(true);
    expect(one2x(m, Tag.AlwaysSensitive).value).toBe(false);
    expect(one2x(m, Tag.NeverExtractable).value).toBe(false);
    const list = await attributeList(uid, 21);
    for (const name of [...NEW_1X, ...NEW_2X]) expect(list, name).toContain(name);
    // The same key through 1.4 eyes: the 2.x attributes stay out.
    const seen14 = await attributeList(uid, 14);
    for (const name of NEW_2X) expect(seen14, name).not.toContain(name);
  });

  it('asked by reference in 2.1, each comes back in the order asked', async () => {
    const created = await create21();
    ok(created);
    const uid = created.payload!['uniqueIdentifier'] as string;
    const r = await h.run(
      [
        {
          operation: Operation.GetAttributes,
          payload: s(Tag.RequestPayload, [
            { tag: Tag.UniqueIdentifier, type: ItemType.TextString, value: uid },
            e(Tag.AttributeReference, Tag.ProtectionStorageMask),
            e(Tag.AttributeReference, Tag.KeyFormatType),
            e(Tag.AttributeReference, Tag.ShortUniqueIdentifier),
          ]),
        },
      ],
      { version: 21 },
    );
    ok(r.items[0]!);
    expect((r.items[0]!.payload!['attributesV2'] as TtlvItem[]).map((a) => a.tag)).toEqual([Tag.ProtectionStorageMask, Tag.KeyFormatType, Tag.ShortUniqueIdentifier]);
  });
});

describe('Random Number Generator marks what the server generated, and only that', () => {
  it('Create Key Pair: both halves, with their stored Key Format Type (RSA: PKCS#1)', async () => {
    const r = await h.run(
      [{ operation: Operation.CreateKeyPair, payload: s(Tag.RequestPayload, [s(Tag.CommonAttributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA), i(Tag.CryptographicLength, 2048)])]) }],
      { version: 21 },
    );
    ok(r.items[0]!);
    for (const field of ['privateKeyUniqueIdentifier', 'publicKeyUniqueIdentifier']) {
      const m = await attributes2x(r.items[0]!.payload![field] as string);
      expect(one2x(m, Tag.RandomNumberGenerator).value, field).toEqual(SERVER_RNG);
      expect(one2x(m, Tag.KeyFormatType).value, field).toBe(KeyFormatType.PKCS_1);
      expect(one2x(m, Tag.ProtectionStorageMask).value, field).toBe(ProtectionStorageMask.Software);
    }
  });

  it('ReKey and ReKey Key Pair: the replacements have it', async () => {
    const oldKey = await create1x(14);
    const rekeyed = await h.run([{ operation: Operation.ReKey, payload: { uniqueIdentifier: oldKey } }], { version: 14 });
    ok(rekeyed.items[0]!);
    const replacement = await attributes1x(rekeyed.items[0]!.payload!['uniqueIdentifier'] as string, 14);
    expect(value1x(replacement, 'Random Number Generator')).toEqual(SERVER_RNG);
    expect(value1x(replacement, 'Sensitive')).toBe(false);

    const pair = await h.run(
      [{ operation: Operation.CreateKeyPair, payload: { commonTemplateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.EC), intAttr('Cryptographic Length', 256)] } } }],
      { version: 14 },
    );
    ok(pair.items[0]!);
    const rekeyedPair = await h.run([{ operation: Operation.ReKeyKeyPair, payload: { privateKeyUniqueIdentifier: pair.items[0]!.payload!['privateKeyUniqueIdentifier'] } }], { version: 14 });
    ok(rekeyedPair.items[0]!);
    for (const field of ['privateKeyUniqueIdentifier', 'publicKeyUniqueIdentifier']) {
      const m = await attributes1x(rekeyedPair.items[0]!.payload![field] as string, 14);
      expect(value1x(m, 'Random Number Generator'), field).toEqual(SERVER_RNG);
    }
  });

  it('Register: no generator (the client made it), but the defaults, the server-kept pair and Key Format Type', async () => {
    const key = s(Tag.SymmetricKey, [
      s(Tag.KeyBlock, [
        e(Tag.KeyFormatType, KeyFormatType.Raw),
        s(Tag.KeyValue, [b(Tag.KeyMaterial, '000102030405060708090a0b0c0d0e0f')]),
        e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
        i(Tag.CryptographicLength, 128),
      ]),
    ]);
    const r = await h.run([{ operation: Operation.Register, payload: { objectType: ObjectType.SymmetricKey, templateAttribute: { names: [], attributes: [] }, symmetricKey: key } }], { version: 14 });
    ok(r.items[0]!);
    const uid = r.items[0]!.payload!['uniqueIdentifier'] as string;
    const m = await attributes1x(uid, 14);
    expect(m.has('Random Number Generator')).toBe(false);
    expect(value1x(m, 'Sensitive')).toBe(false);
    expect(value1x(m, 'Extractable')).toBe(true);
    expect(value1x(m, 'Always Sensitive')).toBe(false);
    expect(value1x(m, 'Never Extractable')).toBe(false);
    const m2 = await attributes2x(uid);
    expect(one2x(m2, Tag.KeyFormatType).value).toBe(KeyFormatType.Raw);
    expect(m2.has(Tag.RandomNumberGenerator)).toBe(false);
  });
});

describe('Always Sensitive and Never Extractable follow the object’s history', () => {
  const modify = async (uid: string, name: string, value: boolean) => {
    const r = await h.run([{ operation: Operation.ModifyAttribute, payload: { uniqueIdentifier: uid, attribute: boolAttr(name, value) } }], { version: 14 });
    ok(r.items[0]!);
  };

  it('start true when created Sensitive and not Extractable; turn false once that ends, and stay false', async () => {
    const uid = await create1x(14, [...AES_256, boolAttr('Sensitive', true), boolAttr('Extractable', false)]);
    let m = await attributes1x(uid, 14);
    expect(value1x(m, 'Always Sensitive')).toBe(true);
    expect(value1x(m, 'Never Extractable')).toBe(true);
    const get = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }], { version: 14 });
    expect(get.items[0]!.resultReason).toBe(ResultReason.Sensitive);

    await modify(uid, 'Sensitive', false);
    m = await attributes1x(uid, 14);
    expect(value1x(m, 'Always Sensitive')).toBe(false);
    expect(value1x(m, 'Never Extractable')).toBe(true);

    await modify(uid, 'Extractable', true);
    await modify(uid, 'Sensitive', true);
    m = await attributes1x(uid, 14);
    expect(value1x(m, 'Sensitive')).toBe(true);
    expect(value1x(m, 'Always Sensitive')).toBe(false);
    expect(value1x(m, 'Never Extractable')).toBe(false);
  });

  it('are the server’s: a client can neither set nor change them', async () => {
    const created = await h.run(
      [{ operation: Operation.Create, payload: { objectType: ObjectType.SymmetricKey, templateAttribute: { names: [], attributes: [...AES_256, boolAttr('Always Sensitive', true)] } } }],
      { version: 14 },
    );
    expect(created.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
    const uid = await create1x(14);
    const r = await h.run([{ operation: Operation.ModifyAttribute, payload: { uniqueIdentifier: uid, attribute: boolAttr('Never Extractable', true) } }], { version: 14 });
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
    const rng = await h.run(
      [{ operation: Operation.Create, payload: { objectType: ObjectType.SymmetricKey, templateAttribute: { names: [], attributes: [...AES_256, { attributeName: 'Random Number Generator', attributeValue: s(Tag.AttributeValue, [e(Tag.RNGAlgorithm, RNGAlgorithm.ANSIX9_31)]) }] } } }],
      { version: 14 },
    );
    expect(rng.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
  });
});

describe('objects stored before the server kept these attributes', () => {
  const KEPT = ['Sensitive', 'Extractable', 'Always Sensitive', 'Never Extractable', 'Protection Storage Mask'];

  /** A key as an earlier server stored it: none of the attributes above. */
  async function legacyKey(): Promise<string> {
    const uid = await create1x(11);
    const record = (await h.store.getObject(h.principal.tenantId, uid))!;
    expect(record.attributes.filter((a) => KEPT.includes(a.name))).toHaveLength(KEPT.length);
    await h.store.commit([{ kind: 'update', object: { ...record, revision: record.revision + 1, attributes: record.attributes.filter((a) => !KEPT.includes(a.name)) }, expectedRevision: record.revision }]);
    return uid;
  }

  it('answer with the defaults, to the versions that define them', async () => {
    const uid = await legacyKey();
    const m = await attributes1x(uid, 14);
    expect(value1x(m, 'Sensitive')).toBe(false);
    expect(value1x(m, 'Extractable')).toBe(true);
    expect(value1x(m, 'Always Sensitive')).toBe(false);
    expect(value1x(m, 'Never Extractable')).toBe(false);
    expect(one2x(await attributes2x(uid), Tag.ProtectionStorageMask).value).toBe(ProtectionStorageMask.Software);
    for (const name of KEPT) expect(await attributeList(uid, 11), name).not.toContain(name);
  });

  it('take a client’s change to a default like any other value', async () => {
    const uid = await legacyKey();
    const r = await h.run([{ operation: Operation.ModifyAttribute, payload: { uniqueIdentifier: uid, attribute: boolAttr('Sensitive', true) } }], { version: 14 });
    ok(r.items[0]!);
    const m = await attributes1x(uid, 14);
    expect(value1x(m, 'Sensitive')).toBe(true);
    expect(value1x(m, 'Always Sensitive')).toBe(false);
    const get = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }], { version: 14 });
    expect(get.items[0]!.resultReason).toBe(ResultReason.Sensitive);
  });
});

describe('Protection Storage Masks (2.x requests)', () => {
  const masks = (...values: number[]) => s(Tag.ProtectionStorageMasks, values.map((v) => i(Tag.ProtectionStorageMask, v)));

  it('a request that permits software storage gets it; one that permits only other storage is refused before anything is made', async () => {
    const permitted = await create21([masks(ProtectionStorageMask.Hardware, ProtectionStorageMask.Software | ProtectionStorageMask.OnSystem)]);
    ok(permitted);
    const m = await attributes2x(permitted.payload!['uniqueIdentifier'] as string);
    expect(one2x(m, Tag.ProtectionStorageMask).value).toBe(ProtectionStorageMask.Software);

    const refused = await create21([masks(ProtectionStorageMask.Hardware, ProtectionStorageMask.OffSystem)]);
    expect(refused.resultReason).toBe(ResultReason.ProtectionStorageUnavailable);
    const malformed = await create21([s(Tag.ProtectionStorageMasks, [i(Tag.CryptographicUsageMask, 1)])]);
    expect(malformed.resultReason).toBe(ResultReason.InvalidField);
  });

  it('Create Key Pair names the half whose masks cannot be met', async () => {
    const pair = (extra: TtlvItem[]) =>
      h.run(
        [{ operation: Operation.CreateKeyPair, payload: s(Tag.RequestPayload, [s(Tag.CommonAttributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.EC), i(Tag.CryptographicLength, 256)]), ...extra]) }],
        { version: 21 },
      );
    const priv = await pair([{ ...masks(ProtectionStorageMask.Hardware), tag: Tag.PrivateProtectionStorageMasks }]);
    expect(priv.items[0]!.resultReason).toBe(ResultReason.PrivateProtectionStorageUnavailable);
    const pub = await pair([{ ...masks(ProtectionStorageMask.Software), tag: Tag.CommonProtectionStorageMasks }, { ...masks(ProtectionStorageMask.Hardware), tag: Tag.PublicProtectionStorageMasks }]);
    expect(pub.items[0]!.resultReason).toBe(ResultReason.PublicProtectionStorageUnavailable);
  });
});

describe('Locate', () => {
  it('by a Short Unique Identifier says it cannot, rather than finding nothing', async () => {
    const created = await create21();
    ok(created);
    const uid = created.payload!['uniqueIdentifier'] as string;
    const r = await h.run(
      [{ operation: Operation.Locate, payload: s(Tag.RequestPayload, [s(Tag.Attributes, [b(Tag.ShortUniqueIdentifier, createHash('sha256').update(uid).digest())])]) }],
      { version: 21 },
    );
    expect(r.items[0]!.resultReason).toBe(ResultReason.FeatureNotSupported);
  });

  it('by the stored defaults: Sensitive False finds a default key, Sensitive True does not', async () => {
    const uid = await create1x(14, [...AES_256, { attributeName: 'x-locate-sensitive', attributeValue: { tag: Tag.AttributeValue, type: ItemType.TextString, value: 'marker' } }]);
    const find = async (sensitive: boolean) => {
      const r = await h.run(
        [{ operation: Operation.Locate, payload: { attributes: [boolAttr('Sensitive', sensitive), { attributeName: 'x-locate-sensitive', attributeValue: { tag: Tag.AttributeValue, type: ItemType.TextString, value: 'marker' } }] } }],
        { version: 14 },
      );
      ok(r.items[0]!);
      return r.items[0]!.payload!['uniqueIdentifiers'] as string[];
    };
    expect(await find(false)).toEqual([uid]);
    expect(await find(true)).toEqual([]);
  });
});
