/**
 * The split-key arithmetic on its own: GF(2^8) and GF(2^16) are fields (every non-zero element has
 * the inverse the code computes), any threshold of parts gives the secret back, fewer are consistent
 * with every secret (so they say nothing of it), parts of two splits do not combine, and XOR needs
 * every part.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gf256Inv, gf256Mul, gf65536Inv, gf65536Mul } from '../../../../server/kmip/crypto/galois.js';
import { gf256Join, gf256Split, gf65536Join, gf65536Split, primeJoin, primeSplit, xorJoin, xorSplit, type Share } from '../../../../server/kmip/crypto/shamir.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sharesOf = (values: Uint8Array[], ids: number[]): Share[] => ids.map((id) => ({ id, value: values[id - 1]! }));

/** Every k-element subset of 1…n. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k), ...subsets(n - 1, k - 1).map((s) => [...s, n])];
}

describe('GF(2^8), the FIPS 197 field', () => {
  it('multiplies as FIPS 197 §4.2 shows', () => {
    expect(gf256Mul(0x57, 0x83)).toBe(0xc1);
    expect(gf256Mul(0x57, 0x13)).toBe(0xfe);
    expect(gf256Mul(0x57, 0x01)).toBe(0x57);
  });

  it('inverts every non-zero element', () => {
    for (let a = 1; a < 256; a++) expect(gf256Mul(a, gf256Inv(a)), `a=${a}`).toBe(1);
  });
});

describe('GF(2^16) = GF(2^8)[y]/(y^2+y+m)', () => {
  it('has y^2 = y + m, m = 0x3A', () => {
    expect(gf65536Mul(0x0100, 0x0100)).toBe(0x013a);
  });

  it('inverts every one of its 65535 non-zero elements: y^2+y+m is irreducible and the formulas right', () => {
    let wrong = 0;
    for (let a = 1; a < 65536; a++) if (gf65536Mul(a, gf65536Inv(a)) !== 1) wrong++;
    expect(wrong).toBe(0);
  });

  it('is commutative, associative and distributive', () => {
    const r = new Uint16Array(randomBytes(600).buffer);
    for (let k = 0; k + 2 < r.length; k += 3) {
      const [a, b, c] = [r[k]!, r[k + 1]!, r[k + 2]!];
      expect(gf65536Mul(a, b)).toBe(gf65536Mul(b, a));
      expect(gf65536Mul(gf65536Mul(a, b), c)).toBe(gf65536Mul(a, gf65536Mul(b, c)));
      expect(gf65536Mul(a, b ^ c)).toBe(gf65536Mul(a, b) ^ gf65536Mul(a, c));
    }
  });
});

const methods = [
  { name: 'GF(2^8)', split: gf256Split, join: gf256Join },
  { name: 'GF(2^16)', split: gf65536Split, join: gf65536Join },
];

describe.each(methods)('polynomial sharing over $name', ({ split, join }) => {
  const secret = new Uint8Array(randomBytes(32));
  const parts = split(secret, 5, 3);

  it('gives the secret back from every subset of at least the threshold', () => {
    for (const k of [3, 4, 5]) for (const ids of subsets(5, k)) expect(hex(join(sharesOf(parts, ids))), `parts ${ids}`).toBe(hex(secret));
  });

  it('makes new parts every time', () => {
    expect(hex(split(secret, 5, 3)[0]!)).not.toBe(hex(parts[0]!));
  });

  it('leaves threshold − 1 parts consistent with any secret at all', () => {
    // Two real parts plus a part at x = 4 chosen to aim at a made-up secret: the three combine into it,
    // so the two real parts cannot tell the true secret from that one.
    const known = sharesOf(parts, [1, 2]);
    for (const candidate of [new Uint8Array(32), new Uint8Array(randomBytes(32))]) {
      const base = join([...known, { id: 4, value: new Uint8Array(32) }]);
      const weight = join([...known.map((s) => ({ id: s.id, value: new Uint8Array(32) })), { id: 4, value: new Uint8Array(32).fill(1) }]);
      const aimed = new Uint8Array(32);
      // Solve base + weight·y = candidate in each field element (weight is the Lagrange weight of x = 4).
      const width = join === gf256Join ? 1 : 2;
      for (let at = 0; at < 32; at += width) {
        const read = (b: Uint8Array) => (width === 1 ? b[at]! : (b[at]! << 8) | b[at + 1]!);
        const w = width === 1 ? read(weight) : gf65536WeightOf(weight, at);
        const y = width === 1 ? gf256Mul(read(base) ^ read(candidate), gf256Inv(w)) : gf65536Mul(read(base) ^ read(candidate), gf65536Inv(w));
        if (width === 1) aimed[at] = y;
        else [aimed[at], aimed[at + 1]] = [y >> 8, y & 0xff];
      }
      expect(hex(join([...known, { id: 4, value: aimed }]))).toBe(hex(candidate));
    }
  });

  it('gives a different value from too few parts or parts of two splits', () => {
    expect(hex(join(sharesOf(parts, [2, 5])))).not.toBe(hex(secret));
    const other = split(secret, 5, 3);
    expect(hex(join([...sharesOf(parts, [1, 2]), { id: 3, value: other[2]! }]))).not.toBe(hex(secret));
  });

  it('refuses repeated or out-of-range identifiers and impossible thresholds', () => {
    expect(() => join([{ id: 1, value: parts[0]! }, { id: 1, value: parts[1]! }])).toThrow(RangeError);
    expect(() => join([{ id: 0, value: parts[0]! }, { id: 2, value: parts[1]! }])).toThrow(RangeError);
    expect(() => split(secret, 256, 2)).toThrow(RangeError);
    expect(() => split(secret, 3, 4)).toThrow(RangeError);
    expect(() => split(secret, 3, 1)).toThrow(RangeError);
  });
});

/** The GF(2^16) element a 1-filled share piece stands for is 0x0101, not 1: divide it back out. */
function gf65536WeightOf(weight: Uint8Array, at: number): number {
  return gf65536Mul((weight[at]! << 8) | weight[at + 1]!, gf65536Inv(0x0101));
}

describe('GF(2^16) pieces', () => {
  it('refuses a secret of an odd number of bytes rather than pad it', () => {
    expect(() => gf65536Split(new Uint8Array(3), 3, 2)).toThrow(RangeError);
  });
});

describe('XOR splitting', () => {
  it('needs every part, and every part gives the secret back with the others', () => {
    const secret = new Uint8Array(randomBytes(24));
    const parts = xorSplit(secret, 4);
    expect(parts).toHaveLength(4);
    expect(hex(xorJoin(parts))).toBe(hex(secret));
    for (let leftOut = 0; leftOut < 4; leftOut++) expect(hex(xorJoin(parts.filter((_, i) => i !== leftOut)))).not.toBe(hex(secret));
    expect(parts.some((p) => hex(p) === hex(secret))).toBe(false);
  });
});

describe('prime-field sharing', () => {
  const prime = (1n << 521n) - 1n;
  const secret = new Uint8Array(randomBytes(32));
  const parts = primeSplit(secret, 5, 3, prime);

  it('gives parts as long as the prime, and the secret back from any threshold of them', () => {
    expect(parts.every((p) => p.length === 66)).toBe(true);
    for (const ids of subsets(5, 3)) expect(hex(primeJoin(sharesOf(parts, ids), prime, 32)), `parts ${ids}`).toBe(hex(secret));
    expect(hex(primeJoin(sharesOf(parts, [1, 2, 3, 4, 5]), prime, 32))).toBe(hex(secret));
  });

  it('tells parts of two splits, or too few parts, by a value far beyond the secret', () => {
    const other = primeSplit(secret, 5, 3, prime);
    expect(() => primeJoin([...sharesOf(parts, [1, 2]), { id: 3, value: other[2]! }], prime, 32)).toThrow(RangeError);
    expect(() => primeJoin(sharesOf(parts, [1, 2]), prime, 32)).toThrow(RangeError);
  });

  it('refuses a secret as large as the prime', () => {
    expect(() => primeSplit(new Uint8Array(66).fill(0xff), 3, 2, prime)).toThrow(RangeError);
  });
});
