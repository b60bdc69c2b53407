/** The stored form of an object's attributes (one JSON column), shared by the SQL backends. */
import type { StoredAttribute } from './store.js';

export function serializeAttributes(attributes: readonly StoredAttribute[]): string {
  return JSON.stringify(attributes.map((a) => ({ n: a.name, i: a.index, v: a.value, k: a.key, ...(a.num === undefined ? {} : { u: a.num }) })));
}

export function parseAttributes(text: string): StoredAttribute[] {
  const raw = JSON.parse(text) as Array<{ n: string; i: number; v: unknown; k: string; u?: number }>;
  return raw.map((a) => ({ name: a.n, index: a.i, value: a.v, key: a.k, num: a.u }));
}
