/**
 * A unit of work over the store for one batch item (or one Undo batch): reads see this session's
 * own pending writes, and the writes land together, atomically, on commit.
 */
import type { KeyStore, ObjectChange, ObjectRecord } from '../store/store.js';
import type { KeyedLock } from './keyed-lock.js';

interface Pending {
  object: ObjectRecord;
  readonly kind: 'insert' | 'update';
  readonly expectedRevision: number;
}

export class Session {
  private readonly pending = new Map<string, Pending>();
  private readonly held = new Map<string, () => void>();

  constructor(
    private readonly store: KeyStore,
    readonly tenantId: string,
    private readonly locks?: KeyedLock,
  ) {}

  async get(uid: string): Promise<ObjectRecord | undefined> {
    const p = this.pending.get(uid);
    if (p) return p.object;
    return this.store.getObject(this.tenantId, uid);
  }

  /** Reads an object this session means to change, holding this node's lock on it until commit or discard. */
  async getForUpdate(uid: string): Promise<ObjectRecord | undefined> {
    if (this.locks && !this.held.has(uid)) this.held.set(uid, await this.locks.acquire(`${this.tenantId}/${uid}`));
    return this.get(uid);
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
    try {
      if (this.pending.size > 0) await this.store.commit(this.changes());
    } finally {
      this.discard();
    }
  }

  /** Drops pending changes and releases every lock held. */
  discard(): void {
    this.pending.clear();
    for (const release of this.held.values()) release();
    this.held.clear();
  }
}
