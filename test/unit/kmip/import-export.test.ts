/**
 * Export and Import through the real batch executor: what one server exports, a second server
 * (its own store and root key) imports to the same identifier, material and attributes; Replace
 * Existing, which never revives a Destroyed, Compromised or Deactivated object; another tenant's
 * identifier; the attributes Import checks against the object; a wrapped export unwrapped on import,
 * but never under a key the client could not take out in clear; and a 1.4 Template moved whole.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTtlv, ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import {
  BlockCipherMode,
  CryptographicAlgorithm,
  CryptographicUsageMask,
  KeyFormatType,
  RevocationReasonCode,
  KeyWrapType,
  ObjectType,
  Operation,
  ProtectionStorageMask,
  ResultReason,
  ResultStatus,
  State,
  WrappingMethod,
} from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import type { Principal } from '../../../server/kmip/context.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import type { DecodedItem } from '../../support/kmip-client.js';
import { attr, b, bool, dt, e, i, name14, nameItem, s, t } from '../../support/ttlv-builder.js';

let a: ExecutorHarness;
let bh: ExecutorHarness;
beforeAll(async () => {
  [a, bh] = await Promise.all([executorHarness(), executorHarness()]);
});
afterAll(async () => {
  await a.close();
  await bh.close();
});

const OBJECT_FIELDS = ['symmetricKey', 'publicKey', 'privateKey', 'secretData', 'opaqueObject', 'certificate'] as const;
const hex = (item: TtlvItem): string => Buffer.from(encodeTtlv(item)).toString('hex');
const now = () => Math.floor(Date.now() / 1000);
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function call(h: ExecutorHarness, operation: number, children: TtlvItem[], version: number, who?: Principal): Promise<DecodedItem> {
  return (await h.run([{ operation, payload: s(Tag.RequestPayload, children) }], { version }, who)).items[0]!;
}
function succeeded(item: DecodedItem): Record<string, unknown> {
  expect(item.resultStatus, `${item.resultReason} ${item.resultMessage}`).toBe(ResultStatus.Success);
  return item.payload!;
}

const rawAes = (key: Uint8Array): TtlvItem =>
  s(Tag.SymmetricKey, [s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Raw), s(Tag.KeyValue, [b(Tag.KeyMaterial, key)]), e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, key.length * 8)])]);

/** An AES-256 key made by Create (2.1) with client attributes of several kinds; returns its identifier. */
async function createAes(h: ExecutorHarness, extra: TtlvItem[] = []): Promise<string> {
  const p = succeeded(
    await call(
      h,
      Operation.Create,
      [
        e(Tag.ObjectType, ObjectType.SymmetricKey),
        s(Tag.Attributes, [
          e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
          i(Tag.CryptographicLength, 256),
          i(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt | CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey),
          nameItem(unique('export')),
          t(Tag.Description, 'moved between servers'),
          s(Tag.Attribute, [t(Tag.VendorIdentification, 'x'), t(Tag.AttributeName, 'vm'), t(Tag.AttributeValue, 'vm-42')]),
          dt(Tag.ActivationDate, now() - 3600),
          ...extra,
        ]),
      ],
      21,
    ),
  );
  return p['uniqueIdentifier'] as string;
}

function objectOf(p: Record<string, unknown>): TtlvItem | undefined {
  for (const f of OBJECT_FIELDS) if (p[f] !== undefined) return p[f] as TtlvItem;
  return undefined;
}

/** The attribute items of an Export answer, whatever the version. */
const attributesOf = (p: Record<string, unknown>, version: number): TtlvItem[] => [...((version >= 20 ? p['attributesV2'] : p['attributes']) as TtlvItem[])];

/** The Import request that carries an Export answer back as it is. */
function importFrom(p: Record<string, unknown>, version: number, o: { replace?: boolean; keyWrapType?: number; object?: TtlvItem; attributes?: TtlvItem[]; uid?: string } = {}): TtlvItem[] {
  const attributes = o.attributes ?? attributesOf(p, version);
  return [
    t(Tag.UniqueIdentifier, o.uid ?? (p['uniqueIdentifier'] as string)),
    e(Tag.ObjectType, p['objectType'] as number),
    ...(o.replace !== undefined ? [bool(Tag.ReplaceExisting, o.replace)] : []),
    ...(o.keyWrapType !== undefined ? [e(Tag.KeyWrapType, o.keyWrapType)] : []),
    ...(version >= 20 ? [s(Tag.Attributes, attributes)] : attributes),
    o.object ?? objectOf(p)!,
  ];
}

const exportOf = async (h: ExecutorHarness, uid: string, version: number, extra: TtlvItem[] = [], who?: Principal) => call(h, Operation.Export, [t(Tag.UniqueIdentifier, uid), ...extra], version, who);
const getOf = async (h: ExecutorHarness, uid: string, version = 21, who?: Principal) => call(h, Operation.Get, [t(Tag.UniqueIdentifier, uid)], version, who);

/** One 2.x attribute of an Export answer, by tag. */
const v2Attribute = (p: Record<string, unknown>, tag: number) => (p['attributesV2'] as TtlvItem[]).find((x) => x.tag === tag);

describe('Export', () => {
  it('returns the object as Get does, with every attribute (2.1)', async () => {
    const uid = await createAes(a);
    const p = succeeded(await exportOf(a, uid, 21));
    expect(p['objectType']).toBe(ObjectType.SymmetricKey);
    expect(p['uniqueIdentifier']).toBe(uid);
    const got = succeeded(await getOf(a, uid));
    expect(hex(p['symmetricKey'] as TtlvItem)).toBe(hex(got['symmetricKey'] as TtlvItem));
    expect(v2Attribute(p, Tag.UniqueIdentifier)!.value).toBe(uid);
    expect(v2Attribute(p, Tag.Description)!.value).toBe('moved between servers');
    expect(v2Attribute(p, Tag.CryptographicLength)!.value).toBe(256);
    expect(v2Attribute(p, Tag.State)!.value).toBe(State.Active);
    // The vendor attribute travels too.
    expect((p['attributesV2'] as TtlvItem[]).some((x) => x.tag === Tag.Attribute)).toBe(true);
  });

  it('in 1.4 returns Attribute structures, and Fresh as it was before this Export served the key', async () => {
    const uid = await createAes(a);
    const p = succeeded(await exportOf(a, uid, 14));
    const names = (p['attributes'] as TtlvItem[]).map((x) => ((x.value as TtlvItem[])[0]!.value as string));
    expect(names).toEqual(expect.arrayContaining(['Unique Identifier', 'Object Type', 'Cryptographic Algorithm', 'Name', 'State', 'Initial Date', 'x-vm']));
    // 2.x-only attributes stay out of a 1.4 answer.
    expect(names).not.toContain('Key Format Type');
    const fresh = (q: Record<string, unknown>) => ((q['attributes'] as TtlvItem[]).find((x) => (x.value as TtlvItem[])[0]!.value === 'Fresh')!.value as TtlvItem[]).at(-1)!.value;
    expect(fresh(p)).toBe(true);
    expect(fresh(succeeded(await exportOf(a, uid, 14)))).toBe(false);
  });

  it('follows Get: Sensitive only wrapped, key compression refused, not in 1.3, nothing of another tenant', async () => {
    const sensitive = await createAes(a, [bool(Tag.Sensitive, true)]);
    expect((await exportOf(a, sensitive, 21)).resultReason).toBe(ResultReason.Sensitive);
    const uid = await createAes(a);
    expect((await exportOf(a, uid, 21, [e(Tag.KeyCompressionType, 1)])).resultReason).toBe(ResultReason.KeyCompressionTypeNotSupported);
    expect((await exportOf(a, uid, 13)).resultReason).toBe(ResultReason.OperationNotSupported);
    const other = await a.otherTenant();
    expect((await exportOf(a, uid, 21, [], other)).resultReason).toBe(ResultReason.ObjectNotFound);
    expect((await exportOf(a, uid, 14, [], other)).resultReason).toBe(ResultReason.ItemNotFound);
  });

  it('of a destroyed object gives its attributes and no material', async () => {
    const uid = await createAes(a);
    succeeded(await call(a, Operation.Revoke, [t(Tag.UniqueIdentifier, uid), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, 5)])], 21));
    succeeded(await call(a, Operation.Destroy, [t(Tag.UniqueIdentifier, uid)], 21));
    const p = succeeded(await exportOf(a, uid, 21));
    expect(objectOf(p)).toBeUndefined();
    expect(v2Attribute(p, Tag.State)!.value).toBe(State.Destroyed);
    // Import needs the material, so the answer cannot come back as it is.
    const r = await call(bh, Operation.Import, [t(Tag.UniqueIdentifier, uid), e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.Attributes, p['attributesV2'] as TtlvItem[])], 21);
    expect(r.resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('Export → Import into another server', () => {
  for (const version of [21, 14]) {
    it(`reproduces the identifier, material and attributes (${version === 21 ? '2.1' : '1.4'})`, async () => {
      const uid = await createAes(a);
      const exported = succeeded(await exportOf(a, uid, version));
      // The second server's clock is a day ahead: any date it made up instead of taking would show.
      bh.setNow(Date.now() + 86_400_000);
      let again: Record<string, unknown>;
      try {
        const imported = succeeded(await call(bh, Operation.Import, importFrom(exported, version), version));
        expect(imported['uniqueIdentifier']).toBe(uid);
        again = succeeded(await exportOf(bh, uid, version));
      } finally {
        bh.setNow(undefined);
      }
      expect(hex(objectOf(again)!)).toBe(hex(objectOf(exported)!));
      expect(attributesOf(again, version).map(hex)).toEqual(attributesOf(exported, version).map(hex));
      // And the key works the same on both: what one encrypts, the other decrypts.
      const iv = randomBytes(16);
      const params = s(Tag.CryptographicParameters, [e(Tag.BlockCipherMode, BlockCipherMode.CBC), e(Tag.PaddingMethod, 3)]);
      const sealed = succeeded(await call(a, Operation.Encrypt, [t(Tag.UniqueIdentifier, uid), params, b(Tag.Data, new Uint8Array(Buffer.from('hello'))), b(Tag.IVCounterNonce, iv)], 21));
      const opened = succeeded(await call(bh, Operation.Decrypt, [t(Tag.UniqueIdentifier, uid), params, b(Tag.Data, sealed['data'] as Uint8Array), b(Tag.IVCounterNonce, iv)], 21));
      expect(Buffer.from(opened['data'] as Uint8Array).toString()).toBe('hello');
    });
  }

  it('carries key pairs and their Digests (2.1)', async () => {
    const pair = succeeded(
      await call(a, Operation.CreateKeyPair, [s(Tag.CommonAttributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA), i(Tag.CryptographicLength, 2048)]), s(Tag.PrivateKeyAttributes, [nameItem(unique('priv'))])], 21),
    );
    for (const uid of [pair['privateKeyUniqueIdentifier'] as string, pair['publicKeyUniqueIdentifier'] as string]) {
      const exported = succeeded(await exportOf(a, uid, 21));
      expect(v2Attribute(exported, Tag.Digest)).toBeDefined();
      succeeded(await call(bh, Operation.Import, importFrom(exported, 21), 21));
      const again = succeeded(await exportOf(bh, uid, 21));
      expect(hex(objectOf(again)!)).toBe(hex(objectOf(exported)!));
      expect(attributesOf(again, 21).map(hex)).toEqual(attributesOf(exported, 21).map(hex));
    }
  });

  it('keeps the dates, State and server attributes it is given (2.1)', async () => {
    const uid = unique('imported');
    const initial = now() - 86_400 * 30;
    const r = await call(
      bh,
      Operation.Import,
      [
        t(Tag.UniqueIdentifier, uid),
        e(Tag.ObjectType, ObjectType.SymmetricKey),
        s(Tag.Attributes, [e(Tag.State, State.Deactivated), dt(Tag.InitialDate, initial), dt(Tag.ActivationDate, initial + 60), dt(Tag.DeactivationDate, initial + 120), dt(Tag.LastChangeDate, initial + 120), bool(Tag.Fresh, false)]),
        rawAes(new Uint8Array(randomBytes(16))),
      ],
      21,
    );
    succeeded(r);
    const p = succeeded(await exportOf(bh, uid, 21));
    expect(v2Attribute(p, Tag.State)!.value).toBe(State.Deactivated);
    expect(v2Attribute(p, Tag.InitialDate)!.value).toBe(BigInt(initial));
    expect(v2Attribute(p, Tag.LastChangeDate)!.value).toBe(BigInt(initial + 120));
    expect(v2Attribute(p, Tag.Fresh)!.value).toBe(false);
    expect(v2Attribute(p, Tag.CryptographicLength)!.value).toBe(128);
    expect(v2Attribute(p, Tag.Digest)).toBeDefined();
    // The ID Placeholder is the imported object.
    const batch = await bh.run([{ operation: Operation.Import, payload: s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, unique('ph')), e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.Attributes, []), rawAes(new Uint8Array(randomBytes(32)))]), id: '01' }, { operation: Operation.Get, payload: s(Tag.RequestPayload, []), id: '02' }], { version: 21 });
    expect(batch.items[1]!.resultStatus).toBe(ResultStatus.Success);
    expect(batch.items[1]!.payload!['uniqueIdentifier']).toBe(batch.items[0]!.payload!['uniqueIdentifier']);
  });
});

describe('Import: Replace Existing', () => {
  async function imported(h: ExecutorHarness, version: number) {
    const uid = await createAes(a);
    const exported = succeeded(await exportOf(a, uid, version));
    succeeded(await call(h, Operation.Import, importFrom(exported, version), version));
    return { uid, exported };
  }

  for (const version of [21, 14]) {
    it(`absent or False refuses an identifier in use; True replaces the object (${version})`, async () => {
      const { uid, exported } = await imported(bh, version);
      expect((await call(bh, Operation.Import, importFrom(exported, version), version)).resultReason).toBe(ResultReason.ObjectAlreadyExists);
      expect((await call(bh, Operation.Import, importFrom(exported, version, { replace: false }), version)).resultReason).toBe(ResultReason.ObjectAlreadyExists);
      const fresh = new Uint8Array(randomBytes(32));
      const attributes = attributesOf(exported, version).filter((x) => !(version >= 20 ? x.tag === Tag.Digest : (x.value as TtlvItem[])[0]!.value === 'Digest'));
      succeeded(await call(bh, Operation.Import, importFrom(exported, version, { replace: true, object: rawAes(fresh), attributes }), version));
      const got = succeeded(await getOf(bh, uid));
      const material = ((((got['symmetricKey'] as TtlvItem).value as TtlvItem[])[0]!.value as TtlvItem[]).find((x) => x.tag === Tag.KeyValue)!.value as TtlvItem[])[0]!;
      expect(Buffer.from(material.value as Uint8Array).equals(Buffer.from(fresh))).toBe(true);
    });
  }

  it('cannot change the Object Type', async () => {
    const { uid } = await imported(bh, 21);
    const r = await call(bh, Operation.Import, [t(Tag.UniqueIdentifier, uid), e(Tag.ObjectType, ObjectType.OpaqueObject), bool(Tag.ReplaceExisting, true), s(Tag.Attributes, []), s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, new Uint8Array([1, 2, 3]))])], 21);
    expect(r.resultReason).toBe(ResultReason.FeatureNotSupported);
  });
});

describe("Import: another tenant's identifier", () => {
  it('is neither readable nor replaceable, and answered as an identifier in use', async () => {
    const uid = await createAes(a);
    const exported = succeeded(await exportOf(a, uid, 21));
    const before = hex(objectOf(succeeded(await getOf(a, uid)))!);
    const other = await a.otherTenant();
    expect((await getOf(a, uid, 21, other)).resultReason).toBe(ResultReason.ObjectNotFound);
    const own = await call(a, Operation.Import, importFrom(exported, 21), 21);
    for (const replace of [undefined, false, true]) {
      const r = await call(a, Operation.Import, importFrom(exported, 21, { object: rawAes(new Uint8Array(32)), ...(replace !== undefined ? { replace } : {}) }), 21, other);
      expect(r.resultReason).toBe(ResultReason.ObjectAlreadyExists);
      expect(r.resultMessage).toBe(own.resultMessage);
    }
    expect((await call(a, Operation.Import, importFrom(exported, 14, { replace: true, attributes: [] }), 14, other)).resultReason).toBe(ResultReason.ObjectAlreadyExists);
    // The owner's object is untouched.
    expect(hex(objectOf(succeeded(await getOf(a, uid)))!)).toBe(before);
    expect((await getOf(a, uid, 21, other)).resultReason).toBe(ResultReason.ObjectNotFound);
  });
});

describe('Import: what it checks', () => {
  const key = () => rawAes(new Uint8Array(randomBytes(32)));
  const importOne = (attributes: TtlvItem[], o: { uid?: string; object?: TtlvItem; objectType?: number | null; version?: number } = {}) =>
    call(
      bh,
      Operation.Import,
      [
        t(Tag.UniqueIdentifier, o.uid ?? unique('chk')),
        ...(o.objectType === null ? [] : [e(Tag.ObjectType, o.objectType ?? ObjectType.SymmetricKey)]),
        ...((o.version ?? 21) >= 20 ? [s(Tag.Attributes, attributes)] : attributes),
        o.object ?? key(),
      ],
      o.version ?? 21,
    );

  it('bounds the identifier a client chooses', async () => {
    for (const uid of ['has space', 'x'.repeat(201), 'tab\there', 'caf\u00e9']) expect((await importOne([], { uid })).resultReason).toBe(ResultReason.InvalidField);
    succeeded(await importOne([], { uid: 'y'.repeat(200) }));
  });

  it('refuses attributes that misdescribe the object', async () => {
    const wrong = await importOne([i(Tag.CryptographicLength, 128)]);
    expect(wrong.resultStatus).toBe(ResultStatus.OperationFailed);
    expect((await importOne([t(Tag.UniqueIdentifier, 'someone-else')])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    expect((await importOne([e(Tag.ObjectType, ObjectType.SecretData)])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    expect((await importOne([e(Tag.KeyFormatType, KeyFormatType.TransparentSymmetricKey)])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    expect((await importOne([e(Tag.CertificateType, 1)])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    const badDigest = s(Tag.Digest, [e(Tag.HashingAlgorithm, 6), b(Tag.DigestValue, new Uint8Array(32)), e(Tag.KeyFormatType, KeyFormatType.Raw)]);
    expect((await importOne([badDigest])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    expect((await importOne([e(Tag.State, State.Destroyed)])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    expect((await importOne([bool(Tag.AlwaysSensitive, true)])).resultReason).toBe(ResultReason.InvalidAttributeValue);
    expect((await importOne([i(Tag.ProtectionStorageMask, ProtectionStorageMask.Hardware)])).resultReason).toBe(ResultReason.ProtectionStorageUnavailable);
    expect((await importOne([t(Tag.Description, 'a'), t(Tag.Description, 'b')])).resultReason).toBe(ResultReason.AttributeSingleValued);
    // In 1.4 the object says its type; a type that contradicts it is refused.
    expect((await importOne([], { objectType: ObjectType.SecretData, version: 14 })).resultReason).toBe(ResultReason.InvalidField);
    succeeded(await importOne([attr('Name', name14(unique('v14')))], { objectType: null, version: 14 }));
    expect((await importOne([], { objectType: null })).resultReason).toBe(ResultReason.MissingData);
  });

  it('keeps a Digest it cannot check, and the 1.x Attribute Index it is given', async () => {
    const uid = unique('idx');
    const sha1 = s(Tag.Digest, [e(Tag.HashingAlgorithm, 4), b(Tag.DigestValue, new Uint8Array(20).fill(7)), e(Tag.KeyFormatType, KeyFormatType.Raw)]);
    succeeded(await importOne([sha1], { uid }));
    expect(succeeded(await exportOf(bh, uid, 21))['attributesV2']).toEqual(expect.arrayContaining([sha1]));
    const uid14 = unique('idx14');
    const named = (n: string, index: number) => s(Tag.Attribute, [t(Tag.AttributeName, 'Name'), i(Tag.AttributeIndex, index), s(Tag.AttributeValue, [t(Tag.NameValue, n), e(Tag.NameType, 1)])]);
    succeeded(await importOne([named(unique('n0'), 0), named(unique('n2'), 2)], { uid: uid14, version: 14 }));
    const indexes = (succeeded(await exportOf(bh, uid14, 14))['attributes'] as TtlvItem[])
      .filter((x) => (x.value as TtlvItem[])[0]!.value === 'Name')
      .map((x) => ((x.value as TtlvItem[]).find((c) => c.tag === Tag.AttributeIndex)?.value as number | undefined) ?? 0);
    expect(indexes).toEqual([0, 2]);
    expect((await importOne([named('dup-a', 1), named('dup-b', 1)], { version: 14 })).resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('Import with Key Wrap Type', () => {
  it('Not Wrapped unwraps a wrapped Export with the same wrapping key; As Registered stores it wrapped', async () => {
    // The wrapping key moves first, in the clear; then the key it wrapped.
    const kek = await createAes(a);
    succeeded(await call(bh, Operation.Import, importFrom(succeeded(await exportOf(a, kek, 21)), 21), 21));
    const target = await createAes(a);
    const wrapping = s(Tag.KeyWrappingSpecification, [
      e(Tag.WrappingMethod, WrappingMethod.Encrypt),
      s(Tag.EncryptionKeyInformation, [t(Tag.UniqueIdentifier, kek), s(Tag.CryptographicParameters, [e(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)])]),
    ]);
    const wrapped = succeeded(await exportOf(a, target, 21, [wrapping]));
    const clear = succeeded(await getOf(a, target));
    expect(hex(objectOf(wrapped)!)).not.toBe(hex(objectOf(clear)!));

    succeeded(await call(bh, Operation.Import, importFrom(wrapped, 21, { keyWrapType: KeyWrapType.NotWrapped }), 21));
    expect(hex(objectOf(succeeded(await getOf(bh, target)))!)).toBe(hex(objectOf(clear)!));

    const asRegistered = unique('wrapped');
    succeeded(await call(bh, Operation.Import, importFrom(wrapped, 21, { keyWrapType: KeyWrapType.AsRegistered, uid: asRegistered, attributes: [] }), 21));
    expect(hex(objectOf(succeeded(await getOf(bh, asRegistered)))!)).toBe(hex(objectOf(wrapped)!));

    // Without the wrapping key there is nothing to unwrap with.
    const missing = await call(a, Operation.Import, importFrom(wrapped, 21, { keyWrapType: KeyWrapType.NotWrapped, uid: unique('nokek'), attributes: [] }), 21, await a.otherTenant());
    expect(missing.resultStatus).toBe(ResultStatus.OperationFailed);
  });
});

/** A 1.4 Attribute structure's name. */
const v1Name = (x: TtlvItem) => (x.value as TtlvItem[])[0]!.value as string;
/** The same attribute list with `name` (1.4) or `tag` (2.x) left out. */
const without = (attributes: TtlvItem[], version: number, name: string, tag: number) => attributes.filter((x) => (version >= 20 ? x.tag !== tag : v1Name(x) !== name));
const stateAttribute = (version: number, state: number) => (version >= 20 ? e(Tag.State, state) : attr('State', e(0, state)));
const sensitiveAttribute = (version: number, value: boolean) => (version >= 20 ? bool(Tag.Sensitive, value) : attr('Sensitive', bool(0, value)));

/** One 2.1 attribute's value (its first instance). */
async function attributeOf(h: ExecutorHarness, uid: string, tag: number): Promise<unknown> {
  const p = succeeded(await call(h, Operation.GetAttributes, [t(Tag.UniqueIdentifier, uid), e(Tag.AttributeReference, tag)], 21));
  return v2Attribute(p, tag)?.value;
}

/** A key-encryption key made by Create (2.1), Active, with these protections and usage. */
async function createKek(h: ExecutorHarness, o: { sensitive?: boolean; extractable?: boolean; usage?: number; active?: boolean } = {}): Promise<string> {
  const p = succeeded(
    await call(
      h,
      Operation.Create,
      [
        e(Tag.ObjectType, ObjectType.SymmetricKey),
        s(Tag.Attributes, [
          e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES),
          i(Tag.CryptographicLength, 256),
          i(Tag.CryptographicUsageMask, o.usage ?? CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey),
          ...(o.sensitive !== undefined ? [bool(Tag.Sensitive, o.sensitive)] : []),
          ...(o.extractable !== undefined ? [bool(Tag.Extractable, o.extractable)] : []),
          ...(o.active === false ? [] : [dt(Tag.ActivationDate, now() - 3600)]),
        ]),
      ],
      21,
    ),
  );
  return p['uniqueIdentifier'] as string;
}

const wrappingUnder = (kek: string) =>
  s(Tag.KeyWrappingSpecification, [e(Tag.WrappingMethod, WrappingMethod.Encrypt), s(Tag.EncryptionKeyInformation, [t(Tag.UniqueIdentifier, kek), s(Tag.CryptographicParameters, [e(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)])])]);

/** A wrapped object that names another unwrapping key (the bytes stay what they were). */
function naming(object: TtlvItem, kek: string): TtlvItem {
  const walk = (x: TtlvItem, inInfo: boolean): TtlvItem => {
    if (x.type !== ItemType.Structure) return inInfo && x.tag === Tag.UniqueIdentifier ? ({ ...x, value: kek } as TtlvItem) : x;
    return { ...x, value: (x.value as TtlvItem[]).map((c) => walk(c, inInfo || x.tag === Tag.EncryptionKeyInformation)) } as TtlvItem;
  };
  return walk(object, false);
}

/** What `uid` encrypts on `from`, `clone` decrypts on `to`: the same key material. */
async function sameKey(from: ExecutorHarness, uid: string, to: ExecutorHarness, clone: string): Promise<boolean> {
  const iv = randomBytes(16);
  const params = s(Tag.CryptographicParameters, [e(Tag.BlockCipherMode, BlockCipherMode.CBC), e(Tag.PaddingMethod, 3)]);
  const sealed = succeeded(await call(from, Operation.Encrypt, [t(Tag.UniqueIdentifier, uid), params, b(Tag.Data, new Uint8Array(Buffer.from('hello'))), b(Tag.IVCounterNonce, iv)], 21));
  const opened = await call(to, Operation.Decrypt, [t(Tag.UniqueIdentifier, clone), params, b(Tag.Data, sealed['data'] as Uint8Array), b(Tag.IVCounterNonce, iv)], 21);
  return opened.resultStatus === ResultStatus.Success && Buffer.from(opened.payload?.['data'] as Uint8Array).toString() === 'hello';
}

describe('Import with Key Wrap Type Not Wrapped: no way around Sensitive', () => {
  for (const version of [21, 14]) {
    it(`refuses to unwrap under a Sensitive or non-Extractable key, and unwraps under one the client may take in clear (${version})`, async () => {
      const key = await createAes(a, [bool(Tag.Sensitive, true)]);
      expect((await getOf(a, key)).resultReason).toBe(ResultReason.Sensitive);
      const importUnwrapped = async (kek: string) => {
        const wrapped = succeeded(await call(a, Operation.Get, [t(Tag.UniqueIdentifier, key), wrappingUnder(kek)], 21));
        const clone = unique('clone');
        const usable = version >= 20 ? [i(Tag.CryptographicUsageMask, CryptographicUsageMask.Decrypt), dt(Tag.ActivationDate, now() - 60)] : [attr('Cryptographic Usage Mask', i(0, CryptographicUsageMask.Decrypt)), attr('Activation Date', dt(0, now() - 60))];
        const r = await call(a, Operation.Import, importFrom(wrapped, version, { keyWrapType: KeyWrapType.NotWrapped, uid: clone, attributes: [sensitiveAttribute(version, false), ...usable] }), version);
        return { r, clone };
      };
      // The review's case: a wrapping key that is Sensitive, not Extractable, and may only wrap and unwrap.
      for (const protections of [{ sensitive: true, extractable: false }, { sensitive: true }, { extractable: false }]) {
        const { r, clone } = await importUnwrapped(await createKek(a, protections));
        expect(r.resultReason, JSON.stringify(protections)).toBe(ResultReason.PermissionDenied);
        expect((await getOf(a, clone)).resultReason).toBe(ResultReason.ObjectNotFound);
      }
      expect(await attributeOf(a, key, Tag.AlwaysSensitive)).toBe(true);
      // Migration: a key-encryption key a client may Get in clear unwraps as before.
      const { r, clone } = await importUnwrapped(await createKek(a));
      succeeded(r);
      expect(objectOf(succeeded(await getOf(a, clone)))).toBeDefined();
      expect(await sameKey(a, key, a, clone)).toBe(true);
    });
  }

  it('needs Unwrap Key in the unwrapping key, in a state that processes (2.1 and 1.4 reasons)', async () => {
    const kek = await createKek(a);
    const wrapped = succeeded(await exportOf(a, await createAes(a), 21, [wrappingUnder(kek)]));
    const importUnder = (other: string, version: number) =>
      call(a, Operation.Import, importFrom(wrapped, version, { keyWrapType: KeyWrapType.NotWrapped, uid: unique('under'), attributes: [], object: naming(objectOf(wrapped)!, other) }), version);
    const noUnwrap = await createKek(a, { usage: CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt | CryptographicUsageMask.WrapKey });
    const preActive = await createKek(a, { active: false });
    expect((await importUnder(noUnwrap, 21)).resultReason).toBe(ResultReason.IncompatibleCryptographicUsageMask);
    expect((await importUnder(noUnwrap, 14)).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await importUnder(preActive, 21)).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
    expect((await importUnder(preActive, 14)).resultReason).toBe(ResultReason.PermissionDenied);
    // The same request naming the key that wrapped it succeeds.
    succeeded(await importUnder(kek, 21));
  });
});

describe('Import: Replace Existing never revives an object', () => {
  const revoke = (h: ExecutorHarness, uid: string, code: number) => call(h, Operation.Revoke, [t(Tag.UniqueIdentifier, uid), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, code)])], 21);
  const stateOf = (h: ExecutorHarness, uid: string) => attributeOf(h, uid, Tag.State);

  for (const version of [21, 14]) {
    it(`refuses a Destroyed, Compromised or Deactivated-to-Active replacement with Permission Denied (${version})`, async () => {
      /** An Active key moved to bh, and the Import that would put fresh material under its identifier. */
      const moved = async () => {
        const uid = await createAes(a);
        const exported = succeeded(await exportOf(a, uid, version));
        succeeded(await call(bh, Operation.Import, importFrom(exported, version), version));
        const attributes = without(attributesOf(exported, version), version, 'Digest', Tag.Digest);
        return { uid, replace: (state?: number) => call(bh, Operation.Import, importFrom(exported, version, { replace: true, object: rawAes(new Uint8Array(randomBytes(32))), attributes: state === undefined ? attributes : [...without(attributes, version, 'State', Tag.State), stateAttribute(version, state)] }), version) };
      };

      const compromised = await moved();
      succeeded(await revoke(bh, compromised.uid, RevocationReasonCode.KeyCompromise));
      expect((await compromised.replace()).resultReason).toBe(ResultReason.PermissionDenied);
      expect((await compromised.replace(State.Compromised)).resultReason).toBe(ResultReason.PermissionDenied);
      expect(await stateOf(bh, compromised.uid)).toBe(State.Compromised);
      expect(await sameKey(a, compromised.uid, bh, compromised.uid)).toBe(true);

      const destroyed = await moved();
      succeeded(await revoke(bh, destroyed.uid, RevocationReasonCode.Unspecified));
      expect((await destroyed.replace()).resultReason).toBe(ResultReason.PermissionDenied);
      expect((await destroyed.replace(State.PreActive)).resultReason).toBe(ResultReason.PermissionDenied);
      // Deactivated it may stay, with the material given.
      succeeded(await destroyed.replace(State.Deactivated));
      expect(await stateOf(bh, destroyed.uid)).toBe(State.Deactivated);
      expect(await sameKey(a, destroyed.uid, bh, destroyed.uid)).toBe(false);
      succeeded(await call(bh, Operation.Destroy, [t(Tag.UniqueIdentifier, destroyed.uid)], 21));
      expect((await destroyed.replace()).resultReason).toBe(ResultReason.PermissionDenied);
      expect((await destroyed.replace(State.Deactivated)).resultReason).toBe(ResultReason.PermissionDenied);
      expect(await stateOf(bh, destroyed.uid)).toBe(State.Destroyed);
      expect((await getOf(bh, destroyed.uid)).resultStatus).toBe(ResultStatus.OperationFailed);
    });
  }
});

describe('Export → Import of a Template (1.4)', () => {
  const templateItem = (length: number, extra: TtlvItem[] = []) =>
    s(Tag.Template, [attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES)), attr('Cryptographic Length', i(0, length)), attr('Cryptographic Usage Mask', i(0, CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt)), ...extra]);
  const registerTemplate = async (name: string) => {
    const p = succeeded(await call(a, Operation.Register, [e(Tag.ObjectType, ObjectType.Template), s(Tag.TemplateAttribute, [attr('Name', name14(name))]), templateItem(128)], 14));
    return p['uniqueIdentifier'] as string;
  };
  const importTemplate = (uid: string, attributes: TtlvItem[], template: TtlvItem) => call(bh, Operation.Import, [t(Tag.UniqueIdentifier, uid), e(Tag.ObjectType, ObjectType.Template), ...attributes, template], 14);

  it('round-trips the Template and its own attributes, and the other server makes keys from it', async () => {
    const name = unique('tpl');
    const uid = await registerTemplate(name);
    succeeded(await call(a, Operation.AddAttribute, [t(Tag.UniqueIdentifier, uid), attr('Contact Information', t(0, 'ops'))], 14));
    succeeded(await call(a, Operation.AddAttribute, [t(Tag.UniqueIdentifier, uid), attr('x-owner', t(0, 'team-a'))], 14));
    const exported = succeeded(await exportOf(a, uid, 14));
    expect(exported['template']).toBeDefined();
    bh.setNow(Date.now() + 86_400_000);
    let again: Record<string, unknown>;
    try {
      succeeded(await call(bh, Operation.Import, [t(Tag.UniqueIdentifier, uid), e(Tag.ObjectType, ObjectType.Template), ...attributesOf(exported, 14), exported['template'] as TtlvItem], 14));
      again = succeeded(await exportOf(bh, uid, 14));
    } finally {
      bh.setNow(undefined);
    }
    expect(hex(again['template'] as TtlvItem)).toBe(hex(exported['template'] as TtlvItem));
    expect(attributesOf(again, 14).map(hex)).toEqual(attributesOf(exported, 14).map(hex));
    const key = succeeded(await call(bh, Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [nameItem(name)])], 14));
    expect(await attributeOf(bh, key['uniqueIdentifier'] as string, Tag.CryptographicLength)).toBe(128);
  });

  it('gives the Template object no attribute a Template cannot have, and checks what it holds', async () => {
    const uid = await registerTemplate(unique('tpl'));
    const exported = succeeded(await exportOf(a, uid, 14));
    const attributes = attributesOf(exported, 14);
    const template = exported['template'] as TtlvItem;
    const refused = [
      attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES)),
      attr('Cryptographic Usage Mask', i(0, CryptographicUsageMask.Encrypt)),
      attr('Digest', s(0, [e(Tag.HashingAlgorithm, 6), b(Tag.DigestValue, new Uint8Array(32)), e(Tag.KeyFormatType, KeyFormatType.Raw)])),
      attr('Revocation Reason', s(0, [e(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)])),
      attr('Random Number Generator', s(0, [e(Tag.RNGAlgorithm, 1)])),
      attr('y-server', t(0, 'mine')),
    ];
    for (const extra of refused) {
      const r = await importTemplate(unique('tpl-imp'), [...without(attributes, 14, 'Unique Identifier', 0), extra], template);
      expect(r.resultReason, v1Name(extra)).toBe(ResultReason.InvalidField);
    }
    expect((await importTemplate(unique('tpl-imp'), [...without(without(attributes, 14, 'Unique Identifier', 0), 14, 'State', 0), stateAttribute(14, State.Compromised)], template)).resultReason).toBe(ResultReason.InvalidField);
    // What a Template holds is checked as on Register: server attributes and Names stay out of it.
    const inside = templateItem(128, [attr('Initial Date', dt(0, 1))]);
    expect((await importTemplate(unique('tpl-imp'), without(attributes, 14, 'Unique Identifier', 0), inside)).resultStatus).toBe(ResultStatus.OperationFailed);
    // The same attributes with the bookkeeping and a client attribute are taken.
    succeeded(await importTemplate(unique('tpl-imp'), [...without(attributes, 14, 'Unique Identifier', 0), attr('Description', t(0, 'ok'))], template));
  });
});
