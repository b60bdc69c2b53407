/**
 * Unwrapped material, kept for a bounded time and count so Gets need not call Key Protect each
 * time. The time to live is the bound on how long keys stay releasable after the customer
 * disables the root key. Entries are wiped when they leave; callers get copies.
 */
import { createHash } from 'node:crypto';

interface Entry {
  readonly plaintext: Buffer;
  readonly expires: number;
}

export class UnwrapCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  static key(ciphertext: Uint8Array, aad: string): string {
    return `${createHash('sha256').update(ciphertext).digest('base64')}/${aad}`;
  }

  get(key: string): Uint8Array | undefined {
    if (this.ttlMs <= 0) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.drop(key, e);
      return undefined;
    }
    return new Uint8Array(e.plaintext);
  }

  set(key: string, plaintext: Uint8Array): void {
    if (this.ttlMs <= 0) return;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    while (this.entries.size >= this.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.drop(oldest, entry);
    }
    this.entries.set(key, { plaintext: Buffer.from(plaintext), expires: this.now() + this.ttlMs });
  }

  clear(): void {
    for (const [k, e] of this.entries) this.drop(k, e);
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string, e: Entry): void {
    e.plaintext.fill(0);
    this.entries.delete(key);
  }
}
