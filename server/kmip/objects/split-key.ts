/**
 * The Split Key object (1.4 §2.2.5, 2.1 §2.8): one part of a secret shared among holders, with how
 * it was split (parts, threshold, method, prime) and the part itself in a Raw Key Block whose
 * Cryptographic Algorithm and Length are those of the secret. Register checks parts here; Create
 * Split Key and Join Split Key make and read them through the same functions.
 */
import { checkPrime } from 'node:crypto';
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { gf256Join, gf256Split, gf65536Join, gf65536Split, MAX_SPLIT_PARTS, primeJoin, primeSplit, xorJoin, xorSplit, byteLengthOf, type Share } from '../crypto/shamir.js';
import { cryptographicFailure, invalidField, KmipError } from '../errors.js';
import { KeyFormatType, ResultReason, SplitKeyMethod } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { Attribute } from '../model/attributes.js';
import { bigInteger, enumeration, integer, opt, req, STORAGE_CONTEXT, struct } from '../schema.js';
import { KeyBlockSchema, KeyValueSchema } from './schemas.js';
import { isSupportedSymmetricAlgorithm, materialLength, sha256Digest } from './symmetric-key.js';

const SplitKeySchema = struct('Split Key', {
  splitKeyParts: req(Tag.SplitKeyParts, integer),
  keyPartIdentifier: req(Tag.KeyPartIdentifier, integer),
  splitKeyThreshold: req(Tag.SplitKeyThreshold, integer),
  splitKeyMethod: req(Tag.SplitKeyMethod, enumeration('SplitKeyMethod')),
  primeFieldSize: opt(Tag.PrimeFieldSize, bigInteger),
  keyBlock: req(Tag.KeyBlock, KeyBlockSchema),
});

/** How a secret was split: the same for every part of one split. */
export interface SplitParameters {
  readonly parts: number;
  readonly threshold: number;
  readonly method: number;
  /** Prime Field Size, for Polynomial Sharing Prime Field only. */
  readonly prime?: bigint | undefined;
}

/** The longest secret split or joined here: 4096 bits, the longest HMAC key and derived object the server makes. */
export const MAX_SECRET_BYTES = 512;
/**
 * Mersenne primes 2^e − 1: the field the server shares in when the client names none, the smallest
 * above the secret (1.4 §2.2.5: a prime bigger than 2^L). Known primes: nothing is generated or tested.
 */
const MERSENNE_EXPONENTS = [127, 521, 607, 1279, 2203, 2281, 3217, 4253];
const KNOWN_PRIMES: ReadonlySet<bigint> = new Set(MERSENNE_EXPONENTS.map((e) => (1n << BigInt(e)) - 1n));
/**
 * The largest Prime Field Size of a client's own. Its primality test runs on the libuv thread pool
 * (isPrime), not the request's thread, but still holds a pool thread about 0.1 s at this size and ten
 * times that at 2281 bits, per Register, Import or Create Split Key item. Longer secrets share in the
 * known primes.
 */
const MAX_CLIENT_PRIME_BITS = 1280;
/**
 * Splitting and joining run on the request's thread. Their cost is parts × threshold × element
 * bytes, the element being the secret over GF(2^8), GF(2^16) and XOR (a field operation per byte)
 * and the prime over a prime field (one bigint operation on a number of the prime's size). Measured
 * here with Node 20 at the largest parts and threshold this bound admits, best of three: GF(2^8) and
 * GF(2^16) splits of 255 parts 17–29 ms and 29–43 ms for 16–512-byte secrets; prime-field splits of
 * 255 parts 4–19 ms for every known prime; the costliest prime-field joins, threshold = parts (a
 * join costs threshold² × element bytes), 24–43 ms from 2^127−1 (255 of 255) to 2^3217−1 (72 of 72)
 * and 33 ms at 2^4253−1 (62 of 62). Before the prime's size counted, 255 of 255 over 2^4253−1 passed:
 * 130–430 ms to split, about 1 s to join. The prime's bytes count once, not squared as a bigint
 * multiplication's cost suggests: per unit of this product a join took 13–30 ns from 16 to 532 bytes,
 * and a squared bound low enough for 2^1279−1 (60 ms) still let 2^521−1 take 56 ms.
 */
const MAX_SPLIT_WORK = 1 << 21;

const METHODS: ReadonlySet<number> = new Set([SplitKeyMethod.XOR, SplitKeyMethod.PolynomialSharingGF2_8, SplitKeyMethod.PolynomialSharingGF2_16, SplitKeyMethod.PolynomialSharingPrimeField]);

/** The server's prime for a secret of this length; undefined when none is long enough (checkSplitParameters refuses that length). */
export function defaultPrime(secretBytes: number): bigint | undefined {
  const exponent = MERSENNE_EXPONENTS.find((e) => e > secretBytes * 8);
  return exponent === undefined ? undefined : (1n << BigInt(exponent)) - 1n;
}

const inRange = (n: number, low: number, high: number) => Number.isInteger(n) && n >= low && n <= high;

/** The primality test of a client's Prime Field Size, on the libuv thread pool: a request's thread never waits on it. */
function isPrime(candidate: bigint): Promise<boolean> {
  return new Promise((resolve, reject) => checkPrime(candidate, (err, prime) => (err ? reject(err) : resolve(prime))));
}

/**
 * Refuses a split whose making or joining would hold the request's thread too long (MAX_SPLIT_WORK).
 * `secretBytes` is the secret's length, when known; a prime field's elements are the prime's size
 * whatever the secret's. Join checks parts a client registered before this bound existed here too.
 */
export function checkSplitWork(p: SplitParameters, secretBytes: number | undefined): void {
  const elementBytes = p.method === SplitKeyMethod.PolynomialSharingPrimeField ? (p.prime === undefined ? undefined : byteLengthOf(p.prime)) : secretBytes;
  if (elementBytes !== undefined && p.parts * p.threshold * elementBytes > MAX_SPLIT_WORK) {
    const what = p.method === SplitKeyMethod.PolynomialSharingPrimeField ? 'Prime Field Size bytes' : 'key bytes';
    throw invalidField(`Split Key Parts × Split Key Threshold × ${what} must be at most ${MAX_SPLIT_WORK} (splitting and joining run on the request's thread)`);
  }
}

/**
 * Refuses parameters no split can have, as Invalid Field (the 1.4 §11.39/§11.40 tables' reason for
 * an unsupported method). `secretBytes`, when known, is the length of the secret being shared.
 * Asynchronous for a client's own Prime Field Size, tested for primality off the request's thread.
 */
export async function checkSplitParameters(p: SplitParameters, secretBytes: number | undefined, registered = false): Promise<void> {
  if (!METHODS.has(p.method)) throw invalidField('Split Key Method not supported');
  if (!inRange(p.parts, 2, MAX_SPLIT_PARTS)) throw invalidField(`Split Key Parts must be from 2 to ${MAX_SPLIT_PARTS}`);
  if (!inRange(p.threshold, 2, p.parts)) throw invalidField('Split Key Threshold must be from 2 to Split Key Parts');
  // 1.4 §2.2.5: with XOR "the number of split keys is Split Key Parts (identical to Split Key Threshold)", so
  // the server splits so. A part a client registers is stored as its split made it (PyKMIP's tests register
  // XOR parts of threshold 2 of 3): Join then asks for every part (partsNeeded), which XOR always needs.
  if (!registered && p.method === SplitKeyMethod.XOR && p.threshold !== p.parts) throw invalidField('an XOR split needs every part: Split Key Threshold must equal Split Key Parts');
  if (secretBytes !== undefined && !inRange(secretBytes, 1, MAX_SECRET_BYTES)) throw invalidField(`a split secret is from 1 to ${MAX_SECRET_BYTES} bytes`);
  if (p.method === SplitKeyMethod.PolynomialSharingGF2_16 && secretBytes !== undefined && secretBytes % 2 !== 0) {
    throw invalidField('Polynomial Sharing GF(2^16) shares 16-bit pieces: the secret must be a whole number of them');
  }
  if (p.method !== SplitKeyMethod.PolynomialSharingPrimeField) {
    if (p.prime !== undefined) throw invalidField('Prime Field Size belongs to Polynomial Sharing Prime Field only');
    checkSplitWork(p, secretBytes);
    return;
  }
  const prime = p.prime;
  if (prime === undefined) throw invalidField('Polynomial Sharing Prime Field needs a Prime Field Size');
  if (secretBytes !== undefined && prime <= 1n << BigInt(secretBytes * 8)) throw invalidField('Prime Field Size must be bigger than 2^L, L the bits of the secret');
  const known = KNOWN_PRIMES.has(prime);
  if (!known && (prime <= BigInt(MAX_SPLIT_PARTS) || prime.toString(2).length > MAX_CLIENT_PRIME_BITS)) {
    throw invalidField(`Prime Field Size must be above ${MAX_SPLIT_PARTS} and at most ${MAX_CLIENT_PRIME_BITS} bits, or a Mersenne prime 2^e − 1 with e in ${MERSENNE_EXPONENTS.join(', ')}`);
  }
  checkSplitWork(p, secretBytes);
  if (!known && !(await isPrime(prime))) throw invalidField('Prime Field Size is not a prime');
}

/** How many parts rebuild the secret: every one for XOR, whatever its Split Key Threshold says; else the threshold. */
export function partsNeeded(p: SplitParameters): number {
  return p.method === SplitKeyMethod.XOR ? p.parts : p.threshold;
}

/** The shares of `secret`, part 1 first. */
export function splitSecret(p: SplitParameters, secret: Uint8Array): Uint8Array[] {
  switch (p.method) {
    case SplitKeyMethod.XOR:
      return xorSplit(secret, p.parts);
    case SplitKeyMethod.PolynomialSharingGF2_8:
      return gf256Split(secret, p.parts, p.threshold);
    case SplitKeyMethod.PolynomialSharingGF2_16:
      return gf65536Split(secret, p.parts, p.threshold);
    default:
      return primeSplit(secret, p.parts, p.threshold, p.prime!);
  }
}

/** The secret the shares give; the caller has checked they are of one split and enough. */
export function joinSecret(p: SplitParameters, shares: readonly Share[], secretBytes: number): Uint8Array {
  try {
    switch (p.method) {
      case SplitKeyMethod.XOR:
        return xorJoin(shares.map((s) => s.value));
      case SplitKeyMethod.PolynomialSharingGF2_8:
        return gf256Join(shares);
      case SplitKeyMethod.PolynomialSharingGF2_16:
        return gf65536Join(shares);
      default:
        return primeJoin(shares, p.prime!, secretBytes);
    }
  } catch (err) {
    if (err instanceof RangeError) throw cryptographicFailure('the parts do not combine into a secret', err);
    throw err;
  }
}

/** Bytes of a secret of this algorithm and length; undefined when the length does not say (an asymmetric key's). */
export function secretBytesOf(algorithm: number | undefined, length: number | undefined): number | undefined {
  if (length === undefined) return undefined;
  if (algorithm !== undefined && isSupportedSymmetricAlgorithm(algorithm)) return materialLength(algorithm, length);
  if (algorithm !== undefined) return undefined;
  if (length % 8 !== 0) throw invalidField('a split secret is a whole number of bytes');
  return length / 8;
}

export function splitKeyObject(p: SplitParameters, partId: number, share: Uint8Array, algorithm: number | undefined, length: number | undefined): TtlvItem {
  return SplitKeySchema.encode(
    Tag.SplitKey,
    {
      splitKeyParts: p.parts,
      keyPartIdentifier: partId,
      splitKeyThreshold: p.threshold,
      splitKeyMethod: p.method,
      primeFieldSize: p.prime,
      keyBlock: {
        keyFormatType: KeyFormatType.Raw,
        keyValue: KeyValueSchema.encode(Tag.KeyValue, { keyMaterial: { tag: Tag.KeyMaterial, type: ItemType.ByteString, value: share }, attributes: [] }, STORAGE_CONTEXT),
        cryptographicAlgorithm: algorithm,
        cryptographicLength: length,
      },
    },
    STORAGE_CONTEXT,
  );
}

export interface SplitKeyPart {
  readonly parameters: SplitParameters;
  readonly partId: number;
  readonly algorithm: number | undefined;
  readonly length: number | undefined;
  readonly keyFormatType: number;
  /** The part's bytes; undefined when the Key Block is wrapped. */
  readonly share: Uint8Array | undefined;
}

/** The fields of a Split Key object, as stored or registered (not yet checked). */
export function readSplitKey(item: TtlvItem): SplitKeyPart {
  const o = SplitKeySchema.decode(item, STORAGE_CONTEXT);
  const block = o.keyBlock;
  let share: Uint8Array | undefined;
  if (!block.keyWrappingData) {
    if (!block.keyValue || block.keyValue.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
    const material = KeyValueSchema.decode(block.keyValue, STORAGE_CONTEXT).keyMaterial;
    if (material.type !== ItemType.ByteString) throw invalidField('the Key Material of a Split Key is a Byte String');
    share = material.value;
  }
  return {
    parameters: { parts: o.splitKeyParts, threshold: o.splitKeyThreshold, method: o.splitKeyMethod, prime: o.primeFieldSize },
    partId: o.keyPartIdentifier,
    algorithm: block.cryptographicAlgorithm,
    length: block.cryptographicLength,
    keyFormatType: block.keyFormatType,
    share,
  };
}

/** Checks a part as a whole: its parameters, its identifier, and its bytes against the secret's length. */
async function checkSplitKeyPart(part: SplitKeyPart): Promise<void> {
  if (part.keyFormatType !== KeyFormatType.Raw) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'split keys are registered in Raw form');
  const { method, prime } = part.parameters;
  const overPrime = method === SplitKeyMethod.PolynomialSharingPrimeField;
  const stated = secretBytesOf(part.algorithm, part.length);
  // A part over GF(2^n) or XOR is as long as the secret; one over a prime field as long as the prime.
  if (part.share && !overPrime && stated !== undefined && part.share.length !== stated) {
    throw invalidField(`the part is ${part.share.length} bytes, not the ${stated} bytes of the secret its Cryptographic Length says`);
  }
  await checkSplitParameters(part.parameters, stated ?? (overPrime ? undefined : part.share?.length), true);
  if (!inRange(part.partId, 1, part.parameters.parts)) throw invalidField('Key Part Identifier must be from 1 to Split Key Parts');
  if (part.share && overPrime && (part.share.length > byteLengthOf(prime!) || BigInt(`0x0${Buffer.from(part.share).toString('hex')}`) >= prime!)) {
    throw invalidField('the part is not an element of the prime field');
  }
}

/** Register (1.4 §4.3): the part as registered, with its algorithm, length, Digest and format. */
export async function registerSplitKey(item: TtlvItem, attributes: readonly Attribute[]): Promise<{ object: TtlvItem; derived: Attribute[] }> {
  const part = readSplitKey(item);
  const stated = (name: string, inBlock: number | undefined): number | undefined => {
    const inAttributes = attributes.find((a) => a.name === name)?.value as number | undefined;
    if (inBlock !== undefined && inAttributes !== undefined && inBlock !== inAttributes) throw invalidField(`${name} in the attributes differs from the Key Block`);
    return inBlock ?? inAttributes;
  };
  const algorithm = stated('Cryptographic Algorithm', part.algorithm);
  const length = stated('Cryptographic Length', part.length);
  await checkSplitKeyPart({ ...part, algorithm, length });
  const attr = (name: string, value: unknown): Attribute => ({ name, index: 0, value });
  const derived = [
    ...(algorithm !== undefined ? [attr('Cryptographic Algorithm', algorithm)] : []),
    ...(length !== undefined ? [attr('Cryptographic Length', length)] : []),
    ...(part.share ? [attr('Digest', sha256Digest(part.share))] : []),
    attr('Key Format Type', part.keyFormatType),
  ];
  return { object: item, derived };
}
