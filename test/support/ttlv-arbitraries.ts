import fc from 'fast-check';
import type { TtlvItem } from '../../server/ttlv/index.js';

export const tagArb = fc.oneof(fc.integer({ min: 0x420000, max: 0x42ffff }), fc.integer({ min: 0x540000, max: 0x54ffff }));
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

export const leafArb: fc.Arbitrary<TtlvItem> = fc.oneof(
  fc.record({ tag: tagArb, type: fc.constant(0x02 as const), value: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
  fc.record({ tag: tagArb, type: fc.constant(0x03 as const), value: int64 }),
  fc.record({ tag: tagArb, type: fc.constant(0x04 as const), value: fc.bigInt({ min: -(1n << 300n), max: 1n << 300n }) }),
  fc.record({ tag: tagArb, type: fc.constant(0x05 as const), value: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ tag: tagArb, type: fc.constant(0x06 as const), value: fc.boolean() }),
  fc.record({ tag: tagArb, type: fc.constant(0x07 as const), value: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
  fc.record({ tag: tagArb, type: fc.constant(0x08 as const), value: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ tag: tagArb, type: fc.constant(0x09 as const), value: int64 }),
  fc.record({ tag: tagArb, type: fc.constant(0x0a as const), value: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ tag: tagArb, type: fc.constant(0x0b as const), value: int64 }),
);

/** Arbitrary TTLV trees up to the given depth, always rooted in a structure like a KMIP message. */
export function treeArb(maxDepth = 5): fc.Arbitrary<TtlvItem> {
  const { node } = fc.letrec<{ node: TtlvItem }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth },
      leafArb,
      fc.record({ tag: tagArb, type: fc.constant(0x01 as const), value: fc.array(tie('node'), { maxLength: 6 }) }),
    ),
  }));
  return fc.record({ tag: tagArb, type: fc.constant(0x01 as const), value: fc.array(node, { maxLength: 6 }) });
}
