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
  /** A Name row of a destroyed object: outside the unique index, free for another object to take. */
  readonly released: boolean;
}

/** What the index is built from: an object's attributes and its state. */
export interface IndexedObject {
  readonly attributes: readonly StoredAttribute[];
  readonly state: number;
}

const id = (name: string, key: string) => `${name}\u0000${key}`;

export const isDestroyed = (state: number) => state === State.Destroyed || state === State.DestroyedCompromised;

/**
 * Names are unique among a tenant's objects that are not destroyed. Destroying an object releases its
 * Names: it keeps them as attributes (Get Attributes and a Locate of destroyed storage still show
 * them), but a new object may take them. The database's unique index covers the Name rows not
 * marked released, and a destroyed object's Name rows are marked. The mark is a column, not a
 * second row, so a server of schema 1 still running against a migrated database during a rolling
 * upgrade (it writes Name rows without the column) keeps its Names unique, and its Modify of a Name
 * leaves no row behind; its Destroy leaves the Name held, which is the safe side (see releaseChange).
 * The database sees a clash between objects; an object's own two equal Names would share one row,
 * so that clash is caught here, for every write.
 */
export function indexRows(o: IndexedObject): Map<string, IndexRow> {
  const rows = new Map<string, IndexRow>();
  const released = isDestroyed(o.state);
  for (const a of o.attributes) {
    if (!a.indexed) continue;
    const key = id(a.name, a.key);
    const isName = a.name === 'Name';
    if (isName && rows.has(key)) throw new StoreError(StoreErrorCode.Duplicate, 'an object would carry the same Name twice');
    rows.set(key, { name: a.name, key: a.key, num: a.num ?? null, released: isName && released });
  }
  return rows;
}

/**
 * Rows to delete and rows to insert to go from `before` to `after`; rows kept are matched on
 * (name, key) alone; whether they are released is set apart, by releaseChange.
 */
export function indexDiff(before: IndexedObject, after: IndexedObject): { removed: IndexRow[]; added: IndexRow[] } {
  const old = indexRows(before);
  const next = indexRows(after);
  return {
    removed: [...old].filter(([k]) => !next.has(k)).map(([, r]) => r),
    added: [...next].filter(([k]) => !old.has(k)).map(([, r]) => r),
  };
}

/**
 * How to mark the Name rows the object kept through an update, or undefined when nothing needs
 * writing: their keys (each an exact primary-key row) and the mark. A destroyed object's rows are
 * marked released on every change to it, not only on the change that destroys it: an object a
 * schema-1 server destroyed during a rolling upgrade holds its Names unmarked, and the next change
 * a newer server makes to it lets them go.
 */
export function releaseChange(before: IndexedObject, after: IndexedObject): { released: boolean; keys: string[] } | undefined {
  const released = isDestroyed(after.state);
  if (!released && !isDestroyed(before.state)) return undefined;
  const old = indexRows(before);
  const keys = [...indexRows(after)].filter(([k, r]) => r.name === 'Name' && old.has(k)).map(([, r]) => r.key);
  return keys.length > 0 ? { released, keys } : undefined;
}
