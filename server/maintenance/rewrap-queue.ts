/**
 * Persists the ciphertexts Key Protect hands back when it unwrapped with an older root-key version,
 * off the request path: a bounded, de-duplicated queue worked through one object at a time. An
 * object changed meanwhile keeps its (still valid) older ciphertext; the next Get offers it again.
 */
import type { KeyStore, WrappedMaterial } from '../store/store.js';

interface Job {
  readonly tenantId: string;
  readonly uid: string;
  readonly previous: WrappedMaterial;
  readonly next: WrappedMaterial;
}

function sameMaterial(a: WrappedMaterial | null, b: WrappedMaterial): boolean {
  return !!a && a.rootKeyVersion === b.rootKeyVersion && a.rootKeyId === b.rootKeyId && Buffer.compare(Buffer.from(a.ciphertext), Buffer.from(b.ciphertext)) === 0;
}

export class RewrapQueue {
  private readonly jobs = new Map<string, Job>();
  private running = false;
  /** Objects moved to a newer root-key version so far. */
  persisted = 0;

  constructor(
    private readonly store: KeyStore,
    private readonly options: { maxPending?: number; onError?: (err: unknown) => void; onPersisted?: () => void } = {},
  ) {}

  offer(tenantId: string, uid: string, previous: WrappedMaterial, next: WrappedMaterial): void {
    if (this.jobs.has(uid) || this.jobs.size >= (this.options.maxPending ?? 1000)) return;
    this.jobs.set(uid, { tenantId, uid, previous, next });
    if (!this.running) void this.drain();
  }

  get pending(): number {
    return this.jobs.size;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (const [uid, job] of this.jobs) {
        this.jobs.delete(uid);
        try {
          const current = await this.store.getObject(job.tenantId, job.uid);
          if (!current || !sameMaterial(current.material, job.previous)) continue;
          await this.store.commit([{ kind: 'update', object: { ...current, material: job.next, revision: current.revision + 1, updatedAt: Date.now() }, expectedRevision: current.revision }]);
          this.persisted++;
          this.options.onPersisted?.();
        } catch (err) {
          this.options.onError?.(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
