/**
 * Derive Key through the real batch executor: PBKDF2 against RFC 6070 and RFC 7914 §11 vectors, HMAC
 * and SP 800-108 counter mode against HMAC computations written out here, ENCRYPT against a cipher run
 * here and the server's own Decrypt; the refusals (usage mask, state, tenant, parameters); the new
 * object's attributes and the links both ways.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../../server/ttlv/index.js';
import {
  BlockCipherMode,
  CryptographicAlgorithm,
  CryptographicUsageMask,
  DerivationMethod,
  HashingAlgorithm,
  KeyFormatType,
  LinkType,
  ObjectType,
  Operation,
  PaddingMethod,
  ResultReason,
  ResultStatus,
  SecretDataType,
  State,
} from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import type { Principal } from '../../../../server/kmip/context.js';
import { attributeMap, enumAttr, intAttr, type V1Attribute } from '../../../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { attr, b, dt, e, i, s } from '../../../support/ttlv-builder.js';
import { call, hex, ok, registerSymmetric } from './helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const DERIVE = CryptographicUsageMask.DeriveKey;

async function registerSecret(bytes: Uint8Array, mask: number, principal?: Principal): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = s(Tag.RequestPayload, [
    e(Tag.ObjectType, ObjectType.SecretData),
    s(Tag.TemplateAttribute, [attr('Cryptographic Usage Mask', i(Tag.AttributeValue, mask)), attr('Activation Date', dt(Tag.AttributeValue, now - 3600))]),
    s(Tag.SecretData, [e(Tag.SecretDataType, SecretDataType.Password), s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Opaque), s(Tag.KeyValue, [b(Tag.KeyMaterial, bytes)])])]),
  ]);
  const r = await h.run([{ operation: Operation.Register, payload }], { version: 14 }, principal);
  const item = r.items[0]!;
  if (item.resultStatus !== ResultStatus.Success) throw new Error(`Register failed: ${item.resultReason} ${item.resultMessage}`);
  return item.payload!['uniqueIdentifier'] as string;
}

const symmetricTarget = (algorithm: number, bits: number, extra: V1Attribute[] = []) => ({
  names: [],
  attributes: [enumAttr('Cryptographic Algorithm', algorithm), intAttr('Cryptographic Length', bits), ...extra],
});
const secretTarget = (bits: number) => ({ names: [], attributes: [intAttr('Cryptographic Length', bits)] });

function deriveRequest(
  base: string,
  method: number,
  parameters: Record<string, unknown>,
  objectType: number,
  templateAttribute: { names: never[]; attributes: V1Attribute[] },
): Record<string, unknown> {
  // Both forms: the request schema encodes the one the protocol version has.
  const attributes = templateAttribute.attributes.map((a) => ({ ...a.attributeValue, tag: V2_TAGS[a.attributeName]! }));
  return { objectType, uniqueIdentifiers: [base], derivationMethod: method, derivationParameters: parameters, templateAttribute, attributes };
}

const V2_TAGS: Record<string, number> = { 'Cryptographic Algorithm': Tag.CryptographicAlgorithm, 'Cryptographic Length': Tag.CryptographicLength };

function findMaterial(item: TtlvItem): Uint8Array | undefined {
  if (item.tag === Tag.KeyMaterial && item.type === ItemType.ByteString) return item.value;
  if (item.type !== ItemType.Structure) return undefined;
  for (const child of item.value) {
    const found = findMaterial(child);
    if (found) return found;
  }
  return undefined;
}

/** The raw bytes of an object, read back with Get. */
async function materialOf(uid: string): Promise<string> {
  const got = await ok(h, Operation.Get, { uniqueIdentifier: uid });
  const object = (got['symmetricKey'] ?? got['secretData']) as TtlvItem;
  const material = findMaterial(object);
  if (!material) throw new Error('Get returned no key material');
  return hex(material);
}

async function deriveOk(payload: Record<string, unknown>, version = 14): Promise<string> {
  return (await ok(h, Operation.DeriveKey, payload, version))['uniqueIdentifier'] as string;
}

describe('Derive Key: PBKDF2', () => {
  it('RFC 6070 vectors (HMAC-SHA-1, the default PRF), into Secret Data and a Symmetric Key', async () => {
    const password = await registerSecret(new Uint8Array(Buffer.from('password')), DERIVE);
    const salt = Buffer.from('salt');
    const vectors: Array<[number, string]> = [
      [1, '0c60c80f961f0e71f3a9b524af6012062fe037a6'],
      [2, 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957'],
      [4096, '4b007901b765489abead49d926f721d065a429c1'],
    ];
    for (const [iterationCount, expected] of vectors) {
      const uid = await deriveOk(deriveRequest(password, DerivationMethod.PBKDF2, { salt, iterationCount }, ObjectType.SecretData, secretTarget(160)));
      expect(await materialOf(uid)).toBe(expected);
    }
    const long = await registerSecret(new Uint8Array(Buffer.from('passwordPASSWORDpassword')), DERIVE);
    const uid = await deriveOk(
      deriveRequest(long, DerivationMethod.PBKDF2, { salt: Buffer.from('saltSALTsaltSALTsaltSALTsaltSALTsalt'), iterationCount: 4096 }, ObjectType.SecretData, secretTarget(200)),
    );
    expect(await materialOf(uid)).toBe('3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038');
    // The same derivation into an HMAC-SHA1 key of 160 bits.
    const key = await deriveOk(deriveRequest(password, DerivationMethod.PBKDF2, { salt, iterationCount: 2 }, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.HMAC_SHA1, 160)));
    expect(await materialOf(key)).toBe('ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
  });

  it('PBKDF2-HMAC-SHA-256 (RFC 7914 §11: "passwd", "salt", 1 iteration) when the parameters name SHA-256', async () => {
    const password = await registerSecret(new Uint8Array(Buffer.from('passwd')), DERIVE);
    const uid = await deriveOk(
      deriveRequest(
        password,
        DerivationMethod.PBKDF2,
        { cryptographicParameters: { hashingAlgorithm: HashingAlgorithm.SHA_256 }, salt: Buffer.from('salt'), iterationCount: 1 },
        ObjectType.SecretData,
        secretTarget(512),
      ),
    );
    expect(await materialOf(uid)).toBe(
      '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
    );
  });

  it('Iteration Count from 1 to 10,000,000: 0, negative and larger are Invalid Field; Salt and Iteration Count are required', async () => {
    const password = await registerSecret(randomBytes(16), DERIVE);
    const salt = randomBytes(16);
    for (const iterationCount of [0, -5, 10_000_001]) {
      const r = await call(h, Operation.DeriveKey, deriveRequest(password, DerivationMethod.PBKDF2, { salt, iterationCount }, ObjectType.SecretData, secretTarget(128)));
      expect(r.resultReason, `Iteration Count ${iterationCount}`).toBe(ResultReason.InvalidField);
    }
    const noSalt = await call(h, Operation.DeriveKey, deriveRequest(password, DerivationMethod.PBKDF2, { iterationCount: 10 }, ObjectType.SecretData, secretTarget(128)));
    expect(noSalt.resultReason).toBe(ResultReason.MissingData);
    const noCount = await call(h, Operation.DeriveKey, deriveRequest(password, DerivationMethod.PBKDF2, { salt }, ObjectType.SecretData, secretTarget(128)));
    expect(noCount.resultReason).toBe(ResultReason.MissingData);
  });
});

describe('Derive Key: HMAC, HASH and SP 800-108 counter mode', () => {
  it('HMAC: the HMAC of the Derivation Data under the base key (its own hash), cut to the length asked for', async () => {
    const keyBytes = randomBytes(32);
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, keyBytes, { mask: DERIVE });
    const data = randomBytes(40);
    const full = createHmac('sha256', keyBytes).update(data).digest();
    const k256 = await deriveOk(deriveRequest(base, DerivationMethod.HMAC, { derivationData: data }, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.AES, 256)));
    expect(await materialOf(k256)).toBe(full.toString('hex'));
    // The key's algorithm decides the PRF: a SHA-512 in the parameters is ignored (the Derivation Parameters text: "the Cryptographic Parameters are ignored").
    const k128 = await deriveOk(
      deriveRequest(base, DerivationMethod.HMAC, { cryptographicParameters: { hashingAlgorithm: HashingAlgorithm.SHA_512 }, derivationData: data }, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.AES, 128)),
    );
    expect(await materialOf(k128)).toBe(full.subarray(0, 16).toString('hex'));
    // One HMAC-SHA-256 gives 256 bits: more is refused, not stretched.
    const tooLong = await call(h, Operation.DeriveKey, deriveRequest(base, DerivationMethod.HMAC, { derivationData: data }, ObjectType.SecretData, secretTarget(264)));
    expect(tooLong.resultReason).toBe(ResultReason.InvalidField);
    const noData = await call(h, Operation.DeriveKey, deriveRequest(base, DerivationMethod.HMAC, {}, ObjectType.SecretData, secretTarget(128)));
    expect(noData.resultReason).toBe(ResultReason.MissingData);
  });

  it('HMAC from Secret Data takes the Hashing Algorithm of the parameters', async () => {
    const secret = randomBytes(24);
    const base = await registerSecret(secret, DERIVE);
    const data = randomBytes(12);
    const uid = await deriveOk(
      deriveRequest(base, DerivationMethod.HMAC, { cryptographicParameters: { hashingAlgorithm: HashingAlgorithm.SHA_384 }, derivationData: data }, ObjectType.SecretData, secretTarget(384)),
    );
    expect(await materialOf(uid)).toBe(createHmac('sha384', secret).update(data).digest('hex'));
    const unnamed = await call(h, Operation.DeriveKey, deriveRequest(base, DerivationMethod.HMAC, { derivationData: data }, ObjectType.SecretData, secretTarget(128)), 21);
    expect(unnamed.resultReason).toBe(ResultReason.BadCryptographicParameters);
  });

  it('HASH: a digest of the base material; Derivation Data is refused', async () => {
    const keyBytes = randomBytes(32);
    const base = await registerSymmetric(h, CryptographicAlgorithm.AES, keyBytes, { mask: DERIVE });
    const params = { cryptographicParameters: { hashingAlgorithm: HashingAlgorithm.SHA_256 } };
    const uid = await deriveOk(deriveRequest(base, DerivationMethod.HASH, params, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.AES, 128)));
    expect(await materialOf(uid)).toBe(createHash('sha256').update(keyBytes).digest('hex').slice(0, 32));
    const withData = await call(h, Operation.DeriveKey, deriveRequest(base, DerivationMethod.HASH, { ...params, derivationData: randomBytes(4) }, ObjectType.SecretData, secretTarget(128)));
    expect(withData.resultReason).toBe(ResultReason.InvalidField);
  });

  it('NIST800-108-C: HMAC([i]32 ‖ Derivation Data ‖ [L]32) blocks, checked by hand and against OpenSSL 3 KBKDF', async () => {
    const keyBytes = randomBytes(32);
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, keyBytes, { mask: DERIVE });
    const data = Buffer.concat([Buffer.from('label'), Buffer.from([0]), Buffer.from('context')]);
    const bits = 640;
    const blocks: Buffer[] = [];
    for (let n = 1; n <= 3; n++) {
      const counter = Buffer.alloc(4);
      counter.writeUInt32BE(n);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bits);
      blocks.push(createHmac('sha256', keyBytes).update(Buffer.concat([counter, data, length])).digest());
    }
    const uid = await deriveOk(deriveRequest(base, DerivationMethod.NIST800_108_C, { derivationData: data }, ObjectType.SecretData, secretTarget(bits)));
    expect(await materialOf(uid)).toBe(Buffer.concat(blocks).subarray(0, bits / 8).toString('hex'));

    // `openssl kdf -keylen 40 -kdfopt mac:HMAC -kdfopt digest:SHA256 -kdfopt hexkey:000102…0f
    //  -kdfopt hexsalt:6c6162656c -kdfopt hexinfo:636f6e74657874 KBKDF` (label "label", context "context").
    const fixed = await registerSymmetric(h, CryptographicAlgorithm.AES, '000102030405060708090a0b0c0d0e0f', { mask: DERIVE });
    const known = await deriveOk(
      deriveRequest(fixed, DerivationMethod.NIST800_108_C, { cryptographicParameters: { hashingAlgorithm: HashingAlgorithm.SHA_256 }, derivationData: data }, ObjectType.SecretData, secretTarget(320)),
    );
    expect(await materialOf(known)).toBe('ea7d2f723c7c89aff21be0deb82b56a4a8245b01afe4a26f5bd4cf6bafd59f0337835beb381a6598');
  });
});

describe('Derive Key: ENCRYPT', () => {
  it('the Derivation Data encrypted under the base key; the server decrypts the derived bytes back', async () => {
    const keyBytes = randomBytes(16);
    const base = await registerSymmetric(h, CryptographicAlgorithm.AES, keyBytes, { mask: DERIVE | CryptographicUsageMask.Decrypt });
    const data = randomBytes(32);
    const ivBytes = randomBytes(16);
    const cryptographicParameters = { blockCipherMode: BlockCipherMode.CBC, paddingMethod: PaddingMethod.None };
    const uid = await deriveOk(
      deriveRequest(base, DerivationMethod.ENCRYPT, { cryptographicParameters, initializationVector: ivBytes, derivationData: data }, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.AES, 256)),
    );
    const derived = await materialOf(uid);
    const cipher = createCipheriv('aes-128-cbc', keyBytes, ivBytes).setAutoPadding(false);
    expect(derived).toBe(Buffer.concat([cipher.update(data), cipher.final()]).toString('hex'));
    const back = await ok(h, Operation.Decrypt, { uniqueIdentifier: base, cryptographicParameters, ivCounterNonce: ivBytes, data: Buffer.from(derived, 'hex') });
    expect(hex(back['data'])).toBe(data.toString('hex'));

    // No IV: an all-zero one. A stream mode is refused (its fixed keystream would tie derived keys together).
    const zeroIv = await deriveOk(deriveRequest(base, DerivationMethod.ENCRYPT, { cryptographicParameters, derivationData: data }, ObjectType.SecretData, secretTarget(128)));
    const zero = createCipheriv('aes-128-cbc', keyBytes, Buffer.alloc(16)).setAutoPadding(false);
    expect(await materialOf(zeroIv)).toBe(zero.update(data).subarray(0, 16).toString('hex'));
    const ctr = await call(
      h,
      Operation.DeriveKey,
      deriveRequest(base, DerivationMethod.ENCRYPT, { cryptographicParameters: { blockCipherMode: BlockCipherMode.CTR }, derivationData: data }, ObjectType.SecretData, secretTarget(128)),
      21,
    );
    expect(ctr.resultReason).toBe(ResultReason.UnsupportedCryptographicParameters);
    const longer = await call(h, Operation.DeriveKey, deriveRequest(base, DerivationMethod.ENCRYPT, { cryptographicParameters, derivationData: data }, ObjectType.SecretData, secretTarget(512)));
    expect(longer.resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('Derive Key: refusals', () => {
  const hmacRequest = (base: string) => deriveRequest(base, DerivationMethod.HMAC, { derivationData: randomBytes(8) }, ObjectType.SecretData, secretTarget(128));

  it('a base without Derive Key in its usage mask: Incompatible Cryptographic Usage Mask (2.x), Permission Denied (1.x)', async () => {
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, randomBytes(32), { mask: CryptographicUsageMask.MACGenerate });
    expect((await call(h, Operation.DeriveKey, hmacRequest(base), 21)).resultReason).toBe(ResultReason.IncompatibleCryptographicUsageMask);
    expect((await call(h, Operation.DeriveKey, hmacRequest(base), 14)).resultReason).toBe(ResultReason.PermissionDenied);
  });

  it('a base that is not Active: Wrong Key Lifecycle State', async () => {
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, randomBytes(32), { mask: DERIVE, active: false });
    expect((await call(h, Operation.DeriveKey, hmacRequest(base), 21)).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
  });

  it("another tenant's base object: Item Not Found, and nothing is made", async () => {
    const other = await h.otherTenant();
    const foreign = await registerSecret(randomBytes(16), DERIVE, other);
    const item = await call(h, Operation.DeriveKey, hmacRequest(foreign));
    expect(item.resultReason).toBe(ResultReason.ItemNotFound);
    // The owner can derive from it.
    const mine = await call(h, Operation.DeriveKey, { ...hmacRequest(foreign), derivationParameters: { cryptographicParameters: { hashingAlgorithm: HashingAlgorithm.SHA_256 }, derivationData: randomBytes(8) } }, 14, other);
    expect(mine.resultStatus).toBe(ResultStatus.Success);
  });

  it('lengths, object types and methods the server does not offer', async () => {
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA512, randomBytes(64), { mask: DERIVE });
    const data = { derivationData: randomBytes(8) };
    const reason = async (payload: Record<string, unknown>, version = 21) => (await call(h, Operation.DeriveKey, payload, version)).resultReason;
    expect(await reason(deriveRequest(base, DerivationMethod.NIST800_108_C, data, ObjectType.SecretData, secretTarget(4104)))).toBe(ResultReason.InvalidField);
    expect(await reason(deriveRequest(base, DerivationMethod.HMAC, data, ObjectType.SecretData, { names: [], attributes: [] }))).toBe(ResultReason.InvalidField);
    expect(await reason(deriveRequest(base, DerivationMethod.HMAC, data, ObjectType.SymmetricKey, secretTarget(256)))).toBe(ResultReason.InvalidField);
    expect(await reason(deriveRequest(base, DerivationMethod.HMAC, data, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.AES, 200)))).toBe(ResultReason.InvalidField);
    expect(await reason(deriveRequest(base, DerivationMethod.HMAC, data, ObjectType.PrivateKey, secretTarget(256)))).toBe(ResultReason.InvalidObjectType);
    expect(await reason(deriveRequest(base, DerivationMethod.NIST800_108_F, data, ObjectType.SecretData, secretTarget(256)))).toBe(ResultReason.FeatureNotSupported);
    expect(await reason(deriveRequest(base, DerivationMethod.HMAC, { ...data, salt: randomBytes(8) }, ObjectType.SecretData, secretTarget(256)))).toBe(ResultReason.InvalidField);
    expect(await reason({ ...deriveRequest(base, DerivationMethod.HMAC, data, ObjectType.SecretData, secretTarget(256)), uniqueIdentifiers: [base, base] })).toBe(ResultReason.FeatureNotSupported);
  });
});

describe('Derive Key: the new object', () => {
  it('gets the Algorithm and Length asked for, starts Pre-Active, and is linked to its base both ways', async () => {
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, randomBytes(32), { mask: DERIVE });
    const r = await ok(h, Operation.DeriveKey, deriveRequest(base, DerivationMethod.HMAC, { derivationData: randomBytes(8) }, ObjectType.SymmetricKey, symmetricTarget(CryptographicAlgorithm.AES, 192)));
    const uid = r['uniqueIdentifier'] as string;
    expect(uid).not.toBe(base);
    // The server chose the usage mask (none was asked for), so 1.x hears about it.
    const told = (r['templateAttribute'] as { attributes: V1Attribute[] } | undefined)?.attributes.find((a) => a.attributeName === 'Cryptographic Usage Mask');
    expect(told?.attributeValue.value).toBe(CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt | CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey);

    const names = ['Cryptographic Algorithm', 'Cryptographic Length', 'State', 'Link', 'Object Type'];
    const attrs = attributeMap((await ok(h, Operation.GetAttributes, { uniqueIdentifier: uid, attributeNames: names, attributeReferences: [] }))['attributes'] as TtlvItem[]);
    expect(attrs.get('Cryptographic Algorithm')?.[0]?.value).toBe(CryptographicAlgorithm.AES);
    expect(attrs.get('Cryptographic Length')?.[0]?.value).toBe(192);
    expect(attrs.get('State')?.[0]?.value).toBe(State.PreActive);
    expect(attrs.get('Object Type')?.[0]?.value).toBe(ObjectType.SymmetricKey);
    expect(links(attrs.get('Link'))).toEqual([[LinkType.DerivationBaseObjectLink, base]]);
    const baseAttrs = attributeMap((await ok(h, Operation.GetAttributes, { uniqueIdentifier: base, attributeNames: ['Link'], attributeReferences: [] }))['attributes'] as TtlvItem[]);
    expect(links(baseAttrs.get('Link'))).toEqual([[LinkType.DerivedKeyLink, uid]]);
  });

  it('the audit names the new object and holds no key bytes', async () => {
    const keyBytes = randomBytes(32);
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, keyBytes, { mask: DERIVE });
    const data = randomBytes(16);
    const before = h.audit.length;
    const uid = await deriveOk(deriveRequest(base, DerivationMethod.HMAC, { derivationData: data }, ObjectType.SecretData, secretTarget(256)));
    const records = h.audit.slice(before);
    expect(records.map((r) => [r.operation, r.objectId, r.result])).toEqual([['Derive Key', uid, 'success']]);
    const text = JSON.stringify(records, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of [keyBytes, createHmac('sha256', keyBytes).update(data).digest()]) {
      expect(text).not.toContain(secret.toString('hex'));
      expect(text).not.toContain(secret.toString('base64'));
    }
  });

  it('2.x: Attributes for the new object, no Template-Attribute back; the ID Placeholder names the new object', async () => {
    const keyBytes = randomBytes(32);
    const base = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, keyBytes, { mask: DERIVE });
    const data = randomBytes(16);
    const attributes = [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 128), i(Tag.CryptographicUsageMask, CryptographicUsageMask.Encrypt)];
    const r = await h.run(
      [
        { operation: Operation.DeriveKey, id: '1', payload: { objectType: ObjectType.SymmetricKey, uniqueIdentifiers: [base], derivationMethod: DerivationMethod.HMAC, derivationParameters: { derivationData: data }, attributes } },
        { operation: Operation.Get, id: '2', payload: {} },
      ],
      { version: 21 },
    );
    expect(r.items.map((x) => [x.resultStatus, x.resultMessage])).toEqual([[ResultStatus.Success, undefined], [ResultStatus.Success, undefined]]);
    const uid = r.items[0]!.payload!['uniqueIdentifier'] as string;
    expect(r.items[0]!.payload!['templateAttribute']).toBeUndefined();
    expect(r.items[1]!.payload!['uniqueIdentifier']).toBe(uid);
    expect(hex(findMaterial(r.items[1]!.payload!['symmetricKey'] as TtlvItem))).toBe(createHmac('sha256', keyBytes).update(data).digest().subarray(0, 16).toString('hex'));
  });
});

function links(values: TtlvItem[] | undefined): Array<[unknown, unknown]> {
  return (values ?? []).map((v) => {
    if (v.type !== ItemType.Structure) throw new Error('Link is not a structure');
    return [v.value.find((c) => c.tag === Tag.LinkType)?.value, v.value.find((c) => c.tag === Tag.LinkedObjectIdentifier)?.value];
  });
}
