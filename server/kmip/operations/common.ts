/** Helpers shared by operation handlers. */
import type { TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { featureNotSupported, invalidField, itemNotFound, KmipError, missingData, permissionDenied } from '../errors.js';
import { ResultReason } from '../generated/enums.js';
import { ManagedObject } from '../managed-object.js';
import {
  attributeDef,
  attributeFromV1,
  attributeFromV2,
  attributeToV1,
  AttributeV1Schema,
  type Attribute,
} from '../model/attributes.js';
import type { LinkValue, NameValue } from '../model/attribute-values.js';
import { overTemplates } from '../objects/template.js';
import { is2x } from '../version.js';
import { templatesNamed } from './template-names.js';

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
 * Loads an on-line object of the caller's tenant; another tenant's object is indistinguishable from none.
 * `forUpdate` when the operation will change it: writers of one object on this node then take turns.
 * An archived object must be recovered before any operation names it (1.4 §4 and 2.1 §6.1 introductions;
 * the 1.4 §11 tables give Object Archived for Get, Get Attributes, Destroy and the rest alike), so every
 * operation is refused here, in one place; only Recover reads archived objects (loadStoredObject).
 */
export async function loadObject(ctx: OperationContext, uid: string, forUpdate = false): Promise<ManagedObject> {
  const obj = await loadStoredObject(ctx, uid, forUpdate);
  if (isArchived(obj)) throw new KmipError(ResultReason.ObjectArchived, 'the object is archived: Recover it first');
  return obj;
}

/** Loads an object of the caller's tenant whether on-line or archived: for Recover only. */
export async function loadStoredObject(ctx: OperationContext, uid: string, forUpdate = false): Promise<ManagedObject> {
  const record = forUpdate ? await ctx.session.getForUpdate(uid) : await ctx.session.get(uid);
  if (!record) throw itemNotFound();
  return ManagedObject.fromRecord(record, ctx.deps.now());
}

/** The object a Link of this type names, if the object has one. */
export function linkTarget(obj: ManagedObject, type: number): string | undefined {
  return obj.instances('Link').map((l) => l.value as LinkValue).find((l) => l.linkType === type)?.linkedObjectIdentifier;
}

/**
 * Archived is the presence of Archive Date: the server sets it on Archive and deletes it on Recover
 * (1.4 §3.32, 2.1 §4.5), so the attribute is the state and the store needs nothing new.
 */
export function isArchived(obj: ManagedObject): boolean {
  return obj.first('Archive Date') !== undefined;
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

/**
 * The Template-Attribute a 1.x response returns for the attributes the server chose for the client
 * (a derived or joined key's); 2.x has no field for them.
 */
export function serverChosenTemplateAttribute(ctx: OperationContext, serverSet: readonly Attribute[]): TemplateAttributeV1 | undefined {
  if (serverSet.length === 0 || is2x(ctx.version)) return undefined;
  return { names: [], attributes: serverSet.map((a) => AttributeV1Schema.decode(attributeToV1(a, ctx), ctx)) };
}

/**
 * Attributes a client supplied in a 1.x Template-Attribute or a 2.x Attributes structure, validated;
 * with the attributes of the Templates a 1.x Template-Attribute names under them (template-names.ts).
 */
export async function requestAttributes(
  ctx: OperationContext,
  v1: TemplateAttributeV1 | undefined,
  v2: readonly TtlvItem[] | undefined,
  /** Server-set attributes a client may state anyway (the caller checks they agree with what the server derives). */
  tolerated: ReadonlySet<string> = new Set(),
): Promise<Attribute[]> {
  const explicit = clientAttributes(ctx, v1 && { names: [], attributes: v1.attributes }, v2, tolerated);
  if (!v1 || v1.names.length === 0) return explicit;
  return overTemplates(await templatesNamed(ctx, v1.names), explicit);
}

/**
 * Attributes a client supplied, validated, for operations that take no Templates: a Name item of a
 * 1.x Template-Attribute names a Template (1.4 §2.1.8) and is refused here; see requestAttributes.
 */
export function clientAttributes(
  ctx: OperationContext,
  v1: TemplateAttributeV1 | undefined,
  v2: readonly TtlvItem[] | undefined,
  tolerated: ReadonlySet<string> = new Set(),
): Attribute[] {
  if (v1 && v1.names.length > 0) throw featureNotSupported('this operation does not apply Templates: give the attributes themselves');
  const out: Attribute[] = [];
  // The object's own Names are Attribute items of the Template-Attribute.
  if (v1) for (const a of v1.attributes) out.push(attributeFromV1(a, ctx));
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
