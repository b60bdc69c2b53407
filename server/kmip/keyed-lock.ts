/**
 * Per-key FIFO locks within one process: writers of the same object on this node take turns
 * instead of colliding on its revision. Waiting is bounded; a timeout surfaces as a conflict.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly timeoutMs = 5000) {}

  /** Resolves with a release function once the key is ours. */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        previous,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('lock wait timed out'), { code: 'STORE_ERR_CONFLICT' })), this.timeoutMs);
        }),
      ]);
    } catch (err) {
      // Give our turn away at once so those behind us are not held up by a waiter that left.
      release();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  get size(): number {
    return this.tails.size;
  }
}
