import type { AttributeFilter, RangeFilter } from '../../store/store.js';
import type { OperationContext } from '../context.js';
import { invalidField, KmipError } from '../errors.js';
import { Operation, ResultReason, State, StorageStatusMask } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { encodeAttributeValue, ManagedObject } from '../managed-object.js';
import { attributeDef, attributeFromV1, attributeFromV2, AttributesV2Codec, AttributeV1Schema, type Attribute } from '../model/attributes.js';
import { dateTime, enumeration, integer, many, mask, opt, struct, text } from '../schema.js';
import { is2x, type KmipVersion } from '../version.js';
import { objectTypeExistsIn } from '../objects/object-type-versions.js';
import { REGISTERABLE_TYPES } from '../objects/registration.js';
import { LIVE_STATES } from '../lifecycle.js';
import { isArchived } from './common.js';
import { defineOperation } from './types.js';

const Request = struct('Locate Request Payload', {
  maximumItems: opt(Tag.MaximumItems, integer),
  offsetItems: opt(Tag.OffsetItems, integer, { since: 13 }),
  storageStatusMask: opt(Tag.StorageStatusMask, mask('StorageStatusMask'), { since: 13 }),
  objectGroupMember: opt(Tag.ObjectGroupMember, enumeration('ObjectGroupMember'), { since: 13 }),
  attributes: many(Tag.Attribute, AttributeV1Schema, { until: 14 }),
  attributesV2: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Locate Response Payload', {
  locatedItems: opt(Tag.LocatedItems, integer, { since: 13 }),
  uniqueIdentifiers: many(Tag.UniqueIdentifier, text),
});

const DESTROYED_STATES: number[] = [State.Destroyed, State.DestroyedCompromised];

interface Criteria {
  uid?: string;
  objectType?: number;
  fresh?: boolean;
  states?: number[];
  attributes: AttributeFilter[];
  ranges: RangeFilter[];
}

/** Turns the request's attributes into store criteria: equality per instance, a range for a date given twice. */
function criteria(attrs: readonly Attribute[]): Criteria {
  const out: Criteria = { attributes: [], ranges: [] };
  const byName = new Map<string, Attribute[]>();
  for (const a of attrs) byName.set(a.name, [...(byName.get(a.name) ?? []), a]);
  for (const [name, instances] of byName) {
    if (name === 'Object Type') {
      if (instances.length > 1) throw invalidField('Object Type may be given once');
      out.objectType = instances[0]!.value as number;
    } else if (name === 'State') {
      out.states = instances.map((i) => i.value as number);
    } else if (name === 'Fresh') {
      // A column (never served yet), not a stored attribute: the store compares it.
      if (instances.length > 1) throw invalidField('Fresh may be given once');
      out.fresh = instances[0]!.value as boolean;
    } else if (name === 'Short Unique Identifier') {
      // A hash of the Unique Identifier, computed when read (managed-object.ts): nothing the store could search.
      throw new KmipError(ResultReason.FeatureNotSupported, 'Locate by Short Unique Identifier is not supported; give the Unique Identifier');
    } else if (name === 'Unique Identifier') {
      if (instances.length > 1) throw invalidField('Unique Identifier may be given once');
      out.uid = instances[0]!.value as string;
    } else if (attributeDef(name)?.codec === dateTime && instances.length === 2) {
      const [a, b] = instances.map((i) => i.value as number).sort((x, y) => x - y);
      out.ranges.push({ name, min: a, max: b, indexed: attributeDef(name)!.index === 'range' });
    } else {
      for (const i of instances) {
        const { key, indexed } = encodeAttributeValue(name, i.value);
        out.attributes.push({ name, key, indexed });
      }
    }
  }
  return out;
}

/**
 * Which objects the Storage Status Mask asks for (1.4 §4.9, 2.1 §6.1.27): on-line ones (the
 * default), archived ones (those with an Archive Date, whatever their state), and in 2.x destroyed
 * ones. The states the mask allows, narrowed by any State the client asked for, and whether the
 * object must be archived (true), must not be (false), or may be either (undefined).
 */
function storageFor(mask: number | undefined, requested: number[] | undefined, version: number): { states: number[]; archived: boolean | undefined } {
  const m = mask ?? StorageStatusMask.OnLineStorage;
  const online = (m & StorageStatusMask.OnLineStorage) !== 0;
  const archival = (m & StorageStatusMask.ArchivalStorage) !== 0;
  const destroyed = is2x(version) && (m & StorageStatusMask.DestroyedStorage) !== 0;
  const allowed = [...(online || archival ? LIVE_STATES : []), ...(destroyed || (archival && is2x(version)) ? DESTROYED_STATES : [])];
  const states = requested ? requested.filter((s) => allowed.includes(s)) : allowed;
  // An archived object is off-line: only the Archival bit finds it; with Archival alone, only archived ones.
  const archived = archival ? (online || destroyed ? undefined : true) : false;
  return { states, archived };
}

/**
 * Stored object types the client's version does not define (a Template for 2.x, a PGP Key for 1.0/1.1,
 * a Certificate Request for 1.x): Locate does not return what the client could not Get. Built once per version.
 */
const EXCLUDED_BY_VERSION = new Map<number, readonly number[]>();
function excludedObjectTypes(version: KmipVersion): readonly number[] {
  let list = EXCLUDED_BY_VERSION.get(version);
  if (!list) {
    list = REGISTERABLE_TYPES.filter((t) => !objectTypeExistsIn(version, t));
    EXCLUDED_BY_VERSION.set(version, list);
  }
  return list;
}

/** Locate naming a Unique Identifier: that one object, if it meets every other criterion. */
async function locateOne(ctx: OperationContext, c: Criteria, states: readonly number[], archived: boolean | undefined): Promise<{ uids: string[]; total: number }> {
  const record = await ctx.session.get(c.uid!);
  if (!record) return { uids: [], total: 0 };
  const obj = ManagedObject.fromRecord(record, ctx.deps.now());
  const keysOf = (name: string) => obj.instances(name).map((a) => encodeAttributeValue(name, a.value));
  const matches =
    states.includes(obj.state) &&
    (archived === undefined || archived === isArchived(obj)) &&
    (c.objectType === undefined || c.objectType === obj.objectType) &&
    !excludedObjectTypes(ctx.version).includes(obj.objectType) &&
    (c.fresh === undefined || c.fresh === (record.lastGetAt === null)) &&
    c.attributes.every((f) => keysOf(f.name).some((k) => k.key === f.key)) &&
    c.ranges.every((r) => obj.instances(r.name).some((a) => typeof a.value === 'number' && a.value >= (r.min ?? -Infinity) && a.value <= (r.max ?? Infinity)));
  return matches ? { uids: [obj.uid], total: 1 } : { uids: [], total: 0 };
}

export const locate = defineOperation({
  operation: Operation.Locate,
  name: 'Locate',
  readOnly: true,
  request: Request,
  response: Response,
  async handle(ctx: OperationContext, req) {
    const attrs = is2x(ctx.version) ? (req.attributesV2 ?? []).map((i) => attributeFromV2(i, ctx, 'match')) : req.attributes.map((a) => attributeFromV1(a, ctx, 'match'));
    const c = criteria(attrs);
    if (req.maximumItems !== undefined && req.maximumItems < 0) throw invalidField('Maximum Items must not be negative');
    if (req.offsetItems !== undefined && req.offsetItems < 0) throw invalidField('Offset Items must not be negative');
    const { states, archived } = storageFor(req.storageStatusMask, c.states, ctx.version);
    const paging = ctx.version >= 13 && (req.maximumItems !== undefined || req.offsetItems !== undefined);
    const limit = Math.min(req.maximumItems ?? ctx.deps.limits.maxLocateItems, ctx.deps.limits.maxLocateItems);
    const result =
      states.length === 0 || limit === 0
        ? { uids: [], total: 0 }
        : c.uid !== undefined
          ? await locateOne(ctx, c, states, archived)
          : await ctx.deps.store.locate(ctx.principal.tenantId, {
            objectType: c.objectType,
            excludedObjectTypes: excludedObjectTypes(ctx.version),
            fresh: c.fresh,
            states,
            archived,
            attributes: c.attributes,
            ranges: c.ranges,
            offset: req.offsetItems ?? 0,
            limit,
            withTotal: paging,
            signal: ctx.signal,
          });
    if (result.uids[0] !== undefined) ctx.batch.idPlaceholder = result.uids[0];
    // Located Items is optional (1.3+); it matters to clients that page, so only they get it.
    return { locatedItems: paging ? result.total : undefined, uniqueIdentifiers: result.uids };
  },
});
