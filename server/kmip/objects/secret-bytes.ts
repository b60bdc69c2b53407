/** The plain bytes of a Symmetric Key or Secret Data object, and a Raw Secret Data object from bytes. */
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { KmipError } from '../errors.js';
import { KeyFormatType, ObjectType, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { STORAGE_CONTEXT } from '../schema.js';
import { KeyValueSchema, SecretDataSchema, SymmetricKeySchema, type KeyBlock } from './schemas.js';
import { convertSymmetricKey } from './symmetric-key.js';

function notPresent(): KmipError {
  return new KmipError(ResultReason.KeyValueNotPresent, 'the object holds no plain key value');
}

function materialBytes(block: KeyBlock): Uint8Array {
  if (block.keyWrappingData || !block.keyValue || block.keyValue.type !== ItemType.Structure) throw notPresent();
  const material = KeyValueSchema.decode(block.keyValue, STORAGE_CONTEXT).keyMaterial;
  if (material.type !== ItemType.ByteString) throw notPresent();
  return material.value;
}

/** The key bytes of a stored Symmetric Key (any format it holds) or Secret Data (Raw or Opaque). */
export function plainSecretOf(objectType: number, object: TtlvItem): Uint8Array {
  if (objectType === ObjectType.SymmetricKey) {
    if (SymmetricKeySchema.decode(object, STORAGE_CONTEXT).keyBlock.keyWrappingData) throw notPresent();
    return materialBytes(SymmetricKeySchema.decode(convertSymmetricKey(object, KeyFormatType.Raw), STORAGE_CONTEXT).keyBlock);
  }
  if (objectType === ObjectType.SecretData) return materialBytes(SecretDataSchema.decode(object, STORAGE_CONTEXT).keyBlock);
  throw new KmipError(ResultReason.InvalidObjectType, 'only Symmetric Keys and Secret Data are split here');
}

export function rawSecretDataObject(secret: Uint8Array, secretDataType: number): TtlvItem {
  return SecretDataSchema.encode(
    Tag.SecretData,
    {
      secretDataType,
      keyBlock: {
        keyFormatType: KeyFormatType.Raw,
        keyValue: KeyValueSchema.encode(Tag.KeyValue, { keyMaterial: { tag: Tag.KeyMaterial, type: ItemType.ByteString, value: secret }, attributes: [] }, STORAGE_CONTEXT),
      },
    },
    STORAGE_CONTEXT,
  );
}
