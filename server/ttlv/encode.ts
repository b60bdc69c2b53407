import { Buffer } from 'node:buffer';
import { TtlvError, TtlvErrorCode } from './errors.js';
import { HEADER_SIZE, ItemType, isValidTag, padded, type TtlvItem } from './types.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Encodes one item (and its children) into a new buffer: one sizing pass, one allocation, one write pass. */
export function encodeTtlv(item: TtlvItem): Uint8Array {
  // allocUnsafe is safe here: write() fills every byte, padding included.
  const out = Buffer.allocUnsafe(encodedSize(item));
  const end = write(out, 0, item);
  return end === out.length ? out : out.subarray(0, end);
}

/** Bytes the item takes on the wire, header and padding included; validates values on the way. */
export function encodedSize(item: TtlvItem): number {
  if (!isValidTag(item.tag)) {
    throw new TtlvError(TtlvErrorCode.BadTag, `tag 0x${item.tag.toString(16)} is outside 0x42xxxx and 0x54xxxx`, -1, item.tag);
  }
  switch (item.type) {
    case ItemType.Structure: {
      let size = HEADER_SIZE;
      for (const child of item.value) size += encodedSize(child);
      return size;
    }
    case ItemType.Integer:
      checkRange(Number.isInteger(item.value) && item.value >= INT32_MIN && item.value <= INT32_MAX, item.tag, 'Integer outside signed 32-bit');
      return 16;
    case ItemType.Enumeration:
    case ItemType.Interval:
      checkRange(Number.isInteger(item.value) && item.value >= 0 && item.value <= UINT32_MAX, item.tag, 'value outside unsigned 32-bit');
      return 16;
    case ItemType.LongInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      checkRange(typeof item.value === 'bigint' && item.value >= INT64_MIN && item.value <= INT64_MAX, item.tag, 'value outside signed 64-bit');
      return 16;
    case ItemType.Boolean:
      return 16;
    case ItemType.BigInteger:
      return HEADER_SIZE + bigIntegerLength(item.value);
    case ItemType.TextString:
      checkRange(item.value.isWellFormed(), item.tag, 'Text String has lone surrogates and is not encodable as UTF-8');
      return HEADER_SIZE + padded(Buffer.byteLength(item.value, 'utf8'));
    case ItemType.ByteString:
      return HEADER_SIZE + padded(item.value.length);
    default:
      throw new TtlvError(TtlvErrorCode.BadType, `unknown item type ${String((item as { type: unknown }).type)}`, -1);
  }
}

function checkRange(ok: boolean, tag: number, message: string): void {
  if (!ok) throw new TtlvError(TtlvErrorCode.BadValue, message, -1, tag);
}

/** Smallest multiple of 8 bytes that holds the value in two's complement. */
function bigIntegerLength(value: bigint): number {
  const magnitude = value < 0n ? -value - 1n : value;
  const hex = magnitude.toString(16);
  const bitsNeeded = (hex.length - 1) * 4 + parseInt(hex[0]!, 16).toString(2).length + 1; // plus sign bit
  return Math.max(8, Math.ceil(bitsNeeded / 64) * 8);
}

function writeHeader(out: Buffer, at: number, tag: number, type: number, length: number): void {
  // Byte by byte: several times faster than writeUIntBE/writeUInt32BE on this hot path.
  out[at] = tag >>> 16;
  out[at + 1] = (tag >>> 8) & 0xff;
  out[at + 2] = tag & 0xff;
  out[at + 3] = type;
  out[at + 4] = length >>> 24;
  out[at + 5] = (length >>> 16) & 0xff;
  out[at + 6] = (length >>> 8) & 0xff;
  out[at + 7] = length & 0xff;
}

/** Zero-fills from `end` to the next multiple of 8; returns that boundary. */
function zeroPad(out: Buffer, end: number): number {
  const boundary = padded(end);
  out.fill(0, end, boundary);
  return boundary;
}

function write(out: Buffer, at: number, item: TtlvItem): number {
  const v = at + HEADER_SIZE;
  switch (item.type) {
    case ItemType.Structure: {
      let p = v;
      for (const child of item.value) p = write(out, p, child);
      writeHeader(out, at, item.tag, item.type, p - v);
      return p;
    }
    case ItemType.Integer:
      writeHeader(out, at, item.tag, item.type, 4);
      out.writeInt32BE(item.value, v);
      out.writeUInt32BE(0, v + 4);
      return v + 8;
    case ItemType.Enumeration:
    case ItemType.Interval:
      writeHeader(out, at, item.tag, item.type, 4);
      out.writeUInt32BE(item.value, v);
      out.writeUInt32BE(0, v + 4);
      return v + 8;
    case ItemType.LongInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      writeHeader(out, at, item.tag, item.type, 8);
      out.writeBigInt64BE(item.value, v);
      return v + 8;
    case ItemType.Boolean:
      writeHeader(out, at, item.tag, item.type, 8);
      out.writeBigUInt64BE(item.value ? 1n : 0n, v);
      return v + 8;
    case ItemType.BigInteger: {
      const length = bigIntegerLength(item.value);
      writeHeader(out, at, item.tag, item.type, length);
      // Two's complement written from hex in one step: peeling 64 bits off at a time is quadratic.
      out.write(BigInt.asUintN(length * 8, item.value).toString(16).padStart(length * 2, '0'), v, length, 'hex');
      return v + length;
    }
    case ItemType.TextString: {
      const length = out.write(item.value, v, 'utf8');
      writeHeader(out, at, item.tag, item.type, length);
      return zeroPad(out, v + length);
    }
    case ItemType.ByteString:
      writeHeader(out, at, item.tag, item.type, item.value.length);
      out.set(item.value, v);
      return zeroPad(out, v + item.value.length);
  }
}
