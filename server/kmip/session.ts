/**
 * A unit of work over the store for one batch item (or one Undo batch): reads see this session's
 * own pending writes, and the writes land together, atomically, on commit.
 */
import type { KeyStore, ObjectChange, ObjectRecord } from '../store/store.js';

interface Pending {
  object: ObjectRecord;
  readonly kind: 'insert' | 'update';
  readonly expectedRevision: number;
}

export class Session {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly store: KeyStore,
    readonly tenantId: string,
  ) {}

  async get(uid: string): Promise<ObjectRecord | undefined> {
    const p = this.pending.get(uid);
    if (p) return p.object;
    return this.store.getObject(this.tenantId, uid);
  }

  insert(object: ObjectRecord): void {
    this.pending.set(object.uid, { object, kind: 'insert', expectedRevision: 0 });
  }

  /** Records a new version of an object read through this session (same uid, revision = read revision + 1). */
  update(object: ObjectRecord, readRevision: number): void {
    const p = this.pending.get(object.uid);
    if (p) {
      p.object = { ...object, revision: p.kind === 'insert' ? p.object.revision : p.expectedRevision + 1 };
      return;
    }
    this.pending.set(object.uid, { object: { ...object, revision: readRevision + 1 }, kind: 'update', expectedRevision: readRevision });
  }

  get hasChanges(): boolean {
    return this.pending.size > 0;
  }

  changes(): ObjectChange[] {
    return [...this.pending.values()].map((p) =>
      p.kind === 'insert' ? { kind: 'insert', object: p.object } : { kind: 'update', object: p.object, expectedRevision: p.expectedRevision },
    );
  }

  async commit(): Promise<void> {
    if (this.pending.size === 0) return;
    await this.store.commit(this.changes());
    this.pending.clear();
  }

  discard(): void {
    this.pending.clear();
  }
}
