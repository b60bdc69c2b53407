/** Malformed or hostile JSON is a KmipError with Invalid Message, never another exception or a hang. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KmipError } from '../../../../server/kmip/errors.js';
import { ResultReason } from '../../../../server/kmip/generated/enums.js';
import { decodeJson, encodeJson } from '../../../../server/kmip/json/index.js';
import { treeArb } from '../../../support/ttlv-arbitraries.js';

const ci = process.env['CI'] === 'true';
const MUTATIONS = ci ? 20_000 : 3_000;
const SMALL = { maxChars: 1 << 20, maxDepth: 32, maxItems: 10_000 };

function rejected(json: string, limits = SMALL): KmipError {
  try {
    decodeJson(json, { limits });
  } catch (error) {
    expect(error).toBeInstanceOf(KmipError);
    expect((error as KmipError).reason).toBe(ResultReason.InvalidMessage);
    return error as KmipError;
  }
  throw new Error(`accepted: ${json.slice(0, 80)}`);
}

function decodesOrRejects(json: string): void {
  try {
    decodeJson(json, { limits: SMALL });
  } catch (error) {
    if (!(error instanceof KmipError) || error.reason !== ResultReason.InvalidMessage) throw error;
  }
}

const item = (o: Record<string, unknown>) => JSON.stringify(o);

describe('JSON encoding: malformed input', () => {
  it.each([
    ['empty text', ''],
    ['not JSON', '{"tag": '],
    ['trailing garbage', '{"tag":"BatchCount","type":"Integer","value":1} x'],
    ['an array at the top', '[]'],
    ['a number at the top', '1'],
    ['null', 'null'],
    ['unknown member', item({ tag: 'BatchCount', type: 'Integer', value: 1, extra: 1 })],
    ['prototype member', '{"tag":"BatchCount","type":"Integer","value":1,"__proto__":{}}'],
    ['tag not a string', item({ tag: 0x42000d, type: 'Integer', value: 1 })],
    ['unknown tag name', item({ tag: 'NoSuchTag', type: 'Integer', value: 1 })],
    ['hex tag out of range', item({ tag: '0x123456', type: 'Integer', value: 1 })],
    ['unknown type', item({ tag: 'BatchCount', type: 'Float', value: 1.5 })],
    ['type from the prototype', item({ tag: 'BatchCount', type: 'constructor', value: 1 })],
    ['missing value', item({ tag: 'BatchCount', type: 'Integer' })],
    ['structure value not an array', item({ tag: 'RequestMessage', value: 'x' })],
    ['structure child not an object', item({ tag: 'RequestMessage', value: [1] })],
    ['integer out of range', item({ tag: 'BatchCount', type: 'Integer', value: 2147483648 })],
    ['integer fraction', item({ tag: 'BatchCount', type: 'Integer', value: 1.5 })],
    ['integer as boolean', item({ tag: 'BatchCount', type: 'Integer', value: true })],
    ['long integer past 2^53 as a number', '{"tag":"UsageLimitsTotal","type":"LongInteger","value":9007199254740993}'],
    ['big integer without 0x', item({ tag: 'Modulus', type: 'BigInteger', value: 'ff' })],
    ['unknown enumeration name', item({ tag: 'Operation', type: 'Enumeration', value: 'Frobnicate' })],
    ['negative enumeration', item({ tag: 'Operation', type: 'Enumeration', value: -1 })],
    ['boolean as text', item({ tag: 'Sensitive', type: 'Boolean', value: 'yes' })],
    ['text string as a number', item({ tag: 'NameValue', type: 'TextString', value: 1 })],
    ['odd hex bytes', item({ tag: 'KeyMaterial', type: 'ByteString', value: 'abc' })],
    ['date without a zone', item({ tag: 'ActivationDate', type: 'DateTime', value: '2024-01-01T00:00:00' })],
    ['interval negative', item({ tag: 'LeaseTime', type: 'Interval', value: -1 })],
  ])('%s', (_name, json) => {
    rejected(json);
  });

  it('nesting past the limit is refused before parsing, however deep', () => {
    const deep = '{"tag":"RequestMessage","value":['.repeat(200_000) + ']}'.repeat(200_000);
    expect(rejected(deep, { maxChars: 16 << 20, maxDepth: 64, maxItems: 200_000 }).message).toMatch(/nested deeper/);
    const structures = (n: number): string => (n === 0 ? '[]' : `[{"tag":"RequestMessage","value":${structures(n - 1)}}]`);
    expect(rejected(`{"tag":"RequestMessage","value":${structures(40)}}`).message).toMatch(/nested deeper/);
  });

  it('size and item count are bounded', () => {
    expect(rejected(item({ tag: 'NameValue', type: 'TextString', value: 'x'.repeat(200) }), { maxChars: 100, maxDepth: 8, maxItems: 10 }).message).toMatch(/longer than/);
    const many = item({ tag: 'RequestMessage', value: Array.from({ length: 50 }, () => ({ tag: 'BatchCount', type: 'Integer', value: 1 })) });
    expect(rejected(many, { maxChars: 1 << 20, maxDepth: 8, maxItems: 20 }).message).toMatch(/more than 20 items/);
  });

  it(`random edits of valid messages decode or give Invalid Message, nothing else (${MUTATIONS} mutations)`, () => {
    fc.assert(
      fc.property(treeArb(4), fc.array(fc.tuple(fc.nat(), fc.constantFrom('', '{', '}', '[', ']', '"', ',', ':', '\\', '0x', '-', 'e9', 'null', '\u0000')), { minLength: 1, maxLength: 4 }), (tree, edits) => {
        let text = encodeJson(tree);
        for (const [at, insert] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
        }
        decodesOrRejects(text);
      }),
      { numRuns: MUTATIONS },
    );
  });
});
