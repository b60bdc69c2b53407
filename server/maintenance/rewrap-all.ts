/**
 * Rewraps every object's material to the root key's current version (after a rotation, before an
 * old version is retired). Idempotent and resumable: objects already current are skipped without a
 * call, and a cursor (the last Unique Identifier done) lets a stopped run continue where it was.
 */
import type { KeyStore } from '../store/store.js';
import type { KeyWrapper } from '../wrap/wrapper.js';

export interface RewrapProgress {
  readonly total: number;
  readonly done: number;
  readonly rewrapped: number;
  readonly current: number;
  readonly failed: number;
  /** Pass back as `after` to continue a stopped run. */
  readonly cursor: string | undefined;
  readonly version: string;
}

export async function rewrapAll(
  store: KeyStore,
  wrapper: KeyWrapper,
  options: { after?: string | undefined; batch?: number; signal?: AbortSignal; onProgress?: (p: RewrapProgress) => void },
): Promise<RewrapProgress> {
  const version = await wrapper.currentVersion(options.signal);
  const counts = await store.countObjectsByState();
  const total = counts.reduce((s, c) => s + c.count, 0);
  let progress: RewrapProgress = { total, done: 0, rewrapped: 0, current: 0, failed: 0, cursor: options.after, version };
  for (;;) {
    if (options.signal?.aborted) break;
    const page = await store.listObjects({ limit: options.batch ?? 100, ...(progress.cursor ? { afterUid: progress.cursor } : {}) });
    if (page.length === 0) break;
    for (const summary of page) {
      let { rewrapped, current, failed } = progress;
      try {
        if (await rewrapOne(store, wrapper, summary.tenantId, summary.uid, version, options.signal)) rewrapped++;
        else current++;
      } catch {
        failed++;
      }
      progress = { ...progress, done: progress.done + 1, rewrapped, current, failed, cursor: summary.uid };
    }
    options.onProgress?.(progress);
  }
  return progress;
}

/** True when the object moved to `version`; false when it was already there or holds no material. */
async function rewrapOne(store: KeyStore, wrapper: KeyWrapper, tenantId: string, uid: string, version: string, signal?: AbortSignal): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const record = await store.getObject(tenantId, uid);
    if (!record?.material || record.material.rootKeyVersion === version) return false;
    const next = await wrapper.rewrap(record.material, uid, signal);
    try {
      await store.commit([{ kind: 'update', object: { ...record, material: next, revision: record.revision + 1, updatedAt: Date.now() }, expectedRevision: record.revision }]);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code !== 'STORE_ERR_CONFLICT') throw err;
    }
  }
  throw new Error(`object ${uid} kept changing during rewrap`);
}
