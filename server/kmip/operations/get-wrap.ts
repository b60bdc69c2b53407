/**
 * Get with a Key Wrapping Specification (1.x §2.1.5 and §4.11, 2.x §2.1.5): the key block's Key Value
 * leaves the server encrypted under another key of the same tenant, and Key Wrapping Data says how.
 *
 * Served: Wrapping Method Encrypt with a Symmetric Key (AES key wrap RFC 3394 / 5649, or any
 * unauthenticated mode Encrypt serves) or an RSA Public Key (OAEP); Encoding Option TTLV (the
 * default: the whole Key Value structure is wrapped) or No Encoding (the Key Material bytes only).
 * The wrapping key is used as Encrypt would use it: Active, with Wrap Key in its usage mask, and
 * its Usage Limits count the bytes wrapped. Not served (Feature Not Supported): the MAC/sign
 * methods, MAC/Signature Key Information, Attribute Names inside the wrapped value, and
 * authenticated modes (Key Wrapping Data has no field for their tag).
 */
import { ItemType, encodeTtlv, type TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { rsaEncrypt } from '../crypto/asymmetric.js';
import { featureNotSupported, illegalOperation, KmipError, missingData } from '../errors.js';
import { CryptographicUsageMask, EncodingOption, ObjectType, ResultReason, WrappingMethod } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { KeyWrappingDataSchema } from '../objects/schemas.js';
import { enumeration, many, opt, raw, req, struct, text, type InferStruct } from '../schema.js';
import { asymmetricKey, asymmetricParameters, consumeUsage, loadKeyForUse, openSymmetricStream } from './crypto-key.js';

export const EncryptionKeyInformationSchema = struct('Encryption Key Information', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
});

const KeyWrappingSpecificationSchema = struct('Key Wrapping Specification', {
  wrappingMethod: req(Tag.WrappingMethod, enumeration('WrappingMethod')),
  encryptionKeyInformation: opt(Tag.EncryptionKeyInformation, EncryptionKeyInformationSchema),
  macSignatureKeyInformation: opt(Tag.MACSignatureKeyInformation, raw),
  attributeNames: many(Tag.AttributeName, text),
  encodingOption: opt(Tag.EncodingOption, enumeration('EncodingOption'), { since: 11 }),
});

type KeyWrappingSpecification = InferStruct<typeof KeyWrappingSpecificationSchema>;

/** The object types that travel in a Key Block, and so can be wrapped. */
const KEY_BLOCK_TYPES = new Set<number>([ObjectType.SymmetricKey, ObjectType.PublicKey, ObjectType.PrivateKey, ObjectType.SecretData, ObjectType.SplitKey, ObjectType.PGPKey]);

function children(item: TtlvItem): TtlvItem[] {
  return item.type === ItemType.Structure ? (item.value as TtlvItem[]) : [];
}

function readSpecification(ctx: OperationContext, item: TtlvItem): KeyWrappingSpecification & { encryptionKeyInformation: NonNullable<KeyWrappingSpecification['encryptionKeyInformation']> } {
  const spec = KeyWrappingSpecificationSchema.decode(item, { version: ctx.version });
  if (spec.wrappingMethod !== WrappingMethod.Encrypt) throw featureNotSupported('only the Encrypt wrapping method is supported');
  if (spec.macSignatureKeyInformation) throw featureNotSupported('MAC/Signature Key Information is not supported');
  if (spec.attributeNames.length > 0) throw featureNotSupported('wrapping attributes with the key is not supported');
  if (!spec.encryptionKeyInformation) throw missingData('the Encrypt wrapping method needs Encryption Key Information');
  return { ...spec, encryptionKeyInformation: spec.encryptionKeyInformation };
}

/** The bytes that get wrapped: the TTLV encoding of the Key Value, or with No Encoding its Key Material bytes. */
function plaintextOf(keyValue: TtlvItem, encoding: number | undefined): Uint8Array {
  if (encoding !== EncodingOption.NoEncoding) return encodeTtlv(keyValue);
  const material = children(keyValue).find((c) => c.tag === Tag.KeyMaterial);
  if (!material || material.type !== ItemType.ByteString) {
    throw new KmipError(ResultReason.EncodingOptionError, 'No Encoding needs a Key Material of bytes: ask for a Raw or other byte form, or TTLV encoding', { legacyReason: ResultReason.InvalidField });
  }
  return material.value as Uint8Array;
}

async function encryptUnder(ctx: OperationContext, uid: string, params: InferStruct<typeof CryptographicParametersSchema> | undefined, plaintext: Uint8Array): Promise<{ wrapped: Uint8Array; iv: Uint8Array | undefined }> {
  const k = await loadKeyForUse(ctx, uid, 'protect', CryptographicUsageMask.WrapKey, params);
  await consumeUsage(ctx, k, plaintext.length);
  if (k.obj.objectType === ObjectType.PublicKey) {
    const key = await asymmetricKey(ctx, k, ObjectType.PublicKey);
    return { wrapped: rsaEncrypt(key, asymmetricParameters(k.params), plaintext), iv: undefined };
  }
  const { stream, generatedIv } = await openSymmetricStream(ctx, k, { encrypting: true, streamed: false });
  if (stream.plan.aead) throw featureNotSupported('an authenticated mode cannot wrap a key: Key Wrapping Data has no field for its tag');
  return { wrapped: Buffer.concat([stream.update(plaintext), stream.final().data]), iv: generatedIv };
}

/**
 * `object` (a Symmetric Key, Private Key, … structure as Get would return it) with its Key Value
 * wrapped as `specItem` asks. The wrapping key must be another object of the tenant.
 */
export async function wrapForGet(ctx: OperationContext, specItem: TtlvItem, object: TtlvItem, objectType: number, uid: string): Promise<TtlvItem> {
  const spec = readSpecification(ctx, specItem);
  const info = spec.encryptionKeyInformation;
  if (!KEY_BLOCK_TYPES.has(objectType)) throw illegalOperation('only objects with a Key Block can be wrapped');
  if (info.uniqueIdentifier === uid) throw new KmipError(ResultReason.InvalidField, 'a key cannot wrap itself');
  const block = children(object).find((c) => c.tag === Tag.KeyBlock);
  const keyValue = block && children(block).find((c) => c.tag === Tag.KeyValue);
  if (!block || !keyValue || keyValue.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'the object has no Key Value to wrap');
  const plaintext = plaintextOf(keyValue, spec.encodingOption);
  const { wrapped, iv } = await encryptUnder(ctx, info.uniqueIdentifier, info.cryptographicParameters, plaintext);
  if (spec.encodingOption !== EncodingOption.NoEncoding) plaintext.fill(0);
  const wrappingData = KeyWrappingDataSchema.encode(
    Tag.KeyWrappingData,
    {
      wrappingMethod: spec.wrappingMethod,
      encryptionKeyInformation: EncryptionKeyInformationSchema.encode(Tag.EncryptionKeyInformation, info, { version: ctx.version }),
      ivCounterNonce: iv,
      encodingOption: spec.encodingOption,
    },
    { version: ctx.version },
  );
  const wrappedBlock: TtlvItem = {
    tag: Tag.KeyBlock,
    type: ItemType.Structure,
    value: [...children(block).map((c) => (c === keyValue ? { tag: Tag.KeyValue, type: ItemType.ByteString, value: wrapped } : c)), wrappingData],
  };
  return { ...object, value: children(object).map((c) => (c === block ? wrappedBlock : c)) } as TtlvItem;
}
