export { ItemType, HEADER_SIZE, FIXED_LENGTH, isValidTag, padded, itemTypeName } from './types.js';
export type {
  ItemTypeCode,
  TtlvItem,
  StructureItem,
  IntegerItem,
  LongIntegerItem,
  BigIntegerItem,
  EnumerationItem,
  BooleanItem,
  TextStringItem,
  ByteStringItem,
  DateTimeItem,
  IntervalItem,
  DateTimeExtendedItem,
} from './types.js';
export { TtlvError, TtlvErrorCode, isTtlvError } from './errors.js';
export type { TtlvErrorCodeValue } from './errors.js';
export { decodeTtlv, DEFAULT_DECODE_LIMITS } from './decode.js';
export type { DecodeLimits } from './decode.js';
export { encodeTtlv, encodedSize } from './encode.js';
export { FrameReader } from './frame.js';
export { formatTtlvHex, parseHex, toHex } from './hex.js';
