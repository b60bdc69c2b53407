/**
 * The rows of the attribute index for an object: one per distinct indexed (attribute name, equality key),
 * so repeated instances with one value share a row. Updates write only the difference.
 */
import { State } from '../kmip/generated/enums.js';
import { StoreError, StoreErrorCode } from './errors.js';
import type { StoredAttribute } from './store.js';

export interface IndexRow {
  readonly name: string;
  readonly key: string;
  readonly num: number | null;
}

/** What the index is built from: an object's attributes and its state. */
export interface IndexedObject {
  readonly attributes: readonly StoredAttribute[];
  readonly state: number;
}

/**
 * The index row that holds a Name for uniqueness, beside the ordinary 'Name' row Locate reads. Not
 * an attribute name a client can use (those are the spec's names and custom x-/y- names).
 */
export const LIVE_NAME_ROW = 'Name/live';

const id = (name: string, key: string) => `${name}\u0000${key}`;

const isDestroyed = (state: number) => state === State.Destroyed || state === State.DestroyedCompromised;

/**
 * Names are unique among a tenant's objects that are not destroyed. Destroying an object releases its
 * Names: it keeps them as attributes (Get Attributes and a Locate of destroyed storage still show
 * them), but a new object may take them. So every Name of a live object has a second row under
 * LIVE_NAME_ROW, which the database's unique index covers, and a destroyed object has none. The
 * database sees a clash between objects; an object's own two equal Names would share one row, so
 * that clash is caught here, for every write.
 */
export function indexRows(o: IndexedObject): Map<string, IndexRow> {
  const rows = new Map<string, IndexRow>();
  const live = !isDestroyed(o.state);
  for (const a of o.attributes) {
    if (!a.indexed) continue;
    const key = id(a.name, a.key);
    if (a.name === 'Name') {
      if (rows.has(key)) throw new StoreError(StoreErrorCode.Duplicate, 'an object would carry the same Name twice');
      if (live) rows.set(id(LIVE_NAME_ROW, a.key), { name: LIVE_NAME_ROW, key: a.key, num: null });
    }
    rows.set(key, { name: a.name, key: a.key, num: a.num ?? null });
  }
  return rows;
}

/** Rows to delete and rows to insert to go from `before` to `after`. */
export function indexDiff(before: IndexedObject, after: IndexedObject): { removed: IndexRow[]; added: IndexRow[] } {
  const old = indexRows(before);
  const next = indexRows(after);
  return {
    removed: [...old].filter(([k]) => !next.has(k)).map(([, r]) => r),
    added: [...next].filter(([k]) => !old.has(k)).map(([, r]) => r),
  };
}
