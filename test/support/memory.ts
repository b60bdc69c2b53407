/**
 * Process memory after a full garbage collection, for tests that bound growth. `gc` is reached
 * without --expose-gc (vitest's forks do not pass it): the flag is set at run time and the
 * function taken from a fresh context.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  // Twice: the first pass can leave garbage that only a second one frees (weak references, finalizers).
  gc();
  gc();
}

export interface MemorySample {
  readonly rssMb: number;
  /** V8 heap in use plus Buffer (ArrayBuffer) memory, which lives outside the heap. */
  readonly heapMb: number;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;

export function memorySample(): MemorySample {
  collectGarbage();
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapMb: mb(m.heapUsed + m.arrayBuffers) };
}
