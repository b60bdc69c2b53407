/**
 * Random bits for fake ids: from crypto, or, when FAKE_TF_SEED is set, from a SHA-256 stream keyed
 * by the seed and what is being created, so the same configuration gets the same ids every run.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Rng {
  bytes(n: number): Buffer;
  hex(chars: number): string;
  uuid(): string;
  int(min: number, max: number): number;
  /** Letters and digits, for passwords and API keys. */
  token(chars: number): string;
}

function rngFrom(next: (n: number) => Buffer): Rng {
  const rng: Rng = {
    bytes: next,
    hex: (chars) => next(Math.ceil(chars / 2)).toString('hex').slice(0, chars),
    uuid: () => {
      const b = next(16);
      b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
      b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    int: (min, max) => min + (next(4).readUInt32BE(0) % (max - min + 1)),
    token: (chars) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      return [...next(chars)].map((b) => alphabet[b % alphabet.length]).join('');
    },
  };
  return rng;
}

export const randomRng = (): Rng => rngFrom((n) => randomBytes(n));

export function seededRng(...parts: string[]): Rng {
  const key = parts.join('\u0000');
  let counter = 0;
  let pool = Buffer.alloc(0);
  return rngFrom((n) => {
    while (pool.length < n) pool = Buffer.concat([pool, createHash('sha256').update(`${key}\u0000${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  });
}

/** A stable hex id for a name (resource groups, images): the same every run, seeded or not. */
export const stableHex = (chars: number, ...parts: string[]) => seededRng('stable', ...parts).hex(chars);
export const stableUuid = (...parts: string[]) => seededRng('stable', ...parts).uuid();
