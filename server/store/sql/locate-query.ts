/**
 * The Locate query, shared by the SQL backends; only the placeholder syntax differs ("?" for
 * SQLite, "$n" for PostgreSQL). The first attribute filter drives the query through the attribute
 * index, so a search by name never walks a tenant's whole object list.
 */
import type { LocateQuery } from '../store.js';

export interface BuiltQuery {
  readonly sql: string;
  readonly params: unknown[];
}

export function buildLocateQuery(tenantId: string, q: LocateQuery, placeholder: (n: number) => string): { select: BuiltQuery; count: BuiltQuery } {
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return placeholder(params.length);
  };
  const where: string[] = [];
  const [first, ...rest] = q.attributes;
  let from = 'objects o';
  if (first) {
    from = 'object_index d JOIN objects o ON o.uid = d.uid';
    where.push(`d.tenant_id = ${p(tenantId)} AND d.name = ${p(first.name)} AND d.value = ${p(first.key)}`);
  }
  where.push(`o.tenant_id = ${p(tenantId)}`);
  if (q.objectType !== undefined) where.push(`o.object_type = ${p(q.objectType)}`);
  if (q.states && q.states.length > 0) where.push(`o.state IN (${q.states.map((s) => p(s)).join(', ')})`);
  for (const f of rest) {
    where.push(`EXISTS (SELECT 1 FROM object_index i WHERE i.uid = o.uid AND i.name = ${p(f.name)} AND i.value = ${p(f.key)})`);
  }
  for (const r of q.ranges) {
    const conds = ['i.uid = o.uid', `i.name = ${p(r.name)}`];
    if (r.min !== undefined) conds.push(`i.num >= ${p(r.min)}`);
    if (r.max !== undefined) conds.push(`i.num <= ${p(r.max)}`);
    where.push(`EXISTS (SELECT 1 FROM object_index i WHERE ${conds.join(' AND ')})`);
  }
  const body = `FROM ${from} WHERE ${where.join(' AND ')}`;
  const countParams = [...params];
  const limit = p(q.limit);
  const offset = p(q.offset);
  return {
    select: { sql: `SELECT DISTINCT o.uid AS uid, o.seq AS seq ${body} ORDER BY o.seq LIMIT ${limit} OFFSET ${offset}`, params },
    count: { sql: `SELECT COUNT(DISTINCT o.uid) AS n ${body}`, params: countParams },
  };
}
