import { describe, expect, it } from 'vitest';
import { encodeTtlv, formatTtlvHex, parseHex, toHex } from '../../../server/ttlv/index.js';

describe('hex printer and parser', () => {
  const item = {
    tag: 0x420078,
    type: 0x01,
    value: [
      { tag: 0x42000d, type: 0x02, value: 1 },
      { tag: 0x420094, type: 0x07, value: 'abc' },
    ],
  } as const;

  it('prints one item per line, split into tag | type | length | value, children indented', () => {
    expect(formatTtlvHex(encodeTtlv(item))).toBe(
      [
        '42 00 78 | 01 | 00 00 00 20',
        '  42 00 0d | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00',
        '  42 00 94 | 07 | 00 00 00 03 | 61 62 63 00 00 00 00 00',
      ].join('\n'),
    );
  });

  it('parses its own output back to the same bytes, comments and pipes ignored', () => {
    const bytes = encodeTtlv(item);
    expect(toHex(parseHex(`# a comment\n${formatTtlvHex(bytes)}`))).toBe(toHex(bytes));
  });

  it('prints truncated or garbage input without throwing, marking what does not parse', () => {
    const text = formatTtlvHex(parseHex('42 00 78 01 00 00 00 20 42 00'));
    expect(text).toContain('??');
  });
});
