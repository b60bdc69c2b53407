/**
 * Get with a Key Wrapping Specification through the real batch executor: the wrapped Key Value is
 * opened here with node:crypto's own AES key wrap and RSA OAEP (not the server's code), and must
 * give back exactly what a plain Get returns.
 */
import { createDecipheriv, generateKeyPairSync, privateDecrypt, constants, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption, HashingAlgorithm, Operation, PaddingMethod, ResultReason, ResultStatus, WrappingMethod } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { decodeTtlv, encodeTtlv, ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { attr, e, s, t } from '../../support/ttlv-builder.js';
import { registerPublic, registerSymmetric } from './crypto/helpers.js';

const RFC3394_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const child = (item: TtlvItem, tag: number): TtlvItem | undefined => (item.value as TtlvItem[]).find((c) => c.tag === tag);

function spec(kek: string, options: { params?: TtlvItem[]; encoding?: number; method?: number; extra?: TtlvItem[] } = {}): TtlvItem {
  return s(Tag.KeyWrappingSpecification, [
    e(Tag.WrappingMethod, options.method ?? WrappingMethod.Encrypt),
    s(Tag.EncryptionKeyInformation, [t(Tag.UniqueIdentifier, kek), ...(options.params ? [s(Tag.CryptographicParameters, options.params)] : [])]),
    ...(options.extra ?? []),
    ...(options.encoding !== undefined ? [e(Tag.EncodingOption, options.encoding)] : []),
  ]);
}

async function get(uid: string, wrapping?: TtlvItem, version = 14) {
  const r = await h.run([{ operation: Operation.Get, payload: s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), ...(wrapping ? [wrapping] : [])]) }], { version });
  return r.items[0]!;
}

/** The Key Block of a successful Get. */
function keyBlockOf(item: Awaited<ReturnType<typeof get>>): TtlvItem {
  expect(item.resultStatus, `${item.resultReason} ${item.resultMessage}`).toBe(ResultStatus.Success);
  const object = (item.payload!['symmetricKey'] ?? item.payload!['privateKey']) as TtlvItem;
  return child(object, Tag.KeyBlock)!;
}

async function aesKey(mask: number, extra: TtlvItem[] = []): Promise<{ uid: string; bytes: Buffer }> {
  const bytes = randomBytes(32);
  const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, new Uint8Array(bytes), { mask, extra, params: [e(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)] });
  return { uid, bytes };
}

describe('Get with a Key Wrapping Specification', () => {
  it('wraps the TTLV-encoded Key Value with AES key wrap (RFC 3394) by default, and says how in Key Wrapping Data', async () => {
    const kek = await aesKey(CryptographicUsageMask.WrapKey);
    const target = await aesKey(CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt);
    const plainValue = child(keyBlockOf(await get(target.uid)), Tag.KeyValue)!;

    const block = keyBlockOf(await get(target.uid, spec(kek.uid)));
    const wrapped = child(block, Tag.KeyValue)!;
    expect(wrapped.type).toBe(ItemType.ByteString);
    const decipher = createDecipheriv('id-aes256-wrap', kek.bytes, RFC3394_IV);
    const opened = Buffer.concat([decipher.update(wrapped.value as Uint8Array), decipher.final()]);
    expect(Buffer.from(opened).equals(Buffer.from(encodeTtlv(plainValue)))).toBe(true);
    expect(Buffer.from(child(decodeTtlv(opened), Tag.KeyMaterial)!.value as Uint8Array).equals(target.bytes)).toBe(true);

    const data = child(block, Tag.KeyWrappingData)!;
    expect(child(data, Tag.WrappingMethod)!.value).toBe(WrappingMethod.Encrypt);
    expect(child(child(data, Tag.EncryptionKeyInformation)!, Tag.UniqueIdentifier)!.value).toBe(kek.uid);
    // Nothing else of the block changed: format, algorithm and length still describe the key.
    expect(child(block, Tag.CryptographicAlgorithm)!.value).toBe(CryptographicAlgorithm.AES);
    expect(child(block, Tag.CryptographicLength)!.value).toBe(256);
  });

  it('with No Encoding wraps the Key Material bytes only, with the parameters the request names (RFC 5649 padding)', async () => {
    const kek = await aesKey(CryptographicUsageMask.WrapKey);
    const target = await aesKey(CryptographicUsageMask.Encrypt);
    const block = keyBlockOf(await get(target.uid, spec(kek.uid, { encoding: EncodingOption.NoEncoding, params: [e(Tag.BlockCipherMode, BlockCipherMode.AESKeyWrapPadding)] })));
    const decipher = createDecipheriv('id-aes256-wrap-pad', kek.bytes, Buffer.from('a65959a6', 'hex'));
    const opened = Buffer.concat([decipher.update(child(block, Tag.KeyValue)!.value as Uint8Array), decipher.final()]);
    expect(opened.equals(target.bytes)).toBe(true);
    expect(child(child(block, Tag.KeyWrappingData)!, Tag.EncodingOption)!.value).toBe(EncodingOption.NoEncoding);
  });

  it('wraps under an RSA public key with OAEP', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrapKey = await registerPublic(h, CryptographicAlgorithm.RSA, publicKey, 2048, {
      mask: CryptographicUsageMask.WrapKey,
      params: [e(Tag.PaddingMethod, PaddingMethod.OAEP), e(Tag.HashingAlgorithm, HashingAlgorithm.SHA_256)],
    });
    const target = await aesKey(CryptographicUsageMask.Encrypt);
    const block = keyBlockOf(await get(target.uid, spec(wrapKey, { encoding: EncodingOption.NoEncoding })));
    const opened = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, child(block, Tag.KeyValue)!.value as Uint8Array);
    expect(opened.equals(target.bytes)).toBe(true);
  });

  it('serves a Sensitive key wrapped, never in clear', async () => {
    const kek = await aesKey(CryptographicUsageMask.WrapKey);
    const sensitive = await aesKey(CryptographicUsageMask.Encrypt, [attr('Sensitive', { tag: Tag.AttributeValue, type: ItemType.Boolean, value: true })]);
    expect((await get(sensitive.uid)).resultReason).toBe(ResultReason.Sensitive);
    const block = keyBlockOf(await get(sensitive.uid, spec(kek.uid)));
    expect(child(block, Tag.KeyValue)!.type).toBe(ItemType.ByteString);
  });

  it('refuses a wrapping key without Wrap Key in its usage mask, one not Active, the key itself, and what it does not serve', async () => {
    const target = await aesKey(CryptographicUsageMask.Encrypt);
    const noWrapBit = await aesKey(CryptographicUsageMask.Encrypt);
    expect((await get(target.uid, spec(noWrapBit.uid))).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await get(target.uid, spec(noWrapBit.uid), 21)).resultReason).toBe(ResultReason.IncompatibleCryptographicUsageMask);
    const preActive = await registerSymmetric(h, CryptographicAlgorithm.AES, new Uint8Array(randomBytes(32)), { mask: CryptographicUsageMask.WrapKey, active: false, params: [e(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)] });
    expect((await get(target.uid, spec(preActive))).resultStatus).toBe(ResultStatus.OperationFailed);
    const self = await aesKey(CryptographicUsageMask.WrapKey);
    expect((await get(self.uid, spec(self.uid))).resultReason).toBe(ResultReason.InvalidField);
    const kek = await aesKey(CryptographicUsageMask.WrapKey);
    expect((await get(target.uid, spec(kek.uid, { method: WrappingMethod.MACSign }))).resultReason).toBe(ResultReason.FeatureNotSupported);
    expect((await get(target.uid, spec(kek.uid, { params: [e(Tag.BlockCipherMode, BlockCipherMode.GCM)] }))).resultReason).toBe(ResultReason.FeatureNotSupported);
    expect((await get(target.uid, spec(kek.uid, { extra: [t(Tag.AttributeName, 'Name')] }))).resultReason).toBe(ResultReason.FeatureNotSupported);
  });

  it("never wraps under another tenant's key: Item Not Found, as for a key that does not exist", async () => {
    const other = await h.otherTenant();
    const bytes = randomBytes(32);
    const theirs = await registerSymmetric(h, CryptographicAlgorithm.AES, new Uint8Array(bytes), { mask: CryptographicUsageMask.WrapKey, principal: other, params: [e(Tag.BlockCipherMode, BlockCipherMode.NISTKeyWrap)] });
    const mine = await aesKey(CryptographicUsageMask.Encrypt);
    expect((await get(mine.uid, spec(theirs))).resultReason).toBe(ResultReason.ItemNotFound);
    expect((await get(mine.uid, spec('no-such-key'))).resultReason).toBe(ResultReason.ItemNotFound);
    // The audit never holds the wrapped or the clear key.
    const logged = JSON.stringify(h.audit, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? v.toString() : v));
    expect(logged).not.toContain(bytes.toString('hex'));
  });
});
