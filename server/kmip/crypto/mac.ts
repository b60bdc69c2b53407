/** MACs: HMAC over the SHA-1, SHA-2 and SHA-3 digests (RFC 2104), and CMAC over AES (RFC 4493). */
import { createCipheriv, createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import { cryptographicFailure } from '../errors.js';
import { BlockCipherMode, CryptographicAlgorithm, HashingAlgorithm } from '../generated/enums.js';
import { digestName, unsupportedParameters } from './digests.js';

const HMAC_DIGEST: ReadonlyMap<number, number> = new Map([
  [CryptographicAlgorithm.HMAC_SHA1, HashingAlgorithm.SHA_1],
  [CryptographicAlgorithm.HMAC_SHA224, HashingAlgorithm.SHA_224],
  [CryptographicAlgorithm.HMAC_SHA256, HashingAlgorithm.SHA_256],
  [CryptographicAlgorithm.HMAC_SHA384, HashingAlgorithm.SHA_384],
  [CryptographicAlgorithm.HMAC_SHA512, HashingAlgorithm.SHA_512],
  [CryptographicAlgorithm.HMAC_MD5, HashingAlgorithm.MD5],
  [CryptographicAlgorithm.HMAC_SHA3_224, HashingAlgorithm.SHA3_224],
  [CryptographicAlgorithm.HMAC_SHA3_256, HashingAlgorithm.SHA3_256],
  [CryptographicAlgorithm.HMAC_SHA3_384, HashingAlgorithm.SHA3_384],
  [CryptographicAlgorithm.HMAC_SHA3_512, HashingAlgorithm.SHA3_512],
]);

export type MacPlan = { readonly kind: 'hmac'; readonly digest: string } | { readonly kind: 'cmac' };

/**
 * The MAC a request asks for: the Cryptographic Algorithm of its parameters (HMAC-x), else the key's own;
 * an AES key computes CMAC (Block Cipher Mode CMAC, or no mode at all).
 */
export function planMac(keyAlgorithm: number | undefined, p: { algorithm: number | undefined; mode: number | undefined; hashing: number | undefined }): MacPlan {
  const algorithm = p.algorithm ?? keyAlgorithm;
  const hmac = algorithm === undefined ? undefined : HMAC_DIGEST.get(algorithm);
  if (hmac !== undefined) return { kind: 'hmac', digest: digestName(hmac) };
  if (algorithm === CryptographicAlgorithm.AES && (p.mode === undefined || p.mode === BlockCipherMode.CMAC)) return { kind: 'cmac' };
  throw unsupportedParameters('this key and these parameters name no MAC algorithm the server offers');
}

/** A MAC computed over data given in one or more pieces. CMAC keeps the pieces (bounded by the caller). */
export class MacStream {
  private readonly hmac: Hmac | undefined;
  /** CMAC's own copy of the key (the caller wipes the one it passed in). */
  private readonly key: Buffer | undefined;
  private readonly pieces: Buffer[] = [];
  private size = 0;

  constructor(plan: MacPlan, key: Uint8Array) {
    if (plan.kind === 'hmac') {
      try {
        this.hmac = createHmac(plan.digest, key);
      } catch (err) {
        throw cryptographicFailure('the MAC could not be set up', err);
      }
    } else if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
      throw cryptographicFailure('the key is not a valid AES key');
    } else {
      this.key = Buffer.from(key);
    }
  }

  get buffered(): number {
    return this.size;
  }

  update(data: Uint8Array): void {
    if (this.hmac) this.hmac.update(data);
    else {
      this.pieces.push(Buffer.from(data));
      this.size += data.length;
    }
  }

  final(): Buffer {
    if (this.hmac) return this.hmac.digest();
    try {
      return cmac(this.key!, Buffer.concat(this.pieces));
    } finally {
      this.key!.fill(0);
    }
  }
}

/** Doubling in GF(2^128) (RFC 4493 §2.3). */
function dbl(block: Buffer): Buffer {
  const out = Buffer.alloc(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const b = block[i]!;
    out[i] = ((b << 1) | carry) & 0xff;
    carry = b >>> 7;
  }
  if (carry) out[15] = out[15]! ^ 0x87;
  return out;
}

/** AES-CMAC (RFC 4493): the last block of a CBC encryption under a zero IV, its last block masked by K1 or K2. */
export function cmac(key: Uint8Array, message: Buffer): Buffer {
  const bits = key.length * 8;
  const ecb = createCipheriv(`aes-${bits}-ecb`, key, null).setAutoPadding(false);
  const l = ecb.update(Buffer.alloc(16));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const blocks = Math.max(1, Math.ceil(message.length / 16));
  const complete = message.length > 0 && message.length % 16 === 0;
  const padded = Buffer.alloc(blocks * 16);
  message.copy(padded);
  if (!complete) padded[message.length] = 0x80;
  const mask = complete ? k1 : k2;
  const last = (blocks - 1) * 16;
  for (let i = 0; i < 16; i++) padded[last + i] = padded[last + i]! ^ mask[i]!;
  const cbc = createCipheriv(`aes-${bits}-cbc`, key, Buffer.alloc(16)).setAutoPadding(false);
  const out = Buffer.concat([cbc.update(padded), cbc.final()]);
  return out.subarray(out.length - 16);
}

/** Constant-time comparison; a MAC of another length is simply not equal. */
export function macEquals(expected: Uint8Array, given: Uint8Array): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}
