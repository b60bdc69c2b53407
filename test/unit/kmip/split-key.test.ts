/**
 * Split Keys through the real batch executor, over KMIP 1.4 and 2.1: Register and Get of a Split Key
 * object byte for byte and every field checked; Create Split Key of an existing key and of a new one
 * by each method, and Join Split Key giving back exactly the key Get returns for the original; and
 * the refusals: too few parts, parts of two splits, parts of another tenant, keys that may not leave.
 * Then the bounds: the work a split or join may cost over a large prime, the store reads the chain
 * check may spend, the Child Links one key may gather; Always Sensitive and Never Extractable carried
 * no further than the parts' history allows; Templates named at 1.4; the primality test off the thread.
 */
import { generatePrime, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeTtlv, type TtlvItem } from '../../../server/ttlv/index.js';
import type { Principal } from '../../../server/kmip/context.js';
import { CryptographicAlgorithm, KeyFormatType, LinkType, ObjectType, Operation, QueryFunction, ResultReason, ResultStatus, SecretDataType, SplitKeyMethod, State } from '../../../server/kmip/generated/enums.js';
import { gf256Split, MAX_SPLIT_PARTS } from '../../../server/kmip/crypto/shamir.js';
import { checkSplitParameters } from '../../../server/kmip/objects/split-key.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { ManagedObject } from '../../../server/kmip/managed-object.js';
import type { LinkValue } from '../../../server/kmip/model/attribute-values.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import type { DecodedItem } from '../../support/kmip-client.js';
import { attr, b, bi, bool, e, i, nameItem, s, t } from '../../support/ttlv-builder.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const hex = (v: Uint8Array) => Buffer.from(v).toString('hex');
const payload = (children: TtlvItem[]): TtlvItem => s(Tag.RequestPayload, children);
const fields = (item: TtlvItem) => item.value as TtlvItem[];
const field = (item: TtlvItem, tag: number) => fields(item).find((c) => c.tag === tag);

/** Attributes as a 1.x Template-Attribute or a 2.x Attributes structure. */
function attributes(version: number, list: Array<[string, TtlvItem]>): TtlvItem {
  return version >= 20 ? s(Tag.Attributes, list.map(([, item]) => item)) : s(Tag.TemplateAttribute, list.map(([name, item]) => attr(name, item)));
}
const aes = (bits = 256): Array<[string, TtlvItem]> => [
  ['Cryptographic Algorithm', e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES)],
  ['Cryptographic Length', i(Tag.CryptographicLength, bits)],
];

async function run(version: number, operation: number, children: TtlvItem[], who?: Principal): Promise<DecodedItem> {
  return (await h.run([{ operation, payload: payload(children) }], { version }, who)).items[0]!;
}
function ok(item: DecodedItem): Record<string, unknown> {
  expect(item.resultStatus, `${item.resultReason}: ${item.resultMessage}`).toBe(ResultStatus.Success);
  return item.payload!;
}

async function createKey(version: number, extra: Array<[string, TtlvItem]> = []): Promise<string> {
  return ok(await run(version, Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), attributes(version, [...aes(), ...extra])]))['uniqueIdentifier'] as string;
}

async function getObject(version: number, uid: string, who?: Principal): Promise<{ objectType: number; object: TtlvItem }> {
  const p = ok(await run(version, Operation.Get, [t(Tag.UniqueIdentifier, uid)], who));
  const object = (p['symmetricKey'] ?? p['secretData'] ?? p['splitKey']) as TtlvItem;
  return { objectType: p['objectType'] as number, object };
}

/** The Key Material bytes of a Symmetric Key, Secret Data or Split Key as Get returns it. */
async function keyBytes(version: number, uid: string): Promise<string> {
  const { object } = await getObject(version, uid);
  const keyValue = field(field(object, Tag.KeyBlock)!, Tag.KeyValue)!;
  return hex(field(keyValue, Tag.KeyMaterial)!.value as Uint8Array);
}

interface SplitRequest {
  readonly parts: number;
  readonly threshold: number;
  readonly method: number;
  readonly uid?: string;
  readonly objectType?: number;
  readonly prime?: bigint;
  readonly attributes?: Array<[string, TtlvItem]>;
}
function createSplit(version: number, r: SplitRequest, who?: Principal): Promise<DecodedItem> {
  return run(
    version,
    Operation.CreateSplitKey,
    [
      e(Tag.ObjectType, r.objectType ?? ObjectType.SplitKey),
      ...(r.uid ? [t(Tag.UniqueIdentifier, r.uid)] : []),
      i(Tag.SplitKeyParts, r.parts),
      i(Tag.SplitKeyThreshold, r.threshold),
      e(Tag.SplitKeyMethod, r.method),
      ...(r.prime !== undefined ? [bi(Tag.PrimeFieldSize, r.prime)] : []),
      attributes(version, r.attributes ?? []),
    ],
    who,
  );
}
const splitUids = async (version: number, r: SplitRequest) => ok(await createSplit(version, r))['uniqueIdentifiers'] as string[];

function join(version: number, uids: string[], objectType: number = ObjectType.SymmetricKey, extra: TtlvItem[] = [], who?: Principal): Promise<DecodedItem> {
  return run(version, Operation.JoinSplitKey, [e(Tag.ObjectType, objectType), ...uids.map((u) => t(Tag.UniqueIdentifier, u)), ...extra], who);
}

async function stored(uid: string): Promise<ManagedObject> {
  const record = await h.store.getObject(h.principal.tenantId, uid);
  return ManagedObject.fromRecord(record!, Date.now());
}
async function links(uid: string): Promise<LinkValue[]> {
  return (await stored(uid)).instances('Link').map((a) => a.value as LinkValue);
}

interface PartFields {
  parts: number;
  id: number;
  threshold: number;
  method: number;
  prime?: bigint;
  share: Uint8Array;
  bits?: number;
}
function splitKeyItem(o: PartFields): TtlvItem {
  return s(Tag.SplitKey, [
    i(Tag.SplitKeyParts, o.parts),
    i(Tag.KeyPartIdentifier, o.id),
    i(Tag.SplitKeyThreshold, o.threshold),
    e(Tag.SplitKeyMethod, o.method),
    ...(o.prime !== undefined ? [bi(Tag.PrimeFieldSize, o.prime)] : []),
    s(Tag.KeyBlock, [
      e(Tag.KeyFormatType, KeyFormatType.Raw),
      s(Tag.KeyValue, [b(Tag.KeyMaterial, o.share)]),
      e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
      i(Tag.CryptographicLength, o.bits ?? o.share.length * 8),
    ]),
  ]);
}
const registerPart = (version: number, item: TtlvItem, extra: Array<[string, TtlvItem]> = []) =>
  run(version, Operation.Register, [e(Tag.ObjectType, ObjectType.SplitKey), attributes(version, extra), item]);

const M521 = (1n << 521n) - 1n;

describe.each([14, 21])('Split Keys over KMIP %i', (V) => {
  const notFound = V >= 20 ? ResultReason.ObjectNotFound : ResultReason.ItemNotFound;

  it('registers a Split Key and Gets it back byte for byte, with its attributes', async () => {
    const item = splitKeyItem({ parts: 3, id: 2, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, share: new Uint8Array(randomBytes(16)) });
    const uid = ok(await registerPart(V, item))['uniqueIdentifier'] as string;
    const back = await getObject(V, uid);
    expect(back.objectType).toBe(ObjectType.SplitKey);
    expect(hex(encodeTtlv(back.object))).toBe(hex(encodeTtlv(item)));
    const raw = ok(await run(V, Operation.Get, [t(Tag.UniqueIdentifier, uid), e(Tag.KeyFormatType, KeyFormatType.Raw)]));
    expect(hex(encodeTtlv(raw['splitKey'] as TtlvItem))).toBe(hex(encodeTtlv(item)));

    const primed = splitKeyItem({ parts: 4, id: 4, threshold: 3, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: M521, share: new Uint8Array(randomBytes(65)), bits: 128 });
    const primedUid = ok(await registerPart(V, primed))['uniqueIdentifier'] as string;
    expect(hex(encodeTtlv((await getObject(V, primedUid)).object))).toBe(hex(encodeTtlv(primed)));
  });

  it('refuses a Split Key whose fields are out of bounds or disagree', async () => {
    const share = new Uint8Array(randomBytes(16));
    const base: PartFields = { parts: 3, id: 1, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, share };
    const refused: PartFields[] = [
      { ...base, parts: 1, threshold: 1 },
      { ...base, parts: 256 },
      { ...base, threshold: 4 },
      { ...base, threshold: 1 },
      { ...base, id: 0 },
      { ...base, id: 4 },
      { ...base, method: SplitKeyMethod.PolynomialSharingPrimeField }, // without a Prime Field Size
      { ...base, prime: M521 }, // a Prime Field Size without the prime method
      { ...base, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: (1n << 127n) - 1n }, // a prime, but not above 2^128
      { ...base, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: (1n << 400n) + 1n }, // not a prime (2^16 + 1 divides it)
      { ...base, bits: 256 }, // 16 bytes are not a 256-bit key
    ];
    for (const o of refused) {
      const r = await registerPart(V, splitKeyItem(o));
      expect(r.resultStatus, JSON.stringify({ ...o, share: undefined, prime: String(o.prime) })).toBe(ResultStatus.OperationFailed);
      expect(r.resultReason).toBe(ResultReason.InvalidField);
    }
    const odd = await registerPart(V, splitKeyItem({ ...base, method: SplitKeyMethod.PolynomialSharingGF2_16, share: new Uint8Array(3), bits: 24 }));
    expect(odd.resultReason).toBe(ResultReason.InvalidField);
  });

  it('splits an existing key, links the parts, and joins any threshold of them into exactly that key', async () => {
    const original = await createKey(V);
    const uids = await splitUids(V, { uid: original, parts: 5, threshold: 3, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    expect(uids).toHaveLength(5);
    for (const [n, uid] of uids.entries()) {
      const { objectType, object } = await getObject(V, uid);
      expect(objectType).toBe(ObjectType.SplitKey);
      expect(field(object, Tag.KeyPartIdentifier)!.value).toBe(n + 1);
      expect(field(object, Tag.SplitKeyThreshold)!.value).toBe(3);
    }
    expect(await links(uids[1]!)).toEqual(
      expect.arrayContaining([
        { linkType: LinkType.ParentLink, linkedObjectIdentifier: original },
        { linkType: LinkType.PreviousLink, linkedObjectIdentifier: uids[0] },
        { linkType: LinkType.NextLink, linkedObjectIdentifier: uids[2] },
      ]),
    );
    expect((await links(original)).filter((l) => l.linkType === LinkType.ChildLink).map((l) => l.linkedObjectIdentifier)).toEqual(uids);

    const key = await keyBytes(V, original);
    for (const subset of [[1, 3, 4], [4, 0, 2], [0, 1, 2, 3, 4]]) {
      const joined = ok(await join(V, subset.map((n) => uids[n]!)))['uniqueIdentifier'] as string;
      expect(await keyBytes(V, joined), `parts ${subset}`).toBe(key);
      expect((await links(joined)).map((l) => l.linkedObjectIdentifier).sort()).toEqual(subset.map((n) => uids[n]!).sort());
    }
  });

  it.each([
    ['XOR', { parts: 3, threshold: 3, method: SplitKeyMethod.XOR }, [0, 1, 2]],
    ['GF(2^16)', { parts: 4, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_16 }, [3, 1]],
    ['a prime field of the server', { parts: 4, threshold: 3, method: SplitKeyMethod.PolynomialSharingPrimeField }, [3, 1, 0]],
    ['a prime field of the client', { parts: 4, threshold: 3, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: M521 }, [0, 2, 3]],
  ])('splits and joins by %s', async (_, request, subset) => {
    const original = await createKey(V);
    const uids = await splitUids(V, { ...request, uid: original });
    const joined = ok(await join(V, subset.map((n) => uids[n]!)))['uniqueIdentifier'] as string;
    expect(await keyBytes(V, joined)).toBe(await keyBytes(V, original));
  });

  it('splits a new key it never stores whole; two subsets join into the same AES key', async () => {
    const uids = await splitUids(V, { parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, attributes: aes(128) });
    expect((await links(uids[0]!)).some((l) => l.linkType === LinkType.ParentLink)).toBe(false);
    const first = ok(await join(V, [uids[0]!, uids[1]!]))['uniqueIdentifier'] as string;
    const second = ok(await join(V, [uids[2]!, uids[0]!]))['uniqueIdentifier'] as string;
    expect(await keyBytes(V, first)).toHaveLength(32);
    expect(await keyBytes(V, first)).toBe(await keyBytes(V, second));
    const block = field((await getObject(V, first)).object, Tag.KeyBlock)!;
    expect([field(block, Tag.CryptographicAlgorithm)!.value, field(block, Tag.CryptographicLength)!.value]).toEqual([CryptographicAlgorithm.AES, 128]);
  });

  it('sets the ID Placeholder to part 1', async () => {
    const r = await h.run(
      [
        { operation: Operation.CreateSplitKey, id: 'split', payload: payload([e(Tag.ObjectType, ObjectType.SplitKey), i(Tag.SplitKeyParts, 2), i(Tag.SplitKeyThreshold, 2), e(Tag.SplitKeyMethod, SplitKeyMethod.XOR), attributes(V, aes())]) },
        { operation: Operation.Get, id: 'get', payload: payload([]) },
      ],
      { version: V },
    );
    const uids = ok(r.items[0]!)['uniqueIdentifiers'] as string[];
    expect(ok(r.items[1]!)['uniqueIdentifier']).toBe(uids[0]);
  });

  it('joins parts into Secret Data of the type asked for', async () => {
    const original = await createKey(V);
    const uids = await splitUids(V, { uid: original, parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    const joined = ok(await join(V, [uids[0]!, uids[2]!], ObjectType.SecretData, [e(Tag.SecretDataType, SecretDataType.Password)]))['uniqueIdentifier'] as string;
    const { objectType, object } = await getObject(V, joined);
    expect(objectType).toBe(ObjectType.SecretData);
    expect(field(object, Tag.SecretDataType)!.value).toBe(SecretDataType.Password);
    expect(await keyBytes(V, joined)).toBe(await keyBytes(V, original));
  });

  it('joins parts a client registered (an independent XOR split)', async () => {
    const key = new Uint8Array(randomBytes(16));
    const r1 = new Uint8Array(randomBytes(16));
    const r2 = new Uint8Array(randomBytes(16));
    const last = key.map((k, n) => k ^ r1[n]! ^ r2[n]!);
    const uids: string[] = [];
    for (const [n, share] of [r1, r2, last].entries()) uids.push(ok(await registerPart(V, splitKeyItem({ parts: 3, id: n + 1, threshold: 3, method: SplitKeyMethod.XOR, share })))['uniqueIdentifier'] as string);
    expect(await keyBytes(V, ok(await join(V, uids))['uniqueIdentifier'] as string)).toBe(hex(key));
  });

  it('stores XOR parts a client registered with a threshold below their parts, and joins them only whole', async () => {
    // The server splits by XOR with threshold = parts (1.4 §2.2.5); PyKMIP's suite registers XOR parts of threshold 2 of 3.
    const key = new Uint8Array(randomBytes(16));
    const [r1, r2] = [new Uint8Array(randomBytes(16)), new Uint8Array(randomBytes(16))];
    const parts = [r1, r2, key.map((k, n) => k ^ r1[n]! ^ r2[n]!)];
    const uids: string[] = [];
    for (const [n, share] of parts.entries()) {
      const item = splitKeyItem({ parts: 3, id: n + 1, threshold: 2, method: SplitKeyMethod.XOR, share });
      uids.push(ok(await registerPart(V, item))['uniqueIdentifier'] as string);
      expect(hex(encodeTtlv((await getObject(V, uids[n]!)).object))).toBe(hex(encodeTtlv(item)));
    }
    const two = await join(V, uids.slice(0, 2));
    expect(two.resultReason).toBe(ResultReason.CryptographicFailure);
    expect(two.resultMessage).toMatch(/needs 3/);
    expect(await keyBytes(V, ok(await join(V, uids))['uniqueIdentifier'] as string)).toBe(hex(key));
    // Create Split Key still refuses such an XOR split.
    expect((await createSplit(V, { uid: await createKey(V), parts: 3, threshold: 2, method: SplitKeyMethod.XOR })).resultReason).toBe(ResultReason.InvalidField);
  });

  it('refuses too few parts, parts of two splits, a part named twice, and what is not a part', async () => {
    const original = await createKey(V);
    const one = await splitUids(V, { uid: original, parts: 5, threshold: 3, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    const two = await splitUids(V, { uid: original, parts: 5, threshold: 3, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    const tooFew = await join(V, [one[0]!, one[1]!]);
    expect(tooFew.resultReason).toBe(ResultReason.CryptographicFailure);
    // Same key, same parameters, distinct part numbers: only the links tell the splits apart.
    expect((await join(V, [one[0]!, one[1]!, two[2]!])).resultReason).toBe(ResultReason.InvalidField);
    expect((await join(V, [one[0]!, one[1]!, one[1]!])).resultReason).toBe(ResultReason.InvalidField);
    const xor = await splitUids(V, { uid: original, parts: 3, threshold: 3, method: SplitKeyMethod.XOR });
    expect((await join(V, [one[0]!, one[1]!, xor[2]!])).resultReason).toBe(ResultReason.InvalidField);
    expect((await join(V, [one[0]!, one[1]!, original])).resultReason).toBe(V >= 20 ? ResultReason.InvalidObjectType : ResultReason.InvalidField);
    expect((await join(V, one.slice(0, 3), ObjectType.Certificate)).resultReason).toBe(V >= 20 ? ResultReason.InvalidObjectType : ResultReason.InvalidField);
    // Nothing was joined: a failed Join creates no object.
    expect((await join(V, one.slice(0, 3))).resultStatus).toBe(ResultStatus.Success);
  });

  it('keeps another tenant away from the parts and the key', async () => {
    const other = await h.otherTenant();
    const original = await createKey(V);
    const uids = await splitUids(V, { uid: original, parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    expect((await join(V, uids.slice(0, 2), ObjectType.SymmetricKey, [], other)).resultReason).toBe(notFound);
    expect((await run(V, Operation.Get, [t(Tag.UniqueIdentifier, uids[0]!)], other)).resultReason).toBe(notFound);
    expect((await createSplit(V, { uid: original, parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 }, other)).resultReason).toBe(notFound);
    // Its own parts and ours do not mix either.
    const theirs = ok(await createSplit(V, { parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, attributes: aes() }, other))['uniqueIdentifiers'] as string[];
    expect((await join(V, [theirs[0]!, uids[1]!], ObjectType.SymmetricKey, [], other)).resultReason).toBe(notFound);
  });

  it('refuses parameters out of bounds at Create Split Key, and a Name every part would share', async () => {
    const original = await createKey(V);
    for (const r of [
      { parts: 1, threshold: 1, method: SplitKeyMethod.PolynomialSharingGF2_8 },
      { parts: 300, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 },
      { parts: 3, threshold: 4, method: SplitKeyMethod.PolynomialSharingGF2_8 },
      { parts: 3, threshold: 2, method: SplitKeyMethod.XOR },
      { parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: 1n << 300n },
    ]) {
      expect((await createSplit(V, { ...r, uid: original })).resultReason, JSON.stringify({ ...r, prime: undefined })).toBe(ResultReason.InvalidField);
    }
    // A secret longer than any split here (4096 bits), even where the server would pick the prime.
    const long = s(Tag.SecretData, [e(Tag.SecretDataType, SecretDataType.Seed), s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Raw), s(Tag.KeyValue, [b(Tag.KeyMaterial, new Uint8Array(randomBytes(600)))])])]);
    const longUid = ok(await run(V, Operation.Register, [e(Tag.ObjectType, ObjectType.SecretData), attributes(V, []), long]))['uniqueIdentifier'] as string;
    for (const method of [SplitKeyMethod.PolynomialSharingPrimeField, SplitKeyMethod.PolynomialSharingGF2_8]) {
      expect((await createSplit(V, { uid: longUid, parts: 2, threshold: 2, method })).resultReason).toBe(ResultReason.InvalidField);
    }
    // The work bound: 255 parts of threshold 255 over a 512-byte secret would hold the thread ~0.6 s; threshold 16 is within it.
    const secret512 = s(Tag.SecretData, [e(Tag.SecretDataType, SecretDataType.Seed), s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Raw), s(Tag.KeyValue, [b(Tag.KeyMaterial, new Uint8Array(randomBytes(512)))])])]);
    const uid512 = ok(await run(V, Operation.Register, [e(Tag.ObjectType, ObjectType.SecretData), attributes(V, []), secret512]))['uniqueIdentifier'] as string;
    const tooMuch = await createSplit(V, { uid: uid512, parts: 255, threshold: 255, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    expect(tooMuch.resultReason).toBe(ResultReason.InvalidField);
    expect(tooMuch.resultMessage).toMatch(/at most/);
    expect((await createSplit(V, { uid: uid512, parts: 255, threshold: 16, method: SplitKeyMethod.PolynomialSharingGF2_8 })).resultStatus).toBe(ResultStatus.Success);
    const named = await createSplit(V, { uid: original, parts: 2, threshold: 2, method: SplitKeyMethod.XOR, attributes: [['Name', s(Tag.Name, [t(Tag.NameValue, `split-${V}`), e(Tag.NameType, 1)])]] });
    expect(named.resultReason).toBe(ResultReason.InvalidField);
  });

  it('lists Split Key among its objects and both operations in Query', async () => {
    const q = ok(await run(V, Operation.Query, [e(Tag.QueryFunction, QueryFunction.QueryOperations), e(Tag.QueryFunction, QueryFunction.QueryObjects)]));
    expect(q['operations']).toEqual(expect.arrayContaining([Operation.CreateSplitKey, Operation.JoinSplitKey]));
    expect(q['objectTypes']).toContain(ObjectType.SplitKey);
  });
});

describe('what the parts may release', () => {
  it('does not split a key that may not leave, or leaves only wrapped; keeps Sensitive parts\u2019 join Sensitive', async () => {
    const V = 21;
    const fixed = await createKey(V, [['Extractable', bool(Tag.Extractable, false)]]);
    expect((await createSplit(V, { uid: fixed, parts: 2, threshold: 2, method: SplitKeyMethod.XOR })).resultReason).toBe(ResultReason.NotExtractable);
    // Parts may be made non-Sensitive by the client: a Sensitive key would reach the clear through them.
    const sensitive = await createKey(V, [['Sensitive', bool(Tag.Sensitive, true)]]);
    for (const version of [14, 21]) {
      expect((await createSplit(version, { uid: sensitive, parts: 2, threshold: 2, method: SplitKeyMethod.XOR })).resultReason).toBe(ResultReason.Sensitive);
    }
    expect((await stored(sensitive)).first('Always Sensitive')).toBe(true);
    expect((await links(sensitive)).some((l) => l.linkType === LinkType.ChildLink)).toBe(false);
    // Parts the client asks to be Sensitive: their join is too.
    const uids = await splitUids(V, { parts: 2, threshold: 2, method: SplitKeyMethod.XOR, attributes: [...aes(), ['Sensitive', bool(Tag.Sensitive, true)]] });
    expect((await run(V, Operation.Get, [t(Tag.UniqueIdentifier, uids[0]!)])).resultReason).toBe(ResultReason.Sensitive);
    expect((await join(V, uids, ObjectType.SymmetricKey, [s(Tag.Attributes, [bool(Tag.Sensitive, false)])])).resultReason).toBe(ResultReason.InvalidField);
    const joined = ok(await join(V, uids))['uniqueIdentifier'] as string;
    expect((await run(V, Operation.Get, [t(Tag.UniqueIdentifier, joined)])).resultReason).toBe(ResultReason.Sensitive);
  });

  it('gives parts no more Always Sensitive or Never Extractable than their source had', async () => {
    const V = 21;
    const source = await createKey(V);
    const uids = await splitUids(V, { uid: source, parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, attributes: [['Sensitive', bool(Tag.Sensitive, true)], ['Extractable', bool(Tag.Extractable, false)]] });
    expect(uids).toHaveLength(3);
    for (const uid of uids) {
      const part = await stored(uid);
      expect([part.first('Sensitive'), part.first('Extractable')]).toEqual([true, false]);
      // The source's value was retrievable in clear: its parts have not always been Sensitive nor never Extractable.
      expect([part.first('Always Sensitive'), part.first('Never Extractable')]).toEqual([false, false]);
    }
  });

  it('makes a joined key Always Sensitive or Never Extractable only when every part is', async () => {
    const V = 21;
    const protect = [bool(Tag.Sensitive, true), bool(Tag.Extractable, false)];
    // Parts a client registered: it knew their values, so no join of them was always secret.
    const key = new Uint8Array(randomBytes(32));
    const r1 = new Uint8Array(randomBytes(32));
    const registered: string[] = [];
    for (const [n, share] of [r1, key.map((k, at) => k ^ r1[at]!)].entries()) {
      registered.push(ok(await registerPart(V, splitKeyItem({ parts: 2, id: n + 1, threshold: 2, method: SplitKeyMethod.XOR, share })))['uniqueIdentifier'] as string);
    }
    const fromRegistered = await stored(ok(await join(V, registered, ObjectType.SymmetricKey, [s(Tag.Attributes, protect)]))['uniqueIdentifier'] as string);
    expect([fromRegistered.first('Sensitive'), fromRegistered.first('Extractable')]).toEqual([true, false]);
    expect([fromRegistered.first('Always Sensitive'), fromRegistered.first('Never Extractable')]).toEqual([false, false]);

    // Parts of a secret the server made, Sensitive and not Extractable from the start: so is their join.
    const made = await splitUids(V, { parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, attributes: [...aes(), ['Sensitive', bool(Tag.Sensitive, true)], ['Extractable', bool(Tag.Extractable, false)]] });
    const fromMade = await stored(ok(await join(V, [made[0]!, made[2]!]))['uniqueIdentifier'] as string);
    expect([fromMade.first('Always Sensitive'), fromMade.first('Never Extractable')]).toEqual([true, true]);
    // One part once not Sensitive is enough for its join not to be Always Sensitive.
    const mixed = await splitUids(V, { parts: 2, threshold: 2, method: SplitKeyMethod.XOR, attributes: [...aes(), ['Sensitive', bool(Tag.Sensitive, true)], ['Extractable', bool(Tag.Extractable, false)]] });
    for (const value of [false, true]) ok(await run(V, Operation.ModifyAttribute, [t(Tag.UniqueIdentifier, mixed[1]!), s(Tag.NewAttribute, [bool(Tag.Sensitive, value)])]));
    const fromMixed = await stored(ok(await join(V, mixed))['uniqueIdentifier'] as string);
    expect([fromMixed.first('Sensitive'), fromMixed.first('Always Sensitive'), fromMixed.first('Never Extractable')]).toEqual([true, false, true]);
  });

  it('is not offered to a KMIP 1.1 client', async () => {
    const r = await run(11, Operation.CreateSplitKey, [e(Tag.ObjectType, ObjectType.SplitKey), i(Tag.SplitKeyParts, 2), i(Tag.SplitKeyThreshold, 2), e(Tag.SplitKeyMethod, SplitKeyMethod.XOR)]);
    expect(r.resultReason).toBe(ResultReason.OperationNotSupported);
    const q = ok(await run(11, Operation.Query, [e(Tag.QueryFunction, QueryFunction.QueryOperations)]));
    expect(q['operations']).not.toContain(Operation.CreateSplitKey);
  });
});

const M4253 = (1n << 4253n) - 1n;

describe('the work a split may cost', () => {
  const V = 21;

  it('counts the prime\u2019s size, not the secret\u2019s, at Create Split Key and at Register', async () => {
    const original = await createKey(V);
    // 255 × 255 parts over 2^4253 − 1 held the thread ~0.4 s to split and ~1 s to join a 32-byte key.
    const tooMuch = await createSplit(V, { uid: original, parts: 255, threshold: 255, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: M4253 });
    expect(tooMuch.resultReason).toBe(ResultReason.InvalidField);
    expect(tooMuch.resultMessage).toMatch(/Prime Field Size bytes/);
    // 255 × 16 × 532 bytes is just over the bound, 255 × 15 × 532 just under.
    expect((await createSplit(V, { uid: original, parts: 255, threshold: 16, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: M4253 })).resultReason).toBe(ResultReason.InvalidField);
    const uids = await splitUids(V, { uid: original, parts: 255, threshold: 15, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: M4253 });
    expect(await keyBytes(V, ok(await join(V, [...uids].reverse()))['uniqueIdentifier'] as string)).toBe(await keyBytes(V, original));
    // A part a client registers is held to the same bound, though its secret is 16 bytes.
    const part = splitKeyItem({ parts: 255, id: 1, threshold: 255, method: SplitKeyMethod.PolynomialSharingPrimeField, prime: M4253, share: new Uint8Array(randomBytes(532)).fill(0, 0, 2), bits: 128 });
    expect((await registerPart(V, part)).resultReason).toBe(ResultReason.InvalidField);
  });

  it('joins with the first Split Key Threshold parts named, the rest adding nothing', async () => {
    // A 2-of-3 split a client registered, whose third part is not of it: the first two give the key.
    const key = new Uint8Array(randomBytes(16));
    const shares = gf256Split(key, 3, 2);
    shares[2] = new Uint8Array(randomBytes(16));
    const uids: string[] = [];
    for (const [n, share] of shares.entries()) {
      uids.push(ok(await registerPart(V, splitKeyItem({ parts: 3, id: n + 1, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8, share })))['uniqueIdentifier'] as string);
    }
    expect(await keyBytes(V, ok(await join(V, uids))['uniqueIdentifier'] as string)).toBe(hex(key));
  });
});

describe('the chain Join follows', () => {
  const V = 21;
  const previous = (uid: string): Array<[string, TtlvItem]> => [['Link', s(Tag.Link, [e(Tag.LinkType, LinkType.PreviousLink), t(Tag.LinkedObjectIdentifier, uid)])]];

  /** Objects put straight into the store, each with a Previous Link to the one before it (the first to `from`, when given). */
  async function chain(length: number, from?: string, objectType: number = ObjectType.SplitKey): Promise<string[]> {
    const uids = Array.from({ length }, () => randomUUID());
    const records = uids.map((uid, n) => {
      const o = ManagedObject.create({ uid, tenantId: h.principal.tenantId, objectType, state: State.PreActive, createdAt: Date.now(), attributes: [], material: null });
      const before = n > 0 ? uids[n - 1] : from;
      if (before !== undefined) o.add('Link', { linkType: LinkType.PreviousLink, linkedObjectIdentifier: before });
      return o.toRecord(Date.now());
    });
    await h.store.commit(records.map((object) => ({ kind: 'insert' as const, object })));
    return uids;
  }

  /** An XOR split a client registers, part n with a Previous Link to `before[n]`. */
  async function registeredParts(before: readonly string[]): Promise<string[]> {
    const key = new Uint8Array(randomBytes(16));
    const randoms = before.slice(1).map(() => new Uint8Array(randomBytes(16)));
    const last = key.map((k, at) => randoms.reduce((x, r) => x ^ r[at]!, k));
    const uids: string[] = [];
    for (const [n, share] of [...randoms, last].entries()) {
      const item = splitKeyItem({ parts: before.length, id: n + 1, threshold: before.length, method: SplitKeyMethod.XOR, share });
      uids.push(ok(await registerPart(V, item, previous(before[n]!)))['uniqueIdentifier'] as string);
    }
    return uids;
  }

  /** Join's result and the store reads it made. */
  async function joinCounting(uids: string[]): Promise<{ result: DecodedItem; reads: number }> {
    const spy = vi.spyOn(h.store, 'getObject');
    try {
      const result = await join(V, uids);
      return { result, reads: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  }

  it('reads at most 2 × 255 objects, however long the links forged', async () => {
    // Three branches of 250 meeting at one head: one chain, but 750 reads to find out.
    const trunk = await chain(250);
    const second = await chain(250, trunk[0]);
    const third = await chain(250, trunk[0]);
    const parts = await registeredParts([trunk.at(-1)!, second.at(-1)!, third.at(-1)!]);
    const { result, reads } = await joinCounting(parts);
    expect(result.resultReason).toBe(ResultReason.InvalidField);
    expect(reads).toBeLessThanOrEqual(2 * MAX_SPLIT_PARTS + parts.length);
  });

  it('stops at the first part leading to a second head', async () => {
    const heads = [await chain(200), await chain(200), await chain(200)];
    const { result, reads } = await joinCounting(await registeredParts(heads.map((c) => c.at(-1)!)));
    expect(result.resultReason).toBe(ResultReason.InvalidField);
    // The third part's chain is never walked.
    expect(reads).toBeLessThanOrEqual(2 * 200 + 3);
  });

  it('follows Previous Links through Split Keys only', async () => {
    // Both parts reach one Split Key, but only through Symmetric Keys: Create Split Key made no such chain.
    const [head] = await chain(1);
    const [viaFirst] = await chain(1, head, ObjectType.SymmetricKey);
    const [viaSecond] = await chain(1, head, ObjectType.SymmetricKey);
    const { result } = await joinCounting(await registeredParts([viaFirst!, viaSecond!]));
    expect(result.resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('the Child Links one key gathers', () => {
  it('refuses a split that would give the key more than 1,024', async () => {
    const V = 21;
    const original = await createKey(V);
    for (let n = 0; n < 4; n++) await splitUids(V, { uid: original, parts: 255, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    const over = await createSplit(V, { uid: original, parts: 5, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    expect(over.resultReason).toBe(ResultReason.ServerLimitExceeded);
    // 1.4 Table 362: more instances than the server supports is Index Out of Bounds.
    expect((await createSplit(14, { uid: original, parts: 5, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 })).resultReason).toBe(ResultReason.IndexOutOfBounds);
    await splitUids(V, { uid: original, parts: 4, threshold: 2, method: SplitKeyMethod.PolynomialSharingGF2_8 });
    expect((await links(original)).filter((l) => l.linkType === LinkType.ChildLink)).toHaveLength(1024);
    expect((await createSplit(V, { uid: original, parts: 2, threshold: 2, method: SplitKeyMethod.XOR })).resultReason).toBe(ResultReason.ServerLimitExceeded);
  });
});

describe('Templates at 1.4 (Tables 247 and 249)', () => {
  const V = 14;
  async function newTemplate(name: string, items: TtlvItem[]): Promise<void> {
    ok(await run(V, Operation.Register, [e(Tag.ObjectType, ObjectType.Template), s(Tag.TemplateAttribute, [attr('Name', s(Tag.AttributeValue, [t(Tag.NameValue, name), e(Tag.NameType, 1)]))]), s(Tag.Template, items)]));
  }

  it('gives the parts and the joined key the attributes of the Templates named', async () => {
    const suffix = randomBytes(4).toString('hex');
    await newTemplate(`split-${suffix}`, [attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES)), attr('Cryptographic Length', i(0, 128)), attr('Object Group', t(0, `parts-${suffix}`))]);
    await newTemplate(`join-${suffix}`, [attr('Object Group', t(0, `joined-${suffix}`))]);
    const split = [e(Tag.ObjectType, ObjectType.SplitKey), i(Tag.SplitKeyParts, 3), i(Tag.SplitKeyThreshold, 2), e(Tag.SplitKeyMethod, SplitKeyMethod.PolynomialSharingGF2_8)];
    const uids = ok(await run(V, Operation.CreateSplitKey, [...split, s(Tag.TemplateAttribute, [nameItem(`split-${suffix}`)])]))['uniqueIdentifiers'] as string[];
    expect((await stored(uids[0]!)).first('Object Group')).toBe(`parts-${suffix}`);
    const joined = ok(await join(V, [uids[0]!, uids[2]!], ObjectType.SymmetricKey, [s(Tag.TemplateAttribute, [nameItem(`join-${suffix}`)])]))['uniqueIdentifier'] as string;
    const key = await stored(joined);
    expect([key.first('Object Group'), key.first('Cryptographic Length')]).toEqual([`joined-${suffix}`, 128]);
    // A Template that does not exist: Item Not Found (1.4 Tables 362, 363).
    expect((await run(V, Operation.CreateSplitKey, [...split, s(Tag.TemplateAttribute, [nameItem(`none-${suffix}`)])])).resultReason).toBe(ResultReason.ItemNotFound);
  });
});

describe('the primality test of a client\u2019s Prime Field Size', () => {
  it('runs off the request\u2019s thread, and still refuses what is not a prime', async () => {
    const prime = await new Promise<bigint>((resolve, reject) => generatePrime(1280, { bigint: true }, (err, p) => (err ? reject(err) : resolve(p))));
    const parameters = { parts: 3, threshold: 2, method: SplitKeyMethod.PolynomialSharingPrimeField, prime };
    let settled = false;
    const check = Promise.resolve(checkSplitParameters(parameters, 32)).then(() => (settled = true));
    // One turn of the event loop: a test on the request's thread would have finished before it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    await check;
    expect(settled).toBe(true);
    await expect(checkSplitParameters({ ...parameters, prime: prime - 1n }, 32)).rejects.toMatchObject({ reason: ResultReason.InvalidField });
  });
});
