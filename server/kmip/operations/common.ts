/** Helpers shared by operation handlers. */
import type { TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { invalidField, itemNotFound, KmipError, missingData, permissionDenied } from '../errors.js';
import { ResultReason } from '../generated/enums.js';
import { ManagedObject } from '../managed-object.js';
import {
  attributeDef,
  attributeFromV1,
  attributeFromV2,
  type Attribute,
} from '../model/attributes.js';
import type { NameValue } from '../model/attribute-values.js';
import { is2x } from '../version.js';

export function nowSeconds(ctx: OperationContext): number {
  return Math.floor(ctx.deps.now() / 1000);
}

/** The Unique Identifier of the request, or the batch's ID Placeholder when it is omitted. */
export function resolveUid(ctx: OperationContext, uid: string | undefined): string {
  const resolved = uid ?? ctx.batch.idPlaceholder;
  if (resolved === undefined) throw missingData('Unique Identifier is required (no ID Placeholder is set in this batch)');
  ctx.auditObjectId = resolved;
  return resolved;
}

/**
 * Loads an object of the caller's tenant; another tenant's object is indistinguishable from none.
 * `forUpdate` when the operation will change it: writers of one object on this node then take turns.
 */
export async function loadObject(ctx: OperationContext, uid: string, forUpdate = false): Promise<ManagedObject> {
  const record = forUpdate ? await ctx.session.getForUpdate(uid) : await ctx.session.get(uid);
  if (!record) throw itemNotFound();
  return ManagedObject.fromRecord(record, ctx.deps.now());
}

/**
 * Always Sensitive and Never Extractable say the object has been Sensitive, or not Extractable,
 * all its life (1.4 §3.49, §3.51): the first change that ends that turns them false for good.
 */
function keepSensitivityHistory(obj: ManagedObject): void {
  if (obj.first('Always Sensitive') === true && obj.first('Sensitive') !== true) obj.set('Always Sensitive', false);
  if (obj.first('Never Extractable') === true && obj.first('Extractable') !== false) obj.set('Never Extractable', false);
}

/** Queues a changed (or new) object for this item's commit, stamping Last Change Date. */
export function saveObject(ctx: OperationContext, obj: ManagedObject, isNew = false): void {
  keepSensitivityHistory(obj);
  obj.set('Last Change Date', nowSeconds(ctx));
  const record = obj.toRecord(ctx.deps.now());
  if (isNew) ctx.session.insert(record);
  else ctx.session.update(record, obj.readRevision);
}

export interface TemplateAttributeV1 {
  readonly names: readonly NameValue[];
  readonly attributes: ReadonlyArray<{ attributeName: string; attributeIndex?: number | undefined; attributeValue?: TtlvItem | undefined }>;
}

/** Attributes a client supplied in a 1.x Template-Attribute or a 2.x Attributes structure, validated. */
export function clientAttributes(
  ctx: OperationContext,
  v1: TemplateAttributeV1 | undefined,
  v2: readonly TtlvItem[] | undefined,
  /** Server-set attributes a client may state anyway (the caller checks they agree with what the server derives). */
  tolerated: ReadonlySet<string> = new Set(),
): Attribute[] {
  const out: Attribute[] = [];
  if (v1) {
    for (const name of v1.names) out.push({ name: 'Name', index: 0, value: name });
    for (const a of v1.attributes) out.push(attributeFromV1(a, ctx));
  }
  if (v2) for (const item of v2) out.push(attributeFromV2(item, ctx));
  const seen = new Map<string, number>();
  for (const a of out) {
    const def = attributeDef(a.name, ctx.version)!;
    if (!def.clientSets && !tolerated.has(a.name)) throw readOnlyAttribute(a.name);
    const count = (seen.get(a.name) ?? 0) + 1;
    seen.set(a.name, count);
    if (!def.multi && count > 1) throw new KmipError(ResultReason.AttributeSingleValued, `attribute ${a.name} may appear only once`);
  }
  return out;
}

export function readOnlyAttribute(name: string): KmipError {
  return new KmipError(ResultReason.ReadOnlyAttribute, `attribute ${name} is set by the server`);
}

/** Adds client attributes to a new object, numbering repeated instances 0, 1, 2… */
export function applyClientAttributes(obj: ManagedObject, attributes: readonly Attribute[]): void {
  for (const a of attributes) obj.add(a.name, a.value);
}

export function requireInt(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidField(`${name} is required`);
  return value;
}

export { permissionDenied, is2x };
