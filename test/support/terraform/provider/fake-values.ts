/**
 * Realistic values for what a cloud decides at apply time (computed attributes left unknown in the
 * plan). Generic rules by attribute name and type come first; a provider's catalog adds ids, CRNs
 * and per-type values (ibm-catalog.ts).
 */
import type { Rng } from './rng.js';
import { attributeType, type JsonBlock, type TypeExpr } from './schema.js';
import { isRecord, UNKNOWN, type Value, type ValueRecord } from './values.js';

export interface FakeContext {
  readonly provider: string;
  readonly type: string;
  readonly region: string;
  readonly account: string;
  readonly resourceGroupId: string;
  readonly rng: Rng;
  /** RFC3339, fixed when ids are seeded. */
  readonly now: string;
  /** PEM of a real certificate, for credentials that carry a CA certificate. */
  readonly caCertPem: string;
  /** The object being filled, as far as it is known: later attributes may refer to earlier ones. */
  readonly object: ValueRecord;
  /** The object's own id (for a create, chosen before anything else is filled). */
  id: string;
}

/** A value for one attribute, by its dotted path in the type (`primary_network_interface.id`); undefined: use the generic rule. */
export type AttributeFake = (ctx: FakeContext, type: TypeExpr) => Value | undefined;

export interface FakeCatalog {
  /** The id of a new object. */
  id(ctx: FakeContext): string;
  /** A CRN for attribute `attr` (`crn`, `default_security_group_crn`...). */
  crn(ctx: FakeContext, attr: string): string;
  /** The id format of objects below the top level (nested `id` attributes). */
  childId(ctx: FakeContext): string;
  /** Per resource type, per dotted attribute path. */
  readonly attributes: Record<string, Record<string, AttributeFake>>;
}

const ipv4 = (ctx: FakeContext) => `10.240.${ctx.rng.int(0, 2) * 64}.${ctx.rng.int(4, 250)}`;

function fakeString(ctx: FakeContext, catalog: FakeCatalog, name: string, topLevel: boolean): string {
  if (name === 'id') return topLevel ? ctx.id : catalog.childId(ctx);
  if (name === 'crn' || name.endsWith('_crn')) return catalog.crn(ctx, name);
  if (name === 'guid') return ctx.rng.uuid();
  if (name === 'href') return `https://${ctx.region}.iaas.cloud.ibm.com/v1/${ctx.type.replace(/^ibm_is_/, '')}s/${ctx.id}`;
  if (/(_at|_date|_time|_on)$|^(created|updated|modified|last_)/.test(name)) return ctx.now;
  if (name === 'status') return ctx.type.startsWith('ibm_is_') ? 'available' : 'active';
  if (name === 'state' || name === 'resource_status' || name === 'provisioning_status') return 'active';
  if (name === 'health_state') return 'ok';
  if (name === 'lifecycle_state') return 'stable';
  if (name === 'operating_status') return 'online';
  if (name === 'resource_group' || name === 'resource_group_id') return ctx.resourceGroupId;
  if (name === 'resource_group_name') return 'Default';
  if (name === 'account_id') return ctx.account;
  if (name === 'zone' || name.endsWith('_zone') || name === 'zone_name') return `${ctx.region}-1`;
  if (name === 'region' || name === 'location' || name === 'region_location') return ctx.region;
  if (/cidr/.test(name)) return '10.240.0.0/24';
  if (/(^|_)(address|ip|ipv4)$|_ipv4_address$/.test(name)) return ipv4(ctx);
  if (name === 'hostname') return `${ctx.rng.hex(8)}-${ctx.region}.lb.appdomain.cloud`;
  if (/apikey|api_key/.test(name)) return ctx.rng.token(44);
  if (/password|secret/.test(name)) return ctx.rng.token(32);
  if (name === 'iam_id') return `iam-ServiceId-${ctx.rng.uuid()}`;
  if (/url$/.test(name)) return `https://cloud.ibm.com/fake/${ctx.type}/${encodeURIComponent(ctx.id)}`;
  if (name === 'resource_name') return typeof ctx.object['name'] === 'string' ? ctx.object['name'] : `fake-${ctx.rng.hex(6)}`;
  if (name === 'name' || name.endsWith('_name')) return `fake-${name.replace(/_?name$/, '') || ctx.type.replace(/^ibm_(is_)?/, '')}-${ctx.rng.hex(6)}`.replace(/_/g, '-');
  if (name.endsWith('_id')) return catalog.childId(ctx);
  return `fake-${ctx.rng.hex(8)}`;
}

function fakeNumber(name: string): number {
  if (/port/.test(name)) return 443;
  if (/count|total/.test(name)) return 1;
  if (/size|capacity|memory/.test(name)) return 100;
  return 0;
}

/** A whole value of a type, for an attribute the plan left unknown. */
export function fakeOfType(ctx: FakeContext, catalog: FakeCatalog, name: string, type: TypeExpr, topLevel: boolean): Value {
  if (type === 'string') return fakeString(ctx, catalog, name, topLevel);
  if (type === 'number') return fakeNumber(name);
  if (type === 'bool') return false;
  if (type === 'dynamic') return null;
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set' || kind === 'tuple') return [];
  if (kind === 'map') return {};
  const out: ValueRecord = {};
  for (const [attr, attrType] of Object.entries(inner as Record<string, TypeExpr>)) out[attr] = fakeOfType(ctx, catalog, attr, attrType, false);
  return out;
}

/** Fills unknowns inside a value that is partly known (a list with an unknown element, say). */
function fillType(ctx: FakeContext, catalog: FakeCatalog, name: string, type: TypeExpr, value: Value): Value {
  if (value === UNKNOWN) return fakeOfType(ctx, catalog, name, type, false);
  if (typeof type === 'string') return value;
  const [kind, inner] = type;
  if ((kind === 'list' || kind === 'set') && Array.isArray(value)) return value.map((v) => fillType(ctx, catalog, name, inner as TypeExpr, v));
  if (kind === 'map' && isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillType(ctx, catalog, k, inner as TypeExpr, v)]));
  if (kind === 'object' && isRecord(value)) {
    const attrs = inner as Record<string, TypeExpr>;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, attrs[k] ? fillType(ctx, catalog, k, attrs[k], v) : v]));
  }
  return value;
}

/**
 * Replaces every unknown in a planned object with a fake. CRN attributes go last, so they can name
 * the ids filled before them (a VPC's default_security_group_crn names its default_security_group).
 */
export function fillUnknowns(ctx: FakeContext, catalog: FakeCatalog, block: JsonBlock, value: ValueRecord, prefix = ''): ValueRecord {
  const out: ValueRecord = prefix === '' ? ctx.object : {};
  Object.assign(out, value);
  const fakes = catalog.attributes[ctx.type] ?? {};
  const attrs = Object.entries(block.attributes ?? {});
  const crnLast = [...attrs.filter(([n]) => !n.endsWith('crn')), ...attrs.filter(([n]) => n.endsWith('crn'))];
  for (const [name, attr] of crnLast) {
    const v = out[name] ?? null;
    const type = attributeType(attr);
    if (v === UNKNOWN) out[name] = fakes[`${prefix}${name}`]?.(ctx, type) ?? fakeOfType(ctx, catalog, name, type, prefix === '');
    else out[name] = fillType(ctx, catalog, name, type, v);
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    const v = out[name] ?? null;
    const fill = (el: Value) => (isRecord(el) ? fillUnknowns(ctx, catalog, nested.block, el, `${prefix}${name}.`) : el);
    if (v === UNKNOWN) out[name] = nested.nesting_mode === 'single' ? null : nested.nesting_mode === 'map' ? {} : [];
    else if (Array.isArray(v)) out[name] = v.map(fill);
    else if (isRecord(v) && nested.nesting_mode === 'map') out[name] = Object.fromEntries(Object.entries(v).map(([k, el]) => [k, fill(el)]));
    else out[name] = fill(v);
  }
  return out;
}
