/**
 * Cryptographically secure random bytes, drawn from OpenSSL in 4 KiB blocks: with OpenSSL 3 every
 * RAND_bytes call carries a fixed cost that made small requests (IVs, keys) a tenth of a Create.
 * Each byte is handed out once and wiped from the pool as it leaves.
 */
import { randomFillSync } from 'node:crypto';

const BLOCK = 4096;
const pool = Buffer.alloc(BLOCK);
let offset = BLOCK;

export function randomBytesPooled(n: number): Buffer {
  if (n > BLOCK / 4) return randomFillSync(Buffer.alloc(n));
  if (offset + n > BLOCK) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of milliseconds, then 74 random bits. Identifiers that grow
 * with time append to the store's indexes instead of landing on a random page.
 */
export function uuidV7(now = Date.now()): string {
  const b = randomBytesPooled(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
