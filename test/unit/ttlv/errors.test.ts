import { describe, expect, it } from 'vitest';
import {
  decodeTtlv,
  encodeTtlv,
  FrameReader,
  parseHex,
  TtlvError,
  TtlvErrorCode,
  type TtlvErrorCodeValue,
  type TtlvItem,
} from '../../../server/ttlv/index.js';

function decodeError(hex: string, limits?: { maxSize: number; maxDepth: number }): TtlvError {
  try {
    decodeTtlv(parseHex(hex), limits);
  } catch (err) {
    expect(err).toBeInstanceOf(TtlvError);
    return err as TtlvError;
  }
  throw new Error('expected the input to be rejected');
}

function encodeError(item: TtlvItem): TtlvError {
  try {
    encodeTtlv(item);
  } catch (err) {
    expect(err).toBeInstanceOf(TtlvError);
    return err as TtlvError;
  }
  throw new Error('expected the item to be rejected');
}

// One minimal malformed input per decoder error code, with the offset the error must name.
const decodeCases: ReadonlyArray<{ code: TtlvErrorCodeValue; why: string; hex: string; offset: number }> = [
  { code: TtlvErrorCode.Truncated, why: 'header shorter than 8 bytes', hex: '42 00 01 02 00 00', offset: 0 },
  { code: TtlvErrorCode.Truncated, why: 'value shorter than its length', hex: '42 00 01 | 02 | 00 00 00 04 | 00 00 00 01', offset: 0 },
  { code: TtlvErrorCode.BadTag, why: 'tag outside 0x42/0x54 ranges', hex: '43 00 01 | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 0 },
  { code: TtlvErrorCode.BadType, why: 'item type 0x0C', hex: '42 00 01 | 0c | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 3 },
  { code: TtlvErrorCode.BadType, why: 'item type 0x00', hex: '42 00 01 | 00 | 00 00 00 00', offset: 3 },
  { code: TtlvErrorCode.BadLength, why: 'Integer of length 8', hex: '42 00 01 | 02 | 00 00 00 08 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Long Integer of length 4', hex: '42 00 01 | 03 | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Enumeration of length 8', hex: '42 00 01 | 05 | 00 00 00 08 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Boolean of length 4', hex: '42 00 01 | 06 | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Date-Time of length 4', hex: '42 00 01 | 09 | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Interval of length 8', hex: '42 00 01 | 0a | 00 00 00 08 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Date-Time Extended of length 4', hex: '42 00 01 | 0b | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Big Integer of length 4', hex: '42 00 01 | 04 | 00 00 00 04 | 00 00 00 01 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadLength, why: 'Big Integer of length 0', hex: '42 00 01 | 04 | 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.BadPadding, why: 'Integer with non-zero padding', hex: '42 00 01 | 02 | 00 00 00 04 | 00 00 00 01 00 00 01 00', offset: 14 },
  { code: TtlvErrorCode.BadPadding, why: 'Text String with non-zero padding', hex: '42 00 01 | 07 | 00 00 00 01 | 41 00 00 00 00 00 00 ff', offset: 15 },
  { code: TtlvErrorCode.BadBoolean, why: 'Boolean value 2', hex: '42 00 01 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02', offset: 8 },
  { code: TtlvErrorCode.BadUtf8, why: 'Text String with a lone continuation byte', hex: '42 00 01 | 07 | 00 00 00 01 | 80 00 00 00 00 00 00 00', offset: 8 },
  { code: TtlvErrorCode.BadUtf8, why: 'Text String with an overlong encoding', hex: '42 00 01 | 07 | 00 00 00 02 | c0 af 00 00 00 00 00 00', offset: 8 },
  {
    code: TtlvErrorCode.Overrun,
    why: 'a child that runs past its structure',
    hex: '42 00 01 | 01 | 00 00 00 10 | 42 00 02 | 07 | 00 00 00 10 | 41 41 41 41 41 41 41 41 | 42 00 03 | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00',
    offset: 8,
  },
  { code: TtlvErrorCode.BadLength, why: 'Structure length not a multiple of 8', hex: '42 00 01 | 01 | 00 00 00 04 | 00 00 00 00 00 00 00 00', offset: 4 },
  { code: TtlvErrorCode.TrailingBytes, why: 'bytes after the top-level item', hex: '42 00 01 | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00 | 42', offset: 16 },
];

describe('TtlvError codes on decode', () => {
  for (const c of decodeCases) {
    it(`${c.code}: ${c.why}`, () => {
      const err = decodeError(c.hex);
      expect(err.code).toBe(c.code);
      expect(err.offset).toBe(c.offset);
    });
  }

  it(`${TtlvErrorCode.TooDeep}: nesting beyond the depth limit`, () => {
    // Three nested structures: accepted with a limit of three, refused with two (at the third).
    const hex = '42 00 01 | 01 | 00 00 00 10 | 42 00 02 | 01 | 00 00 00 08 | 42 00 03 | 01 | 00 00 00 00';
    expect(() => decodeTtlv(parseHex(hex), { maxSize: 1024, maxDepth: 3 })).not.toThrow();
    const err = decodeError(hex, { maxSize: 1024, maxDepth: 2 });
    expect(err.code).toBe(TtlvErrorCode.TooDeep);
    expect(err.offset).toBe(16);
  });

  it(`${TtlvErrorCode.TooLarge}: input larger than the size limit`, () => {
    const err = decodeError('42 00 01 | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00', { maxSize: 15, maxDepth: 8 });
    expect(err.code).toBe(TtlvErrorCode.TooLarge);
  });

  it(`${TtlvErrorCode.TooLarge}: the framer refuses a header claiming 4 GiB before buffering`, () => {
    const framer = new FrameReader(1024 * 1024);
    expect(() => framer.push(parseHex('42 00 78 | 01 | ff ff ff f8'))).toThrowError(
      expect.objectContaining({ code: TtlvErrorCode.TooLarge }),
    );
    expect(framer.pendingBytes).toBe(0);
  });

  it('the error names the tag of the offending item', () => {
    const err = decodeError('42 00 01 | 01 | 00 00 00 10 | 42 00 99 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 07');
    expect(err.code).toBe(TtlvErrorCode.BadBoolean);
    expect(err.tag).toBe(0x420099);
  });
});

describe('TtlvError codes on encode and hex parsing', () => {
  it(`${TtlvErrorCode.BadValue}: Integer outside signed 32-bit`, () => {
    expect(encodeError({ tag: 0x420001, type: 0x02, value: 2 ** 31 }).code).toBe(TtlvErrorCode.BadValue);
  });
  it(`${TtlvErrorCode.BadValue}: Enumeration that is negative`, () => {
    expect(encodeError({ tag: 0x420001, type: 0x05, value: -1 }).code).toBe(TtlvErrorCode.BadValue);
  });
  it(`${TtlvErrorCode.BadValue}: Long Integer outside signed 64-bit`, () => {
    expect(encodeError({ tag: 0x420001, type: 0x03, value: 1n << 63n }).code).toBe(TtlvErrorCode.BadValue);
  });
  it(`${TtlvErrorCode.BadValue}: Text String with a lone surrogate`, () => {
    expect(encodeError({ tag: 0x420001, type: 0x07, value: 'a\ud800b' }).code).toBe(TtlvErrorCode.BadValue);
  });
  it(`${TtlvErrorCode.BadTag}: encoding a tag outside the valid ranges`, () => {
    expect(encodeError({ tag: 0x100001, type: 0x02, value: 1 }).code).toBe(TtlvErrorCode.BadTag);
  });
  it(`${TtlvErrorCode.BadHex}: odd digit count and non-hex characters`, () => {
    expect(() => parseHex('420')).toThrowError(expect.objectContaining({ code: TtlvErrorCode.BadHex }));
    expect(() => parseHex('42 0g')).toThrowError(expect.objectContaining({ code: TtlvErrorCode.BadHex }));
  });
});

describe('every TtlvError code has a test above', () => {
  it('lists no code that is not exercised', () => {
    const exercised = new Set<string>([
      ...decodeCases.map((c) => c.code),
      TtlvErrorCode.TooDeep,
      TtlvErrorCode.TooLarge,
      TtlvErrorCode.BadValue,
      TtlvErrorCode.BadHex,
      TtlvErrorCode.BadTag,
    ]);
    expect([...Object.values(TtlvErrorCode)].filter((code) => !exercised.has(code))).toEqual([]);
  });
});
