/**
 * PGP Key objects (1.4 §2.2.9, 2.1 §2.4): a PGP Key Version and a Key Block whose Key Value holds an
 * OpenPGP key export (RFC 4880), validated on Register and then kept and served exactly as registered.
 *
 * The spec asks servers to treat the Key Block as an opaque blob and leaves decomposing it into
 * Public and Private Keys to PGP-aware clients, so the OpenPGP packets are never parsed here: the
 * attributes only a parser could derive (Certificate Subject, Issuer, Digital Signature Algorithm of
 * PGP keys, 1.4 Appendix B) are not set, and Cryptographic Algorithm and Length are what the client
 * states, if it states them.
 */
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { invalidField, KmipError } from '../errors.js';
import { KeyFormatType, ResultReason } from '../generated/enums.js';
import type { Attribute } from '../model/attributes.js';
import { STORAGE_CONTEXT } from '../schema.js';
import { KeyValueSchema, PGPKeySchema, type KeyBlock } from './schemas.js';
import { sha256Digest } from './symmetric-key.js';

/** The key versions the spec says a PGP Key may hold (OpenPGP v3 and v4 keys). */
const PGP_KEY_VERSIONS: ReadonlySet<number> = new Set([3, 4]);

/**
 * An armored export carries the key, its user IDs and the certifications on them; real ones stay
 * well under this, and the bound keeps one object from filling a message and the store.
 */
export const MAX_PGP_KEY_BYTES = 256 * 1024;

/**
 * The forms the export may travel in. The spec names none: Opaque says what the server sees in it;
 * Raw is what clients that send "just the bytes" use. Neither is converted into the other on Get.
 */
const PGP_KEY_FORMATS: ReadonlySet<number> = new Set([KeyFormatType.Opaque, KeyFormatType.Raw]);

/** The Key Block of a stored or registered PGP Key. */
export function pgpKeyBlock(item: TtlvItem): KeyBlock {
  return PGPKeySchema.decode(item, STORAGE_CONTEXT).keyBlock;
}

function bounded(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length === 0) throw invalidField(`${what} is empty`);
  if (bytes.length > MAX_PGP_KEY_BYTES) throw invalidField(`${what} is ${bytes.length} bytes; this server keeps PGP keys of up to ${MAX_PGP_KEY_BYTES} bytes`);
  return bytes;
}

/** Algorithm and length from the Key Block and the client's attributes: wherever given, they must agree, and come as a pair (1.4 §4.3 Table 171). */
function statedAlgorithm(block: KeyBlock, attributes: readonly Attribute[]): Attribute[] {
  const fromAttributes = (name: string) => attributes.find((a) => a.name === name)?.value as number | undefined;
  const pick = (inBlock: number | undefined, inAttributes: number | undefined, name: string) => {
    if (inBlock !== undefined && inAttributes !== undefined && inBlock !== inAttributes) throw invalidField(`${name} in the attributes differs from the Key Block`);
    return inBlock ?? inAttributes;
  };
  const algorithm = pick(block.cryptographicAlgorithm, fromAttributes('Cryptographic Algorithm'), 'Cryptographic Algorithm');
  const length = pick(block.cryptographicLength, fromAttributes('Cryptographic Length'), 'Cryptographic Length');
  if ((algorithm === undefined) !== (length === undefined)) throw invalidField('Cryptographic Algorithm and Cryptographic Length are given together or not at all');
  if (length !== undefined && length <= 0) throw invalidField('Cryptographic Length must be positive');
  return algorithm === undefined ? [] : [
    { name: 'Cryptographic Algorithm', index: 0, value: algorithm },
    { name: 'Cryptographic Length', index: 0, value: length },
  ];
}

/**
 * Validates a PGP Key a client registers and returns the attributes the server sets from it: the
 * stated algorithm, the Digest of the export (unless it arrives wrapped) and the Key Format Type.
 */
export function pgpKeyAttributes(item: TtlvItem, attributes: readonly Attribute[]): Attribute[] {
  const { pgpKeyVersion, keyBlock } = PGPKeySchema.decode(item, STORAGE_CONTEXT);
  if (!PGP_KEY_VERSIONS.has(pgpKeyVersion)) throw invalidField(`PGP Key Version is 3 or 4, not ${pgpKeyVersion}`);
  if (!keyBlock.keyValue) throw new KmipError(ResultReason.KeyValueNotPresent, 'the PGP Key has no Key Value');
  const derived = statedAlgorithm(keyBlock, attributes);
  if (keyBlock.keyWrappingData) {
    if (keyBlock.keyValue.type !== ItemType.ByteString) throw invalidField('a wrapped Key Value is a Byte String');
    bounded(keyBlock.keyValue.value, 'the wrapped PGP key');
  } else {
    if (!PGP_KEY_FORMATS.has(keyBlock.keyFormatType)) {
      throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'a PGP Key is registered in Opaque or Raw form: its Key Material is the OpenPGP export');
    }
    if (keyBlock.keyValue.type !== ItemType.Structure) throw invalidField('an unwrapped Key Value is a Structure');
    const material = KeyValueSchema.decode(keyBlock.keyValue, STORAGE_CONTEXT).keyMaterial;
    if (material.type !== ItemType.ByteString) throw invalidField('the Key Material of a PGP Key is a Byte String');
    derived.push({ name: 'Digest', index: 0, value: { ...sha256Digest(bounded(material.value, 'the PGP key')), keyFormatType: keyBlock.keyFormatType } });
  }
  derived.push({ name: 'Key Format Type', index: 0, value: keyBlock.keyFormatType });
  return derived;
}
