/**
 * The rows of the attribute index for an object: one per distinct indexed (attribute name, equality key),
 * so repeated instances with one value share a row. Updates write only the difference.
 */
import { StoreError, StoreErrorCode } from './errors.js';
import type { StoredAttribute } from './store.js';

export interface IndexRow {
  readonly name: string;
  readonly key: string;
  readonly num: number | null;
}

const id = (name: string, key: string) => `${name}\u0000${key}`;

/**
 * Names are unique in a tenant. The database's unique index sees a clash between objects, but an
 * object's own two equal Names would share one row, so that clash is caught here, for every write.
 */
export function indexRows(attributes: readonly StoredAttribute[]): Map<string, IndexRow> {
  const rows = new Map<string, IndexRow>();
  for (const a of attributes) {
    if (!a.indexed) continue;
    const key = id(a.name, a.key);
    if (a.name === 'Name' && rows.has(key)) throw new StoreError(StoreErrorCode.Duplicate, 'an object would carry the same Name twice');
    rows.set(key, { name: a.name, key: a.key, num: a.num ?? null });
  }
  return rows;
}

/** Rows to delete and rows to insert to go from `before` to `after`. */
export function indexDiff(before: readonly StoredAttribute[], after: readonly StoredAttribute[]): { removed: IndexRow[]; added: IndexRow[] } {
  const old = indexRows(before);
  const next = indexRows(after);
  return {
    removed: [...old].filter(([k]) => !next.has(k)).map(([, r]) => r),
    added: [...next].filter(([k]) => !old.has(k)).map(([, r]) => r),
  };
}
