/**
 * Import (1.4 §4.41, 2.1 §6.1.25): creates, or with Replace Existing replaces, an object under the
 * Unique Identifier the client gives, with the attributes it gives (import-attributes.ts). It is how
 * keys move between servers keeping their identifiers — which vCenter stores with every encrypted VM —
 * so what Export answers here, Import takes back unchanged into another server. The object is checked
 * and stored as Register stores it (objects/registration.ts): material exactly as sent, or unwrapped
 * first when Key Wrap Type is Not Wrapped (import-unwrap.ts).
 *
 * Unique Identifiers are one namespace for the whole store, but a tenant sees only its own objects.
 * An identifier another tenant holds is answered exactly as one of the caller's own that exists
 * without Replace Existing — Object Already Exists, same message — whatever Replace Existing says:
 * the other object is never read beyond its existence, never replaced, and nothing about it is
 * told except that the identifier is taken (which any answer but success would tell).
 *
 * 1.4 §4.41 says Import SHOULD need special authorization, by the object owner or a security
 * officer. Here every registered certificate of a tenant owns all the tenant's objects and there is
 * no officer role, so any of them may import: the owner the SHOULD allows. What no owner may do
 * through other operations, Replace Existing does not do either: it never brings back an object
 * whose life has ended (Destroyed, Destroyed Compromised), that Revoke marked Compromised, or that
 * was deactivated (it could then be Active again with new material). Usage Limits are not guarded:
 * an owner changes them with Modify Attribute anyway.
 */
import type { OperationContext } from '../context.js';
import { featureNotSupported, invalidField, KmipError, missingData, permissionDenied } from '../errors.js';
import { KeyWrapType, ObjectType, Operation, ResultReason, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { effectiveState } from '../lifecycle.js';
import { ManagedObject } from '../managed-object.js';
import { AttributesV2Codec, AttributeV1Schema } from '../model/attributes.js';
import { sealObject } from '../objects/material.js';
import { OBJECT_TAGS, register as registration } from '../objects/registration.js';
import { importedTemplateNames } from '../objects/template.js';
import { boolean, enumeration, many, opt, raw, req, struct, text } from '../schema.js';
import { is2x } from '../version.js';
import { givenAttributes, importedAttributes } from './import-attributes.js';
import { isWrapped, unwrapForImport } from './import-unwrap.js';
import { objectsIn, OBJECT_FIELDS } from './get.js';
import { defineOperation } from './types.js';

const Request = struct('Import Request Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  // 2.1 requires it; 1.4's table leaves it out (its errors name it): there the object's tag says the type.
  objectType: opt(Tag.ObjectType, enumeration('ObjectType')),
  replaceExisting: opt(Tag.ReplaceExisting, boolean),
  keyWrapType: opt(Tag.KeyWrapType, enumeration('KeyWrapType')),
  attributes: many(Tag.Attribute, AttributeV1Schema, { until: 14 }),
  attributesV2: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  ...OBJECT_FIELDS,
});
const Response = struct('Import Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/**
 * Identifiers a client may choose: printable ASCII without spaces, as every identifier we know of
 * is, so none can hide in a log line or look like another; and short enough for every place that
 * carries one (the root-key provider's associated data, kmipctl's cursors).
 */
const CLIENT_UID = /^[\x21-\x7e]{1,200}$/;

const TYPE_BY_TAG = new Map(Object.entries(OBJECT_TAGS).map(([type, tag]) => [tag, Number(type)]));

const alreadyExists = (): KmipError =>
  new KmipError(ResultReason.ObjectAlreadyExists, 'an object with this Unique Identifier already exists (Replace Existing replaces one of your own)');

/** States a replacement cannot undo (see above); Permission Denied is the reason 2.1 §6.1.25.1 lists. */
const FINAL_STATES: ReadonlySet<number> = new Set([State.Destroyed, State.DestroyedCompromised, State.Compromised]);
const USABLE_STATES: ReadonlySet<number> = new Set([State.PreActive, State.Active]);

function checkReplaceable(existing: ManagedObject): void {
  if (FINAL_STATES.has(existing.state)) throw permissionDenied('Replace Existing cannot replace a Destroyed or Compromised object');
}

function checkNotRevived(existing: ManagedObject, replacement: number): void {
  if (existing.state === State.Deactivated && USABLE_STATES.has(replacement)) {
    throw permissionDenied('Replace Existing cannot make a Deactivated object Pre-Active or Active again');
  }
}

/**
 * Whether another tenant holds the identifier. The store keys objects by identifier alone, so the
 * insert would fail anyway; asking first gives the answer above instead of a misleading one.
 */
function heldByAnotherTenant(ctx: OperationContext, uid: string): Promise<boolean> {
  // Called once the caller's own tenant holds no such object: any holder is another tenant.
  return ctx.deps.store.uidInUse(uid);
}

export const importObject = defineOperation({
  operation: Operation.Import,
  name: 'Import',
  since: 14,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = req.uniqueIdentifier;
    if (!CLIENT_UID.test(uid)) throw invalidField('Unique Identifier must be 1 to 200 printable ASCII characters without spaces');
    ctx.auditObjectId = uid;
    const items = objectsIn(req);
    if (items.length !== 1) throw invalidField('Import carries exactly one object');
    if (is2x(ctx.version) && req.objectType === undefined) throw missingData('Object Type is required');
    if (is2x(ctx.version) && req.attributesV2 === undefined) throw missingData('Attributes is required');
    const objectType = req.objectType ?? TYPE_BY_TAG.get(items[0]!.tag);
    if (objectType === undefined) throw new KmipError(ResultReason.InvalidObjectType, 'this object type cannot be imported here');

    const record = await ctx.session.getForUpdate(uid);
    if (record ? !req.replaceExisting : await heldByAnotherTenant(ctx, uid)) throw alreadyExists();
    const nowMs = ctx.deps.now();
    const existing = record ? ManagedObject.fromRecord(record, nowMs) : undefined;
    // The store keeps an object's type for its life: a replacement of another type would be a new object.
    if (existing && existing.objectType !== objectType) throw featureNotSupported('Replace Existing cannot change the Object Type of an object');
    if (existing) checkReplaceable(existing);

    const given = givenAttributes(ctx, req.attributes, req.attributesV2);
    let item = items[0]!;
    if (req.keyWrapType === KeyWrapType.NotWrapped && isWrapped(item)) item = await unwrapForImport(ctx, item, uid);
    // A Template's own attributes are not what Register takes for one (its Names): see importedTemplateNames.
    const stated = objectType === ObjectType.Template ? importedTemplateNames(given) : given;
    const { object, derived } = await registration(objectType, item, stated, ctx);
    const plan = importedAttributes(ctx, given, { uid, objectType, derived });

    const obj = ManagedObject.create({ uid, tenantId: ctx.principal.tenantId, objectType, state: plan.state, createdAt: nowMs, attributes: plan.attributes, material: null });
    if (existing) checkNotRevived(existing, effectiveState(plan.state, obj.first('Activation Date') as number | undefined, obj.first('Deactivation Date') as number | undefined, Math.floor(nowMs / 1000)));
    obj.material = await sealObject(ctx, uid, object);
    // Fresh is the absence of a served time. A replacement keeps the replaced object's (the store
    // rewrites an object's state, attributes and material, not when it was last served).
    const stored = { ...obj.toRecord(nowMs), lastGetAt: plan.fresh ? null : nowMs };
    if (record) ctx.session.update(stored, record.revision);
    else ctx.session.insert(stored);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
