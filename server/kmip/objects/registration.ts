/**
 * What Register accepts for each object type: validation of the object the client sent, the
 * attributes the server derives from it, and the form it is stored in (exactly as registered, so
 * Get returns it byte for byte unless the client asks for another format).
 */
import { createHash } from 'node:crypto';
import { encodeTtlv, ItemType, type TtlvItem } from '../../ttlv/index.js';
import { invalidField, KmipError } from '../errors.js';
import { HashingAlgorithm, KeyFormatType, ObjectType, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { Attribute } from '../model/attributes.js';
import type { DigestValue } from '../model/attribute-values.js';
import { STORAGE_CONTEXT, type CodecContext } from '../schema.js';
import { algorithmMatches, describeKey, readKey } from './asymmetric-key.js';
import { certificateAttributes } from './certificate.js';
import { certificateRequestAttributes } from './certificate-request.js';
import { pgpKeyAttributes } from './pgp-key.js';
import { registerSplitKey } from './split-key.js';
import { CertificateSchema, KeyValueSchema, OpaqueObjectSchema, PrivateKeySchema, PublicKeySchema, SecretDataSchema, SymmetricKeySchema, TransparentSymmetricKeySchema, type KeyBlock } from './schemas.js';
import { isSupportedSymmetricAlgorithm, materialLength, symmetricLengthProblem } from './symmetric-key.js';
import { templateNames } from './template.js';

export interface Registration {
  /** The object item as stored and served. */
  readonly object: TtlvItem;
  /** Attributes the server sets from the object itself. */
  readonly derived: Attribute[];
}

/** The tag that carries each object type in Register and Get payloads. */
export const OBJECT_TAGS: Readonly<Record<number, number>> = {
  [ObjectType.SymmetricKey]: Tag.SymmetricKey,
  [ObjectType.PublicKey]: Tag.PublicKey,
  [ObjectType.PrivateKey]: Tag.PrivateKey,
  [ObjectType.SecretData]: Tag.SecretData,
  [ObjectType.OpaqueObject]: Tag.OpaqueObject,
  [ObjectType.Certificate]: Tag.Certificate,
  [ObjectType.SplitKey]: Tag.SplitKey,
  [ObjectType.PGPKey]: Tag.PGPKey,
  [ObjectType.Template]: Tag.Template,
  [ObjectType.CertificateRequest]: Tag.CertificateRequest,
};

export const REGISTERABLE_TYPES: readonly number[] = [ObjectType.Certificate, ObjectType.SymmetricKey, ObjectType.PublicKey, ObjectType.PrivateKey, ObjectType.SecretData, ObjectType.OpaqueObject, ObjectType.SplitKey, ObjectType.PGPKey, ObjectType.Template, ObjectType.CertificateRequest];

function digest(bytes: Uint8Array, keyFormatType?: number): Attribute {
  const value: DigestValue = {
    hashingAlgorithm: HashingAlgorithm.SHA_256,
    digestValue: new Uint8Array(createHash('sha256').update(bytes).digest()),
    ...(keyFormatType !== undefined ? { keyFormatType } : {}),
  };
  return { name: 'Digest', index: 0, value };
}

const attr = (name: string, value: unknown): Attribute => ({ name, index: 0, value });

/** The bytes a Digest covers: raw key bytes, or the encoded Key Material of structured forms. */
function materialBytes(block: KeyBlock): Uint8Array | undefined {
  if (block.keyWrappingData || !block.keyValue || block.keyValue.type !== ItemType.Structure) return undefined;
  const material = KeyValueSchema.decode(block.keyValue, STORAGE_CONTEXT).keyMaterial;
  if (material.type === ItemType.ByteString) return material.value;
  if (material.type === ItemType.Structure) return encodeTtlv({ ...material, tag: Tag.KeyMaterial });
  throw invalidField('Key Material must be a Byte String or a Structure');
}

/** Algorithm and length from the key block and the client's attributes, which must agree. */
function statedAlgorithm(block: KeyBlock, attributes: readonly Attribute[]): { algorithm?: number; length?: number } {
  const fromAttrs = (name: string) => attributes.find((a) => a.name === name)?.value as number | undefined;
  const pick = (inBlock: number | undefined, inAttrs: number | undefined, what: string) => {
    if (inBlock !== undefined && inAttrs !== undefined && inBlock !== inAttrs) throw invalidField(`${what} in the attributes differs from the Key Block`);
    return inBlock ?? inAttrs;
  };
  const algorithm = pick(block.cryptographicAlgorithm, fromAttrs('Cryptographic Algorithm'), 'Cryptographic Algorithm');
  const length = pick(block.cryptographicLength, fromAttrs('Cryptographic Length'), 'Cryptographic Length');
  return { ...(algorithm !== undefined ? { algorithm } : {}), ...(length !== undefined ? { length } : {}) };
}

function symmetricKey(item: TtlvItem, attributes: readonly Attribute[]): Registration {
  const { keyBlock } = SymmetricKeySchema.decode(item, STORAGE_CONTEXT);
  const { algorithm, length } = statedAlgorithm(keyBlock, attributes);
  if (algorithm === undefined || length === undefined) throw invalidField('a symmetric key needs its Cryptographic Algorithm and Length (in the Key Block or the attributes)');
  const lengthProblem = symmetricLengthProblem(algorithm, length, 'register');
  if (lengthProblem) throw invalidField(lengthProblem);
  const derived = [attr('Cryptographic Algorithm', algorithm), attr('Cryptographic Length', length)];
  if (!keyBlock.keyWrappingData) {
    if (keyBlock.keyFormatType !== KeyFormatType.Raw && keyBlock.keyFormatType !== KeyFormatType.TransparentSymmetricKey) {
      throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'symmetric keys are registered in Raw or Transparent Symmetric Key form');
    }
    const material = KeyValueSchema.decode(keyValueOf(keyBlock), STORAGE_CONTEXT).keyMaterial;
    const key =
      keyBlock.keyFormatType === KeyFormatType.Raw
        ? material.type === ItemType.ByteString
          ? material.value
          : undefined
        : material.type === ItemType.Structure
          ? TransparentSymmetricKeySchema.decode({ ...material, tag: Tag.KeyMaterial }, STORAGE_CONTEXT).key
          : undefined;
    if (!key) throw invalidField('Key Material does not match its Key Format Type');
    // The material must be as long as the declared length says: for the algorithms the server knows
    // (3DES: 24 bytes with parity), and for any other whenever the length is in whole bytes.
    const expected = isSupportedSymmetricAlgorithm(algorithm) ? materialLength(algorithm, length) : length % 8 === 0 ? length / 8 : undefined;
    if (expected !== undefined && key.length !== expected) {
      throw invalidField(`the key is ${key.length} bytes, not the ${expected} bytes its Cryptographic Length ${length} says`);
    }
    derived.push(digest(key, KeyFormatType.Raw));
  }
  derived.push(attr('Key Format Type', keyBlock.keyFormatType));
  return { object: item, derived };
}

function keyValueOf(block: KeyBlock): TtlvItem {
  if (!block.keyValue || block.keyValue.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
  return block.keyValue;
}

function asymmetricKey(objectType: number, item: TtlvItem, attributes: readonly Attribute[]): Registration {
  const schema = objectType === ObjectType.PrivateKey ? PrivateKeySchema : PublicKeySchema;
  const { keyBlock } = schema.decode(item, STORAGE_CONTEXT);
  const stated = statedAlgorithm(keyBlock, attributes);
  const derived: Attribute[] = [];
  const key = keyBlock.keyWrappingData ? undefined : readKey(objectType, keyBlock);
  if (key) {
    if (key.type !== (objectType === ObjectType.PrivateKey ? 'private' : 'public')) throw invalidField('the key does not match the Object Type');
    const actual = describeKey(key);
    if (stated.algorithm !== undefined && !algorithmMatches(stated.algorithm, actual.algorithm)) throw invalidField('Cryptographic Algorithm does not match the key');
    if (stated.length !== undefined && stated.length !== actual.length) throw invalidField('Cryptographic Length does not match the key');
    derived.push(attr('Cryptographic Algorithm', stated.algorithm ?? actual.algorithm), attr('Cryptographic Length', actual.length));
  } else {
    if (stated.algorithm !== undefined) derived.push(attr('Cryptographic Algorithm', stated.algorithm));
    if (stated.length !== undefined) derived.push(attr('Cryptographic Length', stated.length));
  }
  const bytes = materialBytes(keyBlock);
  if (bytes) derived.push(digest(bytes, keyBlock.keyFormatType));
  derived.push(attr('Key Format Type', keyBlock.keyFormatType));
  return { object: item, derived };
}

function secretData(item: TtlvItem): Registration {
  const { keyBlock } = SecretDataSchema.decode(item, STORAGE_CONTEXT);
  if (!keyBlock.keyWrappingData && keyBlock.keyFormatType !== KeyFormatType.Raw && keyBlock.keyFormatType !== KeyFormatType.Opaque) {
    throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'secret data is registered in Raw or Opaque form');
  }
  const bytes = materialBytes(keyBlock);
  return { object: item, derived: [...(bytes ? [digest(bytes, keyBlock.keyFormatType)] : []), attr('Key Format Type', keyBlock.keyFormatType)] };
}

function opaqueObject(item: TtlvItem): Registration {
  const o = OpaqueObjectSchema.decode(item, STORAGE_CONTEXT);
  return { object: item, derived: [digest(o.opaqueDataValue)] };
}

function certificate(item: TtlvItem): Registration {
  const c = CertificateSchema.decode(item, STORAGE_CONTEXT);
  return { object: item, derived: [...certificateAttributes(c.certificateType, c.certificateValue), digest(c.certificateValue)] };
}

/**
 * Asynchronous for a Split Key only: a client's Prime Field Size is tested for primality on the libuv
 * thread pool (split-key.ts), off the event loop; every other type is checked at once.
 */
export async function register(
  objectType: number,
  item: TtlvItem | undefined,
  attributes: readonly Attribute[],
  /** The client's version: what a Template may hold depends on it. */
  ctx: CodecContext = STORAGE_CONTEXT,
): Promise<Registration> {
  if (!REGISTERABLE_TYPES.includes(objectType)) throw new KmipError(ResultReason.InvalidObjectType, 'this object type cannot be registered here');
  if (!item || item.tag !== OBJECT_TAGS[objectType]) throw invalidField('the object does not match the Object Type');
  switch (objectType) {
    case ObjectType.SymmetricKey:
      return symmetricKey(item, attributes);
    case ObjectType.PublicKey:
    case ObjectType.PrivateKey:
      return asymmetricKey(objectType, item, attributes);
    case ObjectType.SecretData:
      return secretData(item);
    case ObjectType.OpaqueObject:
      return opaqueObject(item);
    case ObjectType.SplitKey:
      return registerSplitKey(item, attributes);
    case ObjectType.PGPKey:
      return { object: item, derived: pgpKeyAttributes(item, attributes) };
    case ObjectType.Template:
      return { object: item, derived: templateNames(item, attributes, ctx) };
    case ObjectType.CertificateRequest:
      return { object: item, derived: certificateRequestAttributes(item, ctx) };
    default:
      return certificate(item);
  }
}
