import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTtlv, encodeTtlv, FrameReader, TtlvError } from '../../../server/ttlv/index.js';
import { treeArb } from '../../support/ttlv-arbitraries.js';

const ci = process.env['CI'] === 'true';
const ROUND_TRIPS = ci ? 10_000 : 2_000;
const HOSTILE_INPUTS = ci ? 50_000 : 10_000;

function decodesOrRejects(bytes: Uint8Array): void {
  try {
    decodeTtlv(bytes, { maxSize: 64 * 1024, maxDepth: 16 });
  } catch (err) {
    if (!(err instanceof TtlvError)) throw err;
  }
}

describe('TTLV properties', () => {
  it(`encode then decode gives back the same tree (${ROUND_TRIPS} trees)`, () => {
    fc.assert(
      fc.property(treeArb(), (tree) => {
        const bytes = encodeTtlv(tree);
        expect(bytes.length % 8).toBe(0);
        expect(decodeTtlv(bytes, { maxSize: 1 << 24, maxDepth: 64 })).toEqual(tree);
        expect(encodeTtlv(decodeTtlv(bytes, { maxSize: 1 << 24, maxDepth: 64 }))).toEqual(bytes);
      }),
      { numRuns: ROUND_TRIPS },
    );
  });

  it(`random bytes decode to a value or a TtlvError, never anything else (${HOSTILE_INPUTS / 2} inputs)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRejects(bytes)), { numRuns: HOSTILE_INPUTS / 2 });
  });

  it(`mutated valid messages decode to a value or a TtlvError (${HOSTILE_INPUTS / 2} inputs)`, () => {
    const mutation = fc.record({
      tree: treeArb(4),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    let rejected = 0;
    fc.assert(
      fc.property(mutation, ({ tree, flips, cut }) => {
        const bytes = new Uint8Array(encodeTtlv(tree));
        for (const flip of flips) bytes[flip.at % bytes.length] = flip.value;
        const input = cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
        try {
          decodeTtlv(input, { maxSize: 64 * 1024, maxDepth: 16 });
        } catch (err) {
          if (!(err instanceof TtlvError)) throw err;
          rejected++;
        }
      }),
      { numRuns: HOSTILE_INPUTS / 2 },
    );
    // Most mutations must actually be caught; otherwise the property tests nothing.
    expect(rejected).toBeGreaterThan(HOSTILE_INPUTS / 8);
  });

  it('the framer yields the same messages whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(treeArb(3), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (trees, sizes) => {
        const encoded = trees.map((t) => encodeTtlv(t));
        const stream = Buffer.concat(encoded);
        const framer = new FrameReader(1 << 20);
        const out: Uint8Array[] = [];
        let p = 0;
        let i = 0;
        while (p < stream.length) {
          const size = sizes[i++ % sizes.length]!;
          out.push(...framer.push(stream.subarray(p, p + size)));
          p += size;
        }
        expect(out.map((m) => Buffer.from(m).toString('hex'))).toEqual(encoded.map((m) => Buffer.from(m).toString('hex')));
        expect(framer.pendingBytes).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
