/**
 * Import with Key Wrap Type Not Wrapped (1.4 §4.41, 2.1 §6.1.25): the object arrives wrapped and
 * the server unwraps it before storing it, refusing when the wrapping key is not available. This is
 * the inverse of what Get wraps (get-wrap.ts), so what one server exports wrapped another can take
 * in the clear once it holds the wrapping key: Wrapping Method Encrypt under a Symmetric Key of the
 * tenant (AES key wrap or an unauthenticated mode) or an RSA Private Key (OAEP); Encoding Option TTLV
 * (the Key Value structure was wrapped) or No Encoding (its Key Material bytes were). The unwrapping
 * key is used as Decrypt uses a key: Unwrap Key in its usage mask, in a state that may process
 * (Active, Deactivated, Compromised) and past its Process Start Date. Not served (Feature Not
 * Supported): the MAC/sign methods and MAC/Signature Key Information, as for Get.
 *
 * The unwrapped object is stored with the attributes the client gives, Sensitive False among them
 * if it likes, so whoever imports can then Get it in clear: unwrapping here is decrypting for the
 * client. That is only what the client could do itself with a key it may take out in clear (the
 * migration case: the key-encryption key was itself moved in clear). Under a key that is Sensitive
 * or not Extractable (1.4 §3.48, §3.50) it is not: a Sensitive key leaves the server wrapped under
 * such a key precisely so the client never sees it in clear, so Import refuses to unwrap under one.
 */
import { decodeTtlv, ItemType, type TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { rsaDecrypt } from '../crypto/asymmetric.js';
import { featureNotSupported, invalidField, KmipError, missingData, permissionDenied } from '../errors.js';
import { CryptographicUsageMask, EncodingOption, ObjectType, ResultReason, WrappingMethod } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { KeyBlockSchema } from '../objects/schemas.js';
import type { InferStruct } from '../schema.js';
import { asymmetricKey, asymmetricParameters, loadKeyForUse, openSymmetricStream, type CryptoParams } from './crypto-key.js';
import { EncryptionKeyInformationSchema } from './get-wrap.js';

type EncryptionKeyInformation = InferStruct<typeof EncryptionKeyInformationSchema>;

/** A Key Value decoded from unwrapped bytes is a key, not a message: small and shallow. */
const KEY_VALUE_LIMITS = { maxSize: 1 << 20, maxDepth: 8 } as const;

function children(item: TtlvItem | undefined): TtlvItem[] {
  return item?.type === ItemType.Structure ? (item.value as TtlvItem[]) : [];
}

/** The Key Block of an object that has one (keys and Secret Data), else undefined. */
function keyBlockOf(object: TtlvItem): TtlvItem | undefined {
  return children(object).find((c) => c.tag === Tag.KeyBlock);
}

export function isWrapped(object: TtlvItem): boolean {
  return children(keyBlockOf(object)).some((c) => c.tag === Tag.KeyWrappingData);
}

async function decryptUnder(ctx: OperationContext, info: EncryptionKeyInformation, iv: Uint8Array | undefined, wrapped: Uint8Array): Promise<Uint8Array> {
  const k = await loadKeyForUse(ctx, info.uniqueIdentifier, 'process', CryptographicUsageMask.UnwrapKey, info.cryptographicParameters as CryptoParams | undefined);
  // Permission Denied: the reason 2.1 §6.1.25.1 lists for Import (Sensitive and Not Extractable, Get's
  // reasons, describe the object asked for, and here that object is not the one refused).
  if (k.obj.first('Sensitive') === true || k.obj.first('Extractable') === false) {
    throw permissionDenied('the wrapping key is Sensitive or not Extractable: what it wraps cannot be imported unwrapped (import it As Registered)');
  }
  if (k.obj.objectType === ObjectType.PrivateKey) {
    return rsaDecrypt(await asymmetricKey(ctx, k, ObjectType.PrivateKey), asymmetricParameters(k.params), wrapped);
  }
  const { stream } = await openSymmetricStream(ctx, k, { encrypting: false, streamed: false, clientIv: iv });
  if (stream.plan.aead) throw featureNotSupported('an authenticated mode cannot unwrap a key: Key Wrapping Data has no field for its tag');
  return Buffer.concat([stream.update(wrapped), stream.final().data]);
}

/** The Key Value the plaintext stands for: the decoded structure (TTLV), or the bare Key Material (No Encoding). */
function keyValueFrom(plaintext: Uint8Array, encoding: number | undefined): TtlvItem {
  if (encoding === EncodingOption.NoEncoding) {
    return { tag: Tag.KeyValue, type: ItemType.Structure, value: [{ tag: Tag.KeyMaterial, type: ItemType.ByteString, value: new Uint8Array(plaintext) }] };
  }
  let decoded: TtlvItem;
  try {
    decoded = decodeTtlv(plaintext, KEY_VALUE_LIMITS);
  } catch {
    // No cause kept: the decoder's message quotes the bytes it could not read, here unwrapped key material.
    throw new KmipError(ResultReason.InvalidField, 'the unwrapped bytes are not a TTLV Key Value (wrong key, parameters or Encoding Option?)');
  }
  if (decoded.tag !== Tag.KeyValue || decoded.type !== ItemType.Structure) throw invalidField('the unwrapped bytes are not a Key Value structure');
  return decoded;
}

/**
 * `object` with its Key Value unwrapped and its Key Wrapping Data gone: the object as it was before
 * another server wrapped it. `uid` is the object being imported, which cannot unwrap itself.
 */
export async function unwrapForImport(ctx: OperationContext, object: TtlvItem, uid: string): Promise<TtlvItem> {
  const blockItem = keyBlockOf(object);
  if (!blockItem) throw invalidField('only objects with a Key Block can be wrapped');
  const block = KeyBlockSchema.decode(blockItem, { version: ctx.version });
  const data = block.keyWrappingData;
  if (!data) return object;
  if (data.wrappingMethod !== WrappingMethod.Encrypt) throw featureNotSupported('only the Encrypt wrapping method is supported');
  if (data.macSignatureKeyInformation || data.macSignature) throw featureNotSupported('MAC/Signature Key Information is not supported');
  if (!data.encryptionKeyInformation) throw missingData('the Encrypt wrapping method needs Encryption Key Information');
  const info = EncryptionKeyInformationSchema.decode(data.encryptionKeyInformation, { version: ctx.version });
  if (info.uniqueIdentifier === uid) throw invalidField('a key cannot unwrap itself');
  if (!block.keyValue || block.keyValue.type !== ItemType.ByteString) throw new KmipError(ResultReason.KeyValueNotPresent, 'a wrapped Key Value must be a Byte String');
  const plaintext = await decryptUnder(ctx, info, data.ivCounterNonce, block.keyValue.value as Uint8Array);
  try {
    const keyValue = keyValueFrom(plaintext, data.encodingOption);
    const unwrappedBlock: TtlvItem = {
      tag: Tag.KeyBlock,
      type: ItemType.Structure,
      value: children(blockItem)
        .filter((c) => c.tag !== Tag.KeyWrappingData)
        .map((c) => (c.tag === Tag.KeyValue ? keyValue : c)),
    };
    return { ...object, value: children(object).map((c) => (c === blockItem ? unwrappedBlock : c)) } as TtlvItem;
  } finally {
    plaintext.fill(0);
  }
}
