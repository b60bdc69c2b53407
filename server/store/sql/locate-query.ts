/**
 * The Locate query, shared by the SQL backends. The most selective indexed filter drives: an
 * attribute equality through the index's primary key, else a date range through the range index,
 * else the tenant's objects. Other indexed equalities are exact primary-key probes, other indexed
 * ranges one set computed once. Filters on attributes that are not indexed (algorithm, length,
 * usage mask…: few distinct values, poor index keys) read the candidates' stored attribute JSON.
 */
import { isDestroyed } from '../index-rows.js';
import type { AttributeFilter, LocateQuery, RangeFilter } from '../store.js';

export interface BuiltQuery {
  readonly sql: string;
  readonly params: unknown[];
}

export interface SqlDialect {
  placeholder(n: number): string;
  /** A condition that the object `o` has an attribute element matching `match` (built from an element alias). */
  attributeExists(element: string, match: (field: (name: 'n' | 'k' | 'u') => string) => string): string;
}

export const SQLITE_DIALECT: SqlDialect = {
  placeholder: () => '?',
  attributeExists: (e, match) => `EXISTS (SELECT 1 FROM json_each(o.attributes) ${e} WHERE ${match((f) => `(${e}.value ->> '${f}')`)})`,
};

export const POSTGRES_DIALECT: SqlDialect = {
  placeholder: (n) => `$${n}`,
  attributeExists: (e, match) =>
    `EXISTS (SELECT 1 FROM jsonb_array_elements(o.attributes::jsonb) ${e} WHERE ${match((f) => (f === 'u' ? `(${e} ->> 'u')::float8` : `(${e} ->> '${f}')`))})`,
};

/** The attribute whose presence makes an object archived (KMIP Archive sets it, Recover deletes it). */
const ARCHIVE_DATE = 'Archive Date';

/** The conditions both Locate forms are made of, numbering their parameters in the order they are written. */
function conditionWriter(tenantId: string, dialect: SqlDialect) {
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  return {
    params,
    p,
    /** The object's own columns: tenant, type, freshness, states. */
    objectColumns(q: LocateQuery): string[] {
      const where = [`o.tenant_id = ${p(tenantId)}`];
      if (q.objectType !== undefined) where.push(`o.object_type = ${p(q.objectType)}`);
      if (q.excludedObjectTypes && q.excludedObjectTypes.length > 0) where.push(`o.object_type NOT IN (${q.excludedObjectTypes.map((t) => p(t)).join(', ')})`);
      if (q.fresh !== undefined) where.push(q.fresh ? 'o.last_get_at IS NULL' : 'o.last_get_at IS NOT NULL');
      if (q.states && q.states.length > 0) where.push(`o.state IN (${q.states.map((s) => p(s)).join(', ')})`);
      // Archive Date is indexed and only archived objects hold one. An uncorrelated set, computed once:
      // a probe per candidate would scan the tenant's archived rows for each (the index leads with value).
      if (q.archived !== undefined) {
        where.push(`o.seq ${q.archived ? '' : 'NOT '}IN (SELECT x.seq FROM object_index x WHERE x.tenant_id = ${p(tenantId)} AND x.name = ${p(ARCHIVE_DATE)})`);
      }
      return where;
    },
    indexRange: (alias: string, r: RangeFilter): string =>
      [`${alias}.tenant_id = ${p(tenantId)}`, `${alias}.name = ${p(r.name)}`, `${alias}.num IS NOT NULL`, ...(r.min !== undefined ? [`${alias}.num >= ${p(r.min)}`] : []), ...(r.max !== undefined ? [`${alias}.num <= ${p(r.max)}`] : [])].join(' AND '),
    /** An exact probe of the attribute index's primary key for object `o`. */
    indexProbe: (f: AttributeFilter): string =>
      `EXISTS (SELECT 1 FROM object_index i WHERE i.tenant_id = ${p(tenantId)} AND i.name = ${p(f.name)} AND i.value = ${p(f.key)} AND i.seq = o.seq)`,
    jsonEquality: (f: AttributeFilter, n: number): string => dialect.attributeExists(`a${n}`, (field) => `${field('n')} = ${p(f.name)} AND ${field('k')} = ${p(f.key)}`),
    jsonRange: (r: RangeFilter, n: number): string =>
      dialect.attributeExists(`r${n}`, (field) =>
        [`${field('n')} = ${p(r.name)}`, ...(r.min !== undefined ? [`${field('u')} >= ${p(r.min)}`] : []), ...(r.max !== undefined ? [`${field('u')} <= ${p(r.max)}`] : [])].join(' AND '),
      ),
  };
}

/**
 * Unique among a tenant's objects that are not destroyed (a unique index over its rows not marked
 * released says so): among those, a filter on it matches one object at most. Destroyed objects
 * keep their Names, so one Name may have any number of destroyed holders.
 */
const UNIQUE_ATTRIBUTE = 'Name';

/** The indexed equalities, a Name first: it is the filter that drives best. */
function indexedEqualities(q: LocateQuery): AttributeFilter[] {
  const equalities = q.attributes.filter((f) => f.indexed);
  const name = equalities.findIndex((f) => f.name === UNIQUE_ATTRIBUTE);
  if (name > 0) equalities.unshift(...equalities.splice(name, 1));
  return equalities;
}

/** Whether the query looks only at objects that are not destroyed (given states, none of them a destroyed one). */
function liveOnly(q: LocateQuery): boolean {
  return q.states !== undefined && q.states.length > 0 && !q.states.some(isDestroyed);
}

/** Whether the query is driven by a Name among live objects, so it has one candidate at most and needs no count. */
export function drivenByUniqueAttribute(q: LocateQuery): boolean {
  return indexedEqualities(q)[0]?.name === UNIQUE_ATTRIBUTE && liveOnly(q);
}

export function buildLocateQuery(tenantId: string, q: LocateQuery, dialect: SqlDialect): { select: BuiltQuery; count: BuiltQuery } {
  const w = conditionWriter(tenantId, dialect);
  const where: string[] = [];
  let from = 'objects o';
  const equalities = indexedEqualities(q);
  const ranges = q.ranges.filter((r) => r.indexed);
  if (equalities[0]) {
    from = 'object_index d JOIN objects o ON o.seq = d.seq';
    where.push(`d.tenant_id = ${w.p(tenantId)} AND d.name = ${w.p(equalities[0].name)} AND d.value = ${w.p(equalities[0].key)}`);
    // The one row the unique index allows, when only live objects are wanted: released rows are destroyed holders'.
    if (equalities[0].name === UNIQUE_ATTRIBUTE && liveOnly(q)) where.push('NOT d.released');
    equalities.shift();
  } else if (ranges[0]) {
    from = 'object_index d JOIN objects o ON o.seq = d.seq';
    where.push(w.indexRange('d', ranges[0]));
    ranges.shift();
  }
  where.push(...w.objectColumns(q));
  for (const f of equalities) where.push(w.indexProbe(f));
  for (const r of ranges) where.push(`o.seq IN (SELECT r.seq FROM object_index r WHERE ${w.indexRange('r', r)})`);
  q.attributes.filter((f) => !f.indexed).forEach((f, n) => where.push(w.jsonEquality(f, n)));
  q.ranges.filter((r) => !r.indexed).forEach((r, n) => where.push(w.jsonRange(r, n)));
  const body = `FROM ${from} WHERE ${where.join(' AND ')}`;
  const countParams = [...w.params];
  const limit = w.p(q.limit);
  const offset = w.p(q.offset);
  return {
    select: { sql: `SELECT DISTINCT o.uid AS uid, o.seq AS seq ${body} ORDER BY o.seq LIMIT ${limit} OFFSET ${offset}`, params: w.params },
    count: { sql: `SELECT COUNT(DISTINCT o.uid) AS n ${body}`, params: countParams },
  };
}

/** How many objects a Locate may have to read before it is run in slices (see buildWindowedLocate). */
export function buildCandidateCount(tenantId: string, q: LocateQuery, dialect: SqlDialect): BuiltQuery {
  const first = indexedEqualities(q)[0];
  if (first) {
    return {
      sql: `SELECT COUNT(*) AS n FROM object_index WHERE tenant_id = ${dialect.placeholder(1)} AND name = ${dialect.placeholder(2)} AND value = ${dialect.placeholder(3)}`,
      params: [tenantId, first.name, first.key],
    };
  }
  return { sql: `SELECT COUNT(*) AS n FROM objects WHERE tenant_id = ${dialect.placeholder(1)}`, params: [tenantId] };
}

/**
 * The same Locate over one slice of the object sequence, `lo < seq <= hi` (params 0 and 1), read
 * through the primary key so a slice costs what it holds and no more. Indexed equalities become
 * probes of their index and every range is checked on the object's own attributes, so no
 * condition is evaluated over the whole table once per slice. Every matching uid, in seq order.
 * SQLite only (NOT INDEXED): the one backend whose queries run on the event loop.
 */
export function buildWindowedLocate(tenantId: string, q: LocateQuery): BuiltQuery {
  const w = conditionWriter(tenantId, SQLITE_DIALECT);
  const where = [`o.seq > ${w.p(0)} AND o.seq <= ${w.p(0)}`, ...w.objectColumns(q)];
  for (const f of q.attributes.filter((a) => a.indexed)) where.push(w.indexProbe(f));
  q.attributes.filter((f) => !f.indexed).forEach((f, n) => where.push(w.jsonEquality(f, n)));
  q.ranges.forEach((r, n) => where.push(w.jsonRange(r, n)));
  return { sql: `SELECT o.uid AS uid FROM objects o NOT INDEXED WHERE ${where.join(' AND ')} ORDER BY o.seq`, params: w.params };
}
