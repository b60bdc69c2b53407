import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { KmipError } from '../errors.js';
import { CertificateRequestType, KeyFormatType, ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { holdsMaterial } from '../lifecycle.js';
import type { ManagedObject } from '../managed-object.js';
import { openObject } from '../objects/material.js';
import { convertAsymmetricKey } from '../objects/asymmetric-key.js';
import { readRequestObject } from '../objects/certificate-request.js';
import { pgpKeyBlock } from '../objects/pgp-key.js';
import { SecretDataSchema } from '../objects/schemas.js';
import { convertSymmetricKey } from '../objects/symmetric-key.js';
import { enumeration, opt, raw, req, STORAGE_CONTEXT, struct, text } from '../schema.js';
import { loadObject, resolveUid } from './common.js';
import { wrapForGet } from './get-wrap.js';
import { objectTypeExistsIn } from '../objects/object-type-versions.js';
import { defineOperation } from './types.js';

/** Get's request; Export's is the same (2.1 §6.1.18). */
export const GetRequestFields = {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  keyFormatType: opt(Tag.KeyFormatType, enumeration('KeyFormatType')),
  keyWrapType: opt(Tag.KeyWrapType, enumeration('KeyWrapType'), { since: 14 }),
  keyCompressionType: opt(Tag.KeyCompressionType, enumeration('KeyCompressionType')),
  keyWrappingSpecification: opt(Tag.KeyWrappingSpecification, raw),
};

const Request = struct('Get Request Payload', GetRequestFields);

/** The object travels as one item whose tag names its type (Symmetric Key, Certificate, …): the fields Get and Export return it in. */
export const OBJECT_FIELDS = {
  symmetricKey: opt(Tag.SymmetricKey, raw),
  publicKey: opt(Tag.PublicKey, raw),
  privateKey: opt(Tag.PrivateKey, raw),
  secretData: opt(Tag.SecretData, raw),
  opaqueObject: opt(Tag.OpaqueObject, raw),
  certificate: opt(Tag.Certificate, raw),
  splitKey: opt(Tag.SplitKey, raw),
  pgpKey: opt(Tag.PGPKey, raw, { since: 12 }),
  template: opt(Tag.Template, raw, { until: 14 }),
  certificateRequest: opt(Tag.CertificateRequest, raw, { since: 20 }),
};
export type ObjectField = keyof typeof OBJECT_FIELDS;

/** The object items a decoded payload with OBJECT_FIELDS carries (a valid one: exactly one). */
export function objectsIn(payload: { readonly [F in ObjectField]?: TtlvItem | undefined }): TtlvItem[] {
  return (Object.keys(OBJECT_FIELDS) as ObjectField[]).flatMap((f) => (payload[f] === undefined ? [] : [payload[f]!]));
}

/** The first object item of such a payload. */
export function objectIn(payload: { readonly [F in ObjectField]?: TtlvItem | undefined }): TtlvItem | undefined {
  return objectsIn(payload)[0];
}

const Response = struct('Get Response Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  ...OBJECT_FIELDS,
});

const FIELD_BY_TYPE: Readonly<Record<number, ObjectField>> = {
  [ObjectType.SymmetricKey]: 'symmetricKey',
  [ObjectType.PublicKey]: 'publicKey',
  [ObjectType.PrivateKey]: 'privateKey',
  [ObjectType.SecretData]: 'secretData',
  [ObjectType.OpaqueObject]: 'opaqueObject',
  [ObjectType.Certificate]: 'certificate',
  [ObjectType.SplitKey]: 'splitKey',
  [ObjectType.PGPKey]: 'pgpKey',
  [ObjectType.Template]: 'template',
  [ObjectType.CertificateRequest]: 'certificateRequest',
};

/**
 * Get serves the material in every state that still holds it — Pre-Active included, which vCenter
 * relies on, and Deactivated/Compromised so existing VMs can still unlock.
 */
export const get = defineOperation({
  operation: Operation.Get,
  name: 'Get',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    refuseCompression(req);
    const obj = await loadObject(ctx, uid);
    if (!holdsMaterial(obj.state) || !obj.material) throw new KmipError(ResultReason.ObjectDestroyed, 'object has been destroyed');
    const { field, object } = await releaseObject(ctx, obj, req);
    ctx.batch.idPlaceholder = uid;
    return { objectType: obj.objectType, uniqueIdentifier: uid, [field]: object };
  },
});

/** Get and Export answer a Key Compression Type before looking the object up: no compression is offered. */
export function refuseCompression(req: { readonly keyCompressionType?: number | undefined }): void {
  if (req.keyCompressionType !== undefined) throw new KmipError(ResultReason.KeyCompressionTypeNotSupported, 'key compression is not supported');
}

/** How a client asks for an object's material: Get's and Export's request fields (Export "as Get", 2.1 §6.1.18). */
export interface ReleaseOptions {
  readonly keyFormatType?: number | undefined;
  readonly keyWrappingSpecification?: TtlvItem | undefined;
}

/**
 * The material of an object that still holds it, as Get returns it: in the format and wrapping asked
 * for, under the Sensitive and Extractable rules, and recorded as served (which clears Fresh).
 */
export async function releaseObject(ctx: OperationContext, obj: ManagedObject, req: ReleaseOptions): Promise<{ field: ObjectField; object: TtlvItem }> {
  const uid = obj.uid;
  if (!obj.material) throw new KmipError(ResultReason.ObjectDestroyed, 'object has been destroyed');
  // An object of a type the client's version lacks (a Template for 2.x, a PGP Key for 1.0/1.1, a
  // Certificate Request for 1.x) has no field in its Get response: refused, never sent half-formed.
  if (!objectTypeExistsIn(ctx.version, obj.objectType)) throw new KmipError(ResultReason.InvalidObjectType, 'this object type does not exist in the client\'s KMIP version');
  // 1.4 §3.48/§3.49: a Sensitive object's material never leaves the server in clear (wrapped it may),
  // a non-Extractable one's never at all.
  if (obj.first('Sensitive') === true && !req.keyWrappingSpecification) throw new KmipError(ResultReason.Sensitive, 'the object is Sensitive: ask for it wrapped');
  if (obj.first('Extractable') === false) throw new KmipError(ResultReason.NotExtractable, 'the object is not Extractable');
  let object: TtlvItem = await openObject(ctx, uid, obj.material);
  if (req.keyFormatType !== undefined) object = convertFormat(obj.objectType, object, req.keyFormatType);
  const field = FIELD_BY_TYPE[obj.objectType];
  if (!field || object.type !== ItemType.Structure) throw new KmipError(ResultReason.GeneralFailure, 'stored object has an unexpected type');
  if (req.keyWrappingSpecification) object = await wrapForGet(ctx, req.keyWrappingSpecification, object, obj.objectType, uid);
  // Recording the Get is what clears Fresh (see ManagedObject): Get itself never writes.
  void ctx.deps.store.touch([uid], ctx.deps.now());
  return { field, object };
}

function convertFormat(objectType: number, object: TtlvItem, format: number): TtlvItem {
  if (objectType === ObjectType.SymmetricKey) return convertSymmetricKey(object, format);
  if (objectType === ObjectType.PrivateKey || objectType === ObjectType.PublicKey) return convertAsymmetricKey(objectType, object, format);
  if (objectType === ObjectType.SecretData && storedFormat(object) === format) return object;
  // Split Keys are kept in the only form they are registered in.
  if (objectType === ObjectType.SplitKey && format === KeyFormatType.Raw) return object;
  // PGP Keys are kept in the form they were registered in.
  if (objectType === ObjectType.PGPKey && pgpKeyBlock(object).keyFormatType === format) return object;
  // A Certificate Request is kept as registered: PKCS#10 (its default, 2.1 §4.26) is the DER request as sent.
  if (objectType === ObjectType.CertificateRequest && format === KeyFormatType.PKCS_10 && readRequestObject(object).type === CertificateRequestType.PKCS_10) return object;
  throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'key format type not supported for this object');
}

function storedFormat(object: TtlvItem): number | undefined {
  try {
    return SecretDataSchema.decode(object, STORAGE_CONTEXT).keyBlock.keyFormatType;
  } catch {
    return undefined;
  }
}
