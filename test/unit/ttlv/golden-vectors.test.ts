import { describe, expect, it } from 'vitest';
import { decodeTtlv, encodeTtlv, itemTypeName, parseHex, toHex, type TtlvItem } from '../../../server/ttlv/index.js';
import { loadKmip11Vectors } from '../../support/vectors.js';

/** Pre-order walk printed as (tag, type, length, value) tuples comparable with the vectors' readable decodings. */
function flatten(item: TtlvItem, out: string[] = []): string[] {
  const tag = `0x${item.tag.toString(16).padStart(6, '0')}`;
  const type = itemTypeName(item.type);
  switch (item.type) {
    case 0x01: {
      const length = toHex(encodeTtlv(item)).length / 2 - 8;
      out.push(`${tag} Structure ${length}`);
      for (const child of item.value) flatten(child, out);
      break;
    }
    case 0x02:
    case 0x05:
      out.push(`${tag} ${type} 4 0x${item.value.toString(16)}`);
      break;
    case 0x07:
      out.push(`${tag} ${type} ${Buffer.byteLength(item.value)} '${item.value}'`);
      break;
    case 0x08:
      out.push(`${tag} ${type} ${item.value.length} ${toHex(item.value)}`);
      break;
    case 0x09:
      out.push(`${tag} ${type} 8 ${item.value}`);
      break;
    default:
      out.push(`${tag} ${type} ? ${String(item.value)}`);
  }
  return out;
}

/** "BATCH_COUNT (0x42000d) Integer len=4 = 0x1" → "0x42000d Integer 4 0x1" */
function normalizeDecodedLine(line: string): string {
  const m = /^\w+ \((0x[0-9a-f]{6})\) (\w+) len=(\d+)(?: = (.*))?$/.exec(line);
  if (!m) throw new Error(`unparsable decoded line: ${line}`);
  const [, tag, type, len, rawValue] = m;
  let value = rawValue ?? '';
  if (type === 'Enumeration') value = value.split(' ')[0]!;
  if (type === 'DateTime') value = value.split(' ')[0]!;
  return [tag, type, len, value].filter((part) => part !== '').join(' ');
}

function expectSubsequence(actual: readonly string[], expected: readonly string[]): void {
  let i = 0;
  for (const line of expected) {
    while (i < actual.length && actual[i] !== line) i++;
    expect(i, `expected item "${line}" in order within:\n${actual.join('\n')}`).toBeLessThan(actual.length);
    i++;
  }
}

describe('golden KMIP 1.1 vectors', () => {
  const vectors = loadKmip11Vectors();

  it('has every vector of the reference file', () => {
    expect(vectors.length).toBe(6);
  });

  for (const vector of vectors) {
    const messages = [
      ['request', vector.request_hex, vector.request_decoded],
      ['response', vector.response_hex, vector.response_decoded],
    ] as const;
    for (const [kind, hex, decoded] of messages) {
      if (!hex) continue;
      it(`${vector.id} ${kind} decodes to the documented items and re-encodes byte-identical`, () => {
        const bytes = parseHex(hex);
        const item = decodeTtlv(bytes);
        expect(item.type).toBe(0x01);
        expectSubsequence(flatten(item), (decoded ?? []).map(normalizeDecodedLine));
        expect(toHex(encodeTtlv(item))).toBe(hex.toLowerCase());
      });
    }
  }
});
