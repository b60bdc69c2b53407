import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTtlv, ItemType, type TtlvItem } from '../../../../server/ttlv/index.js';
import { ENUM_TABLE } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { ATTRIBUTES } from '../../../../server/kmip/model/attributes.js';
import { decodeJson, encodeJson } from '../../../../server/kmip/json/index.js';
import { treeArb } from '../../../support/ttlv-arbitraries.js';

const ci = process.env['CI'] === 'true';
const RUNS = ci ? 5_000 : 1_000;

const ENUM_TAGS = ENUM_TABLE.filter((e) => e.tag !== null).map((e) => e.tag!);

/** Items whose values the encoder names (enumerations, masks, tags), with any value, named or not. */
const namedLeafArb: fc.Arbitrary<TtlvItem> = fc.oneof(
  fc.record({ tag: fc.constantFrom(...ENUM_TAGS), type: fc.constant(ItemType.Enumeration), value: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff })) }),
  fc.record({ tag: fc.constantFrom(Tag.CryptographicUsageMask, Tag.ProtectionStorageMask, Tag.StorageStatusMask), type: fc.constant(ItemType.Integer), value: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
  fc.record({ tag: fc.constant(Tag.CryptographicUsageMask), type: fc.constant(ItemType.Integer), value: fc.integer({ min: 0, max: 0x00ffffff }) }),
  fc.record({ tag: fc.constant(Tag.AttributeReference), type: fc.constant(ItemType.Enumeration), value: fc.integer({ min: 0x420000, max: 0x420160 }) }),
  // Long integers on both sides of 2^53, where the encoding switches from a JSON number to hex.
  fc.record({ tag: fc.constant(Tag.UsageLimitsTotal), type: fc.constant(ItemType.LongInteger), value: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 54n), max: 2n ** 54n })) }),
  fc.record({ tag: fc.constant(Tag.ActivationDate), type: fc.constant(ItemType.DateTime), value: fc.bigInt({ min: -62_167_219_200n, max: 253_402_300_799n }) }),
  fc.record({ tag: fc.constant(Tag.TimeStamp), type: fc.constant(ItemType.DateTimeExtended), value: fc.bigInt({ min: -62_167_219_200_000_000n, max: 253_402_300_799_999_999n }) }),
);

/** 1.x attributes: the value is named through the attribute its name names. */
const attributeArb: fc.Arbitrary<TtlvItem> = fc
  .record({
    name: fc.constantFrom(...ATTRIBUTES.map((a) => a.name), 'x-custom', 'Unknown Attribute'),
    value: fc.oneof(
      fc.record({ type: fc.constant(ItemType.Enumeration), value: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ type: fc.constant(ItemType.Integer), value: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
      fc.record({ type: fc.constant(ItemType.Enumeration), value: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ type: fc.constant(ItemType.Integer), value: fc.integer({ min: 0, max: 0xfff }) }),
    ),
  })
  .map(({ name, value }) => ({
    tag: Tag.Attribute,
    type: ItemType.Structure,
    value: [{ tag: Tag.AttributeName, type: ItemType.TextString, value: name }, { tag: Tag.AttributeValue, ...value } as TtlvItem],
  }));

describe('JSON encoding round trip', () => {
  it(`TTLV → JSON → TTLV gives back the same tree and the same bytes (${RUNS} arbitrary trees, indented and on one line)`, () => {
    fc.assert(
      fc.property(treeArb(), fc.constantFrom(0, 2), (tree, indent) => {
        const back = decodeJson(encodeJson(tree, { indent }));
        expect(back).toEqual(tree);
        expect(Buffer.from(encodeTtlv(back))).toEqual(Buffer.from(encodeTtlv(tree)));
      }),
      { numRuns: RUNS },
    );
  });

  it(`enumerations, masks, long integers, dates and 1.x attribute values survive by name, number or hex (${RUNS} messages)`, () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(namedLeafArb, attributeArb), { maxLength: 12 }), (items) => {
        const tree: TtlvItem = { tag: Tag.RequestMessage, type: ItemType.Structure, value: items };
        const json = encodeJson(tree);
        expect(decodeJson(json)).toEqual(tree);
        // Deterministic: the decoded tree encodes to the same text.
        expect(encodeJson(decodeJson(json))).toBe(json);
      }),
      { numRuns: RUNS },
    );
  });
});
