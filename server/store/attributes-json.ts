/**
 * The stored form of an object's attributes (one JSON column), shared by the SQL backends. Fields:
 * n name, i index (omitted when 0), v value, k equality key, u numeric view for ranges, x 1 when
 * the value is in the attribute index. Locate's non-indexed
 * filters read n, k and u straight from this JSON inside SQL.
 */
import type { StoredAttribute } from './store.js';

interface StoredJson {
  n: string;
  i?: number;
  v: unknown;
  k: string;
  u?: number;
  x?: 1;
}

export function serializeAttributes(attributes: readonly StoredAttribute[]): string {
  return JSON.stringify(
    attributes.map((a): StoredJson => {
      const out: StoredJson = { n: a.name, v: a.value, k: a.key };
      if (a.index !== 0) out.i = a.index;
      if (a.num !== undefined) out.u = a.num;
      if (a.indexed) out.x = 1;
      return out;
    }),
  );
}

export function parseAttributes(text: string): StoredAttribute[] {
  const raw = JSON.parse(text) as StoredJson[];
  return raw.map((a) => ({ name: a.n, index: a.i ?? 0, value: a.v, key: a.k, num: a.u, indexed: a.x === 1 }));
}
