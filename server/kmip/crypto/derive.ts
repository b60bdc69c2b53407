/**
 * Key derivation functions of Derive Key (1.4 §4.6, 2.1 §6.1.13): PBKDF2 (RFC 8018), HASH, HMAC and
 * the SP 800-108 KDF in counter mode with an HMAC PRF. Each yields exactly the bytes asked for, or
 * refuses when the method gives fewer: the spec has the server fail rather than stretch the output.
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { cryptographicFailure, invalidField } from '../errors.js';
import { digestLength, digestName } from './digests.js';

const pbkdf2Async = promisify(pbkdf2);

/** The most PBKDF2 iterations one request may ask for: 10 million HMAC-SHA-512 rounds take seconds of a worker thread. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;

function tooLong(method: string, available: number): never {
  throw invalidField(`Cryptographic Length exceeds what ${method} yields here (${available * 8} bits)`);
}

/**
 * PBKDF2 with HMAC over `hashing` as its PRF. Runs on libuv's thread pool: the event loop keeps
 * serving other clients through a large iteration count.
 */
export async function pbkdf2Derive(password: Uint8Array, salt: Uint8Array, iterations: number, hashing: number, length: number): Promise<Uint8Array> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw invalidField(`Iteration Count must be from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  }
  const digest = digestName(hashing);
  try {
    return new Uint8Array(await pbkdf2Async(password, salt, iterations, length, digest));
  } catch (err) {
    throw cryptographicFailure('the key derivation failed', err);
  }
}

/** HASH: a digest of the base object's material, its leading `length` bytes. */
export function hashDerive(material: Uint8Array, hashing: number, length: number): Uint8Array {
  const available = digestLength(hashing);
  if (length > available) tooLong('this Hashing Algorithm', available);
  return new Uint8Array(createHash(digestName(hashing)).update(material).digest().subarray(0, length));
}

/** HMAC: the HMAC of the Derivation Data under the base object's material, its leading `length` bytes. */
export function hmacDerive(key: Uint8Array, data: Uint8Array, digest: string, length: number): Uint8Array {
  const mac = createHmac(digest, key).update(data).digest();
  if (length > mac.length) tooLong('one HMAC with this hash', mac.length);
  return new Uint8Array(mac.subarray(0, length));
}

/**
 * SP 800-108 §5.1, counter mode with an HMAC PRF: K(i) = HMAC(KI, [i]₃₂ ‖ Label ‖ 0x00 ‖ Context ‖ [L]₃₂)
 * for i from 1, concatenated and cut to L bits. KMIP's Derivation Data is "Label||{0x00}||Context" (the
 * separator optional, the client's choice), so the server adds the counter before it and L, the
 * derived length in bits, after it; both 32-bit big-endian, the width OpenSSL's KBKDF also uses.
 */
export function counterModeDerive(key: Uint8Array, labelAndContext: Uint8Array, digest: string, length: number): Uint8Array {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(length * 8, 0);
  for (let i = 1, made = 0; made < length; i++) {
    counter.writeUInt32BE(i, 0);
    const block = createHmac(digest, key).update(counter).update(labelAndContext).update(bits).digest();
    blocks.push(block);
    made += block.length;
  }
  const out = Buffer.concat(blocks);
  const result = new Uint8Array(out.subarray(0, length));
  out.fill(0);
  for (const block of blocks) block.fill(0);
  return result;
}
