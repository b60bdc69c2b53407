/**
 * Secret sharing for Split Keys (1.4 §2.2.5, 2.1 §13.1): XOR splitting (every part needed), and
 * Shamir's polynomial sharing (any `threshold` parts suffice) over GF(2^8) byte by byte, over
 * GF(2^16) in 16-bit pieces, and over a prime field with the whole secret as one integer. Part i is
 * the polynomial's value at x = i, i being its Key Part Identifier; the secret is its value at 0.
 *
 * Inputs are validated by the caller (objects/split-key.ts); a broken contract here is a RangeError.
 */
import { randomBytes } from 'node:crypto';
import { gf256Inv, gf256Mul, gf65536Inv, gf65536Mul } from './galois.js';

export interface Share {
  /** The Key Part Identifier: the x the part was evaluated at (1…parts). */
  readonly id: number;
  readonly value: Uint8Array;
}

/** Identifiers are 1…255 here whatever the field allows: GF(2^8) has no more non-zero points. */
export const MAX_SPLIT_PARTS = 255;

function checkSplit(parts: number, threshold: number): void {
  if (!Number.isInteger(parts) || parts < 2 || parts > MAX_SPLIT_PARTS) throw new RangeError('parts out of range');
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > parts) throw new RangeError('threshold out of range');
}

function checkShares(shares: readonly Share[]): number {
  if (shares.length === 0) throw new RangeError('no shares');
  const length = shares[0]!.value.length;
  const ids = new Set<number>();
  for (const s of shares) {
    if (!Number.isInteger(s.id) || s.id < 1 || s.id > MAX_SPLIT_PARTS || ids.has(s.id)) throw new RangeError('share identifiers must be distinct, 1…255');
    if (s.value.length !== length) throw new RangeError('shares differ in length');
    ids.add(s.id);
  }
  return length;
}

// ---------------------------------------------------------------- XOR

/** `parts` values whose XOR is the secret: all but the last are random. */
export function xorSplit(secret: Uint8Array, parts: number): Uint8Array[] {
  checkSplit(parts, parts);
  const last = Uint8Array.from(secret);
  const out: Uint8Array[] = [];
  for (let i = 1; i < parts; i++) {
    const random = new Uint8Array(randomBytes(secret.length));
    for (let k = 0; k < last.length; k++) last[k]! ^= random[k]!;
    out.push(random);
  }
  out.push(last);
  return out;
}

export function xorJoin(values: readonly Uint8Array[]): Uint8Array {
  const length = checkShares(values.map((value, i) => ({ id: i + 1, value })));
  const out = new Uint8Array(length);
  for (const v of values) for (let k = 0; k < length; k++) out[k]! ^= v[k]!;
  return out;
}

// ---------------------------------------------------------------- GF(2^8) and GF(2^16)

/** A field of characteristic 2 whose elements are `width` bytes: addition is XOR. */
interface BinaryField {
  readonly width: 1 | 2;
  mul(a: number, b: number): number;
  inv(a: number): number;
}
const GF256: BinaryField = { width: 1, mul: gf256Mul, inv: gf256Inv };
const GF65536: BinaryField = { width: 2, mul: gf65536Mul, inv: gf65536Inv };

const read = (bytes: Uint8Array, at: number, width: number): number => (width === 1 ? bytes[at]! : (bytes[at]! << 8) | bytes[at + 1]!);
function write(bytes: Uint8Array, at: number, width: number, value: number): void {
  if (width === 1) bytes[at] = value;
  else {
    bytes[at] = value >> 8;
    bytes[at + 1] = value & 0xff;
  }
}

function binarySplit(field: BinaryField, secret: Uint8Array, parts: number, threshold: number): Uint8Array[] {
  checkSplit(parts, threshold);
  const { width } = field;
  if (secret.length % width !== 0) throw new RangeError('the secret is not a whole number of field elements');
  const pieces = secret.length / width;
  // Coefficient of degree d (1…threshold-1) for piece k, uniformly random: any threshold-1 parts say nothing.
  const coefficients = randomBytes(pieces * (threshold - 1) * width);
  try {
    const shares: Uint8Array[] = [];
    for (let x = 1; x <= parts; x++) {
      const share = new Uint8Array(secret.length);
      for (let k = 0; k < pieces; k++) {
        let y = 0;
        for (let d = threshold - 1; d >= 1; d--) y = field.mul(y, x) ^ read(coefficients, ((d - 1) * pieces + k) * width, width);
        write(share, k * width, width, field.mul(y, x) ^ read(secret, k * width, width));
      }
      shares.push(share);
    }
    return shares;
  } finally {
    coefficients.fill(0);
  }
}

/** The value at 0 of the polynomial through the shares (Lagrange; subtraction is XOR). */
function binaryJoin(field: BinaryField, shares: readonly Share[]): Uint8Array {
  const length = checkShares(shares);
  const { width } = field;
  if (length % width !== 0) throw new RangeError('a share is not a whole number of field elements');
  // The Lagrange weights at 0 depend on the identifiers only: l_i = Π x_j / (x_j − x_i).
  const weights = shares.map((si) => {
    let numerator = 1;
    let denominator = 1;
    for (const sj of shares) {
      if (sj === si) continue;
      numerator = field.mul(numerator, sj.id);
      denominator = field.mul(denominator, sj.id ^ si.id);
    }
    return field.mul(numerator, field.inv(denominator));
  });
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += width) {
    let y = 0;
    shares.forEach((s, i) => (y ^= field.mul(weights[i]!, read(s.value, at, width))));
    write(out, at, width, y);
  }
  return out;
}

export const gf256Split = (secret: Uint8Array, parts: number, threshold: number): Uint8Array[] => binarySplit(GF256, secret, parts, threshold);
export const gf256Join = (shares: readonly Share[]): Uint8Array => binaryJoin(GF256, shares);
/** The secret must be a whole number of 16-bit pieces: the spec says nothing of padding an odd byte. */
export const gf65536Split = (secret: Uint8Array, parts: number, threshold: number): Uint8Array[] => binarySplit(GF65536, secret, parts, threshold);
export const gf65536Join = (shares: readonly Share[]): Uint8Array => binaryJoin(GF65536, shares);

// ---------------------------------------------------------------- prime field

const toBigInt = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
export const byteLengthOf = (n: bigint): number => Math.ceil(n.toString(2).length / 8);

function toBytes(n: bigint, length: number): Uint8Array {
  const hex = n.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError('value does not fit');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Uniform in [0, p) by rejection: masked to p's bit length, fewer than two draws on average. */
function randomBelow(p: bigint): bigint {
  const bits = p.toString(2).length;
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const r = toBigInt(new Uint8Array(randomBytes(Math.ceil(bits / 8)))) & mask;
    if (r < p) return r;
  }
}

function modInverse(a: bigint, p: bigint): bigint {
  let [oldR, r] = [((a % p) + p) % p, p];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('not invertible');
  return ((oldS % p) + p) % p;
}

/** Shares of the secret (a big-endian integer below `prime`), each as many bytes as the prime. */
export function primeSplit(secret: Uint8Array, parts: number, threshold: number, prime: bigint): Uint8Array[] {
  checkSplit(parts, threshold);
  const s = toBigInt(secret);
  if (prime <= BigInt(parts) || s >= prime) throw new RangeError('the prime must exceed the secret and the number of parts');
  const coefficients = Array.from({ length: threshold - 1 }, () => randomBelow(prime));
  const width = byteLengthOf(prime);
  const shares: Uint8Array[] = [];
  for (let i = 1; i <= parts; i++) {
    const x = BigInt(i);
    let y = 0n;
    for (let d = threshold - 1; d >= 1; d--) y = (y * x + coefficients[d - 1]!) % prime;
    shares.push(toBytes((y * x + s) % prime, width));
  }
  return shares;
}

/**
 * The secret of `secretLength` bytes the shares give. A value that does not fit that length proves
 * the shares are not of one split: over a prime much larger than the secret, a wrong set of shares
 * almost never lands below 2^(8·length).
 */
export function primeJoin(shares: readonly Share[], prime: bigint, secretLength: number): Uint8Array {
  checkShares(shares);
  let secret = 0n;
  for (const si of shares) {
    let numerator = 1n;
    let denominator = 1n;
    for (const sj of shares) {
      if (sj === si) continue;
      numerator = (numerator * BigInt(sj.id)) % prime;
      denominator = (denominator * (((BigInt(sj.id) - BigInt(si.id)) % prime) + prime)) % prime;
    }
    const y = toBigInt(si.value);
    if (y >= prime) throw new RangeError('a share is not an element of the field');
    secret = (secret + y * ((numerator * modInverse(denominator, prime)) % prime)) % prime;
  }
  return toBytes(secret, secretLength);
}
