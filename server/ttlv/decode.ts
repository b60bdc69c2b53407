import { Buffer, isUtf8 } from 'node:buffer';
import { TtlvError, TtlvErrorCode } from './errors.js';
import { FIXED_LENGTH, HEADER_SIZE, ItemType, isValidTag, padded, type TtlvItem } from './types.js';

export interface DecodeLimits {
  /** Largest input accepted, in bytes. */
  readonly maxSize: number;
  /** Deepest structure nesting accepted (the top-level item is depth 1). */
  readonly maxDepth: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({ maxSize: 1024 * 1024, maxDepth: 24 });

/**
 * Decodes exactly one TTLV item that must span the whole input. Throws only TtlvError; never
 * allocates more than the input justifies (every length is checked against the bytes present).
 */
export function decodeTtlv(input: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): TtlvItem {
  if (input.length > limits.maxSize) {
    throw new TtlvError(TtlvErrorCode.TooLarge, `input of ${input.length} bytes exceeds ${limits.maxSize}`, 0);
  }
  const reader = new Reader(input, limits.maxDepth);
  const item = reader.item(0, input.length, 1);
  if (reader.pos !== input.length) {
    throw new TtlvError(TtlvErrorCode.TrailingBytes, `${input.length - reader.pos} bytes after the top-level item`, reader.pos);
  }
  return item;
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  private readonly buf: Buffer;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  item(start: number, end: number, depth: number): TtlvItem {
    if (end - start < HEADER_SIZE) {
      const code = depth === 1 ? TtlvErrorCode.Truncated : TtlvErrorCode.Overrun;
      throw new TtlvError(code, `item header needs 8 bytes, ${end - start} left in its container`, start);
    }
    const view = this.view;
    const tag = (view.getUint16(start) << 8) | view.getUint8(start + 2);
    if (!isValidTag(tag)) {
      throw new TtlvError(TtlvErrorCode.BadTag, `tag 0x${tag.toString(16).padStart(6, '0')} is outside 0x42xxxx and 0x54xxxx`, start, tag);
    }
    const type = view.getUint8(start + 3);
    const length = view.getUint32(start + 4);
    const valueStart = start + HEADER_SIZE;
    if (type < ItemType.Structure || type > ItemType.DateTimeExtended) {
      throw new TtlvError(TtlvErrorCode.BadType, `unknown item type 0x${type.toString(16)}`, start + 3, tag);
    }
    const fixed = FIXED_LENGTH[type];
    if (fixed !== undefined && length !== fixed) {
      throw new TtlvError(TtlvErrorCode.BadLength, `item type 0x${type.toString(16)} needs length ${fixed}, got ${length}`, start + 4, tag);
    }
    if (type === ItemType.Structure && length % 8 !== 0) {
      // Children are whole padded items, so a structure's length is always a multiple of 8.
      throw new TtlvError(TtlvErrorCode.BadLength, `Structure length ${length} is not a multiple of 8`, start + 4, tag);
    }
    if (type === ItemType.BigInteger && (length === 0 || length % 8 !== 0)) {
      throw new TtlvError(TtlvErrorCode.BadLength, `Big Integer length ${length} is not a positive multiple of 8`, start + 4, tag);
    }
    const paddedLength = padded(length);
    const valueEnd = valueStart + paddedLength;
    if (valueEnd > end) {
      const code = depth === 1 ? TtlvErrorCode.Truncated : TtlvErrorCode.Overrun;
      throw new TtlvError(code, `item value of ${paddedLength} bytes runs past its container (${end - valueStart} left)`, start, tag);
    }
    this.checkPadding(valueStart + length, valueEnd, tag);
    this.pos = valueEnd;
    switch (type) {
      case ItemType.Structure: {
        if (depth > this.maxDepth) {
          throw new TtlvError(TtlvErrorCode.TooDeep, `structures nested deeper than ${this.maxDepth}`, start, tag);
        }
        const children: TtlvItem[] = [];
        let p = valueStart;
        while (p < valueEnd) {
          children.push(this.item(p, valueEnd, depth + 1));
          p = this.pos;
        }
        this.pos = valueEnd;
        return { tag, type, value: children };
      }
      case ItemType.Integer:
        return { tag, type, value: view.getInt32(valueStart) };
      case ItemType.Enumeration:
        return { tag, type, value: view.getUint32(valueStart) };
      case ItemType.Interval:
        return { tag, type, value: view.getUint32(valueStart) };
      case ItemType.LongInteger:
        return { tag, type, value: view.getBigInt64(valueStart) };
      case ItemType.DateTime:
        return { tag, type, value: view.getBigInt64(valueStart) };
      case ItemType.DateTimeExtended:
        return { tag, type, value: view.getBigInt64(valueStart) };
      case ItemType.Boolean: {
        const raw = view.getBigUint64(valueStart);
        if (raw > 1n) {
          throw new TtlvError(TtlvErrorCode.BadBoolean, `Boolean value must be 0 or 1`, valueStart, tag);
        }
        return { tag, type, value: raw === 1n };
      }
      case ItemType.BigInteger:
        return { tag, type, value: this.bigInteger(valueStart, length) };
      case ItemType.TextString: {
        const slice = this.buf.subarray(valueStart, valueStart + length);
        if (!isUtf8(slice)) {
          throw new TtlvError(TtlvErrorCode.BadUtf8, 'Text String is not valid UTF-8', valueStart, tag);
        }
        return { tag, type, value: slice.toString('utf8') };
      }
      default:
        // ByteString: a plain copy (Buffer's slice would be a view), so the value never pins the
        // input buffer and never changes when the input is reused.
        const copy = new Uint8Array(length);
        copy.set(this.bytes.subarray(valueStart, valueStart + length));
        return { tag, type: ItemType.ByteString, value: copy };
    }
  }

  private checkPadding(from: number, to: number, tag: number): void {
    const bytes = this.bytes;
    for (let i = from; i < to; i++) {
      if (bytes[i] !== 0) throw new TtlvError(TtlvErrorCode.BadPadding, 'padding bytes must be zero', i, tag);
    }
  }

  private bigInteger(start: number, length: number): bigint {
    // Two's complement, big-endian. Parsed from hex in one step: folding 8-byte words in with
    // shifts costs quadratic time, and a 256 KiB value then held the event loop for a minute.
    let value = BigInt(`0x${this.buf.toString('hex', start, start + length)}`);
    if (this.bytes[start]! & 0x80) value -= 1n << BigInt(length * 8);
    return value;
  }
}
