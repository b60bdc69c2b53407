/**
 * TTLV item types (KMIP 1.x §9.1.1.2, 2.x §11.23). The codec knows item types and numeric tags only;
 * KMIP names live in server/kmip.
 */
export const ItemType = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
  DateTimeExtended: 0x0b,
} as const;

export type ItemTypeCode = (typeof ItemType)[keyof typeof ItemType];

export interface StructureItem { readonly tag: number; readonly type: 0x01; readonly value: readonly TtlvItem[] }
export interface IntegerItem { readonly tag: number; readonly type: 0x02; readonly value: number }
export interface LongIntegerItem { readonly tag: number; readonly type: 0x03; readonly value: bigint }
export interface BigIntegerItem { readonly tag: number; readonly type: 0x04; readonly value: bigint }
export interface EnumerationItem { readonly tag: number; readonly type: 0x05; readonly value: number }
export interface BooleanItem { readonly tag: number; readonly type: 0x06; readonly value: boolean }
export interface TextStringItem { readonly tag: number; readonly type: 0x07; readonly value: string }
export interface ByteStringItem { readonly tag: number; readonly type: 0x08; readonly value: Uint8Array }
/** POSIX seconds, signed 64-bit. */
export interface DateTimeItem { readonly tag: number; readonly type: 0x09; readonly value: bigint }
/** Seconds, unsigned 32-bit. */
export interface IntervalItem { readonly tag: number; readonly type: 0x0a; readonly value: number }
/** POSIX microseconds, signed 64-bit (KMIP 2.0+). */
export interface DateTimeExtendedItem { readonly tag: number; readonly type: 0x0b; readonly value: bigint }

export type TtlvItem =
  | StructureItem
  | IntegerItem
  | LongIntegerItem
  | BigIntegerItem
  | EnumerationItem
  | BooleanItem
  | TextStringItem
  | ByteStringItem
  | DateTimeItem
  | IntervalItem
  | DateTimeExtendedItem;

/** The length a fixed-size item type must carry on the wire, or undefined when it varies. */
export const FIXED_LENGTH: Readonly<Record<number, number | undefined>> = {
  [ItemType.Integer]: 4,
  [ItemType.LongInteger]: 8,
  [ItemType.Enumeration]: 4,
  [ItemType.Boolean]: 8,
  [ItemType.DateTime]: 8,
  [ItemType.Interval]: 4,
  [ItemType.DateTimeExtended]: 8,
};

export const HEADER_SIZE = 8;

/** Standard tags are 0x42xxxx, extension tags 0x54xxxx; nothing else is a valid tag. */
export function isValidTag(tag: number): boolean {
  const high = tag >>> 16;
  return (high === 0x42 || high === 0x54) && tag <= 0xffffff;
}

export function padded(length: number): number {
  // Arithmetic, not bit operations: lengths come from 32-bit unsigned wire fields.
  return length + ((8 - (length % 8)) % 8);
}

export function itemTypeName(type: number): string {
  for (const [name, code] of Object.entries(ItemType)) if (code === type) return name;
  return `0x${type.toString(16).padStart(2, '0')}`;
}
