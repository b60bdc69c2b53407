/** Symmetric key generation and the Raw / Transparent Symmetric Key forms of its Key Block. */
import { createHash } from 'node:crypto';
import { randomBytesPooled } from '../../util/random-pool.js';
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { invalidField, KmipError } from '../errors.js';
import { CryptographicAlgorithm, HashingAlgorithm, KeyFormatType, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { DigestValue } from '../model/attribute-values.js';
import { STORAGE_CONTEXT } from '../schema.js';
import { KeyValueSchema, SymmetricKeySchema, TransparentSymmetricKeySchema, type KeyBlock } from './schemas.js';

const HMAC = new Set<number>([
  CryptographicAlgorithm.HMAC_SHA1,
  CryptographicAlgorithm.HMAC_SHA224,
  CryptographicAlgorithm.HMAC_SHA256,
  CryptographicAlgorithm.HMAC_SHA384,
  CryptographicAlgorithm.HMAC_SHA512,
  CryptographicAlgorithm.HMAC_SHA3_224,
  CryptographicAlgorithm.HMAC_SHA3_256,
  CryptographicAlgorithm.HMAC_SHA3_384,
  CryptographicAlgorithm.HMAC_SHA3_512,
]);

/** Lengths in bits we generate, per algorithm; HMAC keys take any whole number of bytes from 128 to 4096 bits. */
export function validSymmetricLength(algorithm: number, bits: number): boolean {
  switch (algorithm) {
    case CryptographicAlgorithm.AES:
      return bits === 128 || bits === 192 || bits === 256;
    case CryptographicAlgorithm.DES3:
      return bits === 168 || bits === 192;
    case CryptographicAlgorithm.ChaCha20:
      return bits === 256;
    default:
      return HMAC.has(algorithm) && bits % 8 === 0 && bits >= 128 && bits <= 4096;
  }
}

/** The lengths an algorithm has, as a message states them. */
function validLengthsText(algorithm: number, origin: 'create' | 'register'): string {
  switch (algorithm) {
    case CryptographicAlgorithm.AES:
      return 'AES keys are 128, 192 or 256 bits';
    case CryptographicAlgorithm.DES3:
      return '3DES keys are 168 or 192 bits (24 bytes with parity)';
    case CryptographicAlgorithm.ChaCha20:
      return 'ChaCha20 keys are 256 bits';
    default:
      return origin === 'create' ? 'HMAC keys are made from 128 to 4096 bits, in whole bytes' : 'HMAC keys are a whole number of bytes';
  }
}

/**
 * Why `bits` is not a length `algorithm` has, or undefined when it is. Create makes the lengths
 * validSymmetricLength lists; Register takes the same for AES, 3DES and ChaCha20, and an HMAC key of
 * any whole number of bytes (RFC 2104 allows any key length; a client may bring one made elsewhere).
 * Algorithms the server does not make keys for only need a positive length.
 */
export function symmetricLengthProblem(algorithm: number, bits: number, origin: 'create' | 'register'): string | undefined {
  if (!Number.isInteger(bits) || bits <= 0) return `Cryptographic Length ${bits} is not a length`;
  if (!isSupportedSymmetricAlgorithm(algorithm)) return undefined;
  const valid = origin === 'register' && HMAC.has(algorithm) ? bits % 8 === 0 : validSymmetricLength(algorithm, bits);
  return valid ? undefined : `Cryptographic Length ${bits} is not valid for this algorithm: ${validLengthsText(algorithm, origin)}`;
}

export function isSupportedSymmetricAlgorithm(algorithm: number): boolean {
  return algorithm === CryptographicAlgorithm.AES || algorithm === CryptographicAlgorithm.DES3 || algorithm === CryptographicAlgorithm.ChaCha20 || HMAC.has(algorithm);
}

/** Bytes of key material for an algorithm and length (3DES keys carry parity bits: 168 bits in 24 bytes). */
export function materialLength(algorithm: number, bits: number): number {
  return algorithm === CryptographicAlgorithm.DES3 ? 24 : bits / 8;
}

function setOddParity(key: Buffer): void {
  for (let i = 0; i < key.length; i++) {
    let b = key[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v; v >>= 1) ones += v & 1;
    if (ones % 2 === 0) b |= 1;
    key[i] = b;
  }
}

export function generateSymmetricKey(algorithm: number, bits: number): Uint8Array {
  if (!isSupportedSymmetricAlgorithm(algorithm)) throw invalidField('Cryptographic Algorithm is not supported for symmetric keys');
  const problem = symmetricLengthProblem(algorithm, bits, 'create');
  if (problem) throw invalidField(problem);
  const key = randomBytesPooled(materialLength(algorithm, bits));
  if (algorithm === CryptographicAlgorithm.DES3) setOddParity(key);
  return new Uint8Array(key);
}

/** The stored (and default Get) form: a Symmetric Key with a Raw Key Block. */
export function rawSymmetricKeyObject(material: Uint8Array, algorithm: number, bits: number): TtlvItem {
  return SymmetricKeySchema.encode(
    Tag.SymmetricKey,
    {
      keyBlock: {
        keyFormatType: KeyFormatType.Raw,
        keyValue: KeyValueSchema.encode(Tag.KeyValue, { keyMaterial: { tag: Tag.KeyMaterial, type: ItemType.ByteString, value: material }, attributes: [] }, STORAGE_CONTEXT),
        cryptographicAlgorithm: algorithm,
        cryptographicLength: bits,
      },
    },
    STORAGE_CONTEXT,
  );
}

export function sha256Digest(material: Uint8Array): DigestValue {
  return {
    hashingAlgorithm: HashingAlgorithm.SHA_256,
    digestValue: new Uint8Array(createHash('sha256').update(material).digest()),
    keyFormatType: KeyFormatType.Raw,
  };
}

function keyBytes(block: KeyBlock): Uint8Array {
  const keyValue = block.keyValue;
  if (!keyValue || keyValue.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
  const material = KeyValueSchema.decode(keyValue, STORAGE_CONTEXT).keyMaterial;
  if (block.keyFormatType === KeyFormatType.Raw && material.type === ItemType.ByteString) return material.value;
  if (block.keyFormatType === KeyFormatType.TransparentSymmetricKey && material.type === ItemType.Structure) {
    return TransparentSymmetricKeySchema.decode({ ...material, tag: Tag.KeyMaterial }, STORAGE_CONTEXT).key;
  }
  throw invalidField('Key Material does not match its Key Format Type');
}

/** Converts a Symmetric Key object to the requested Key Format Type (Raw or Transparent Symmetric Key). */
export function convertSymmetricKey(object: TtlvItem, format: number): TtlvItem {
  const { keyBlock } = SymmetricKeySchema.decode(object, STORAGE_CONTEXT);
  if (keyBlock.keyFormatType === format) return object;
  if (format !== KeyFormatType.Raw && format !== KeyFormatType.TransparentSymmetricKey) {
    throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'key format type not supported for this object');
  }
  const key = keyBytes(keyBlock);
  const keyMaterial: TtlvItem =
    format === KeyFormatType.Raw
      ? { tag: Tag.KeyMaterial, type: ItemType.ByteString, value: key }
      : TransparentSymmetricKeySchema.encode(Tag.KeyMaterial, { key }, STORAGE_CONTEXT);
  return SymmetricKeySchema.encode(
    Tag.SymmetricKey,
    { keyBlock: { ...keyBlock, keyFormatType: format, keyValue: KeyValueSchema.encode(Tag.KeyValue, { keyMaterial, attributes: [] }, STORAGE_CONTEXT) } },
    STORAGE_CONTEXT,
  );
}

