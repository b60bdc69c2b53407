import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { KmipError } from '../errors.js';
import { ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { holdsMaterial } from '../lifecycle.js';
import { openObject } from '../objects/material.js';
import { convertAsymmetricKey } from '../objects/asymmetric-key.js';
import { SecretDataSchema } from '../objects/schemas.js';
import { convertSymmetricKey } from '../objects/symmetric-key.js';
import { enumeration, opt, raw, req, STORAGE_CONTEXT, struct, text } from '../schema.js';
import { loadObject, resolveUid } from './common.js';
import { wrapForGet } from './get-wrap.js';
import { defineOperation } from './types.js';

const Request = struct('Get Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  keyFormatType: opt(Tag.KeyFormatType, enumeration('KeyFormatType')),
  keyWrapType: opt(Tag.KeyWrapType, enumeration('KeyWrapType'), { since: 14 }),
  keyCompressionType: opt(Tag.KeyCompressionType, enumeration('KeyCompressionType')),
  keyWrappingSpecification: opt(Tag.KeyWrappingSpecification, raw),
});

/** The object travels as one item whose tag names its type (Symmetric Key, Certificate, …). */
const Response = struct('Get Response Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  symmetricKey: opt(Tag.SymmetricKey, raw),
  publicKey: opt(Tag.PublicKey, raw),
  privateKey: opt(Tag.PrivateKey, raw),
  secretData: opt(Tag.SecretData, raw),
  opaqueObject: opt(Tag.OpaqueObject, raw),
  certificate: opt(Tag.Certificate, raw),
});

const FIELD_BY_TYPE: Readonly<Record<number, keyof typeof Response.fields>> = {
  [ObjectType.SymmetricKey]: 'symmetricKey',
  [ObjectType.PublicKey]: 'publicKey',
  [ObjectType.PrivateKey]: 'privateKey',
  [ObjectType.SecretData]: 'secretData',
  [ObjectType.OpaqueObject]: 'opaqueObject',
  [ObjectType.Certificate]: 'certificate',
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
    if (req.keyCompressionType !== undefined) {
      throw new KmipError(ResultReason.KeyCompressionTypeNotSupported, 'key compression is not supported');
    }
    const obj = await loadObject(ctx, uid);
    if (!holdsMaterial(obj.state) || !obj.material) throw new KmipError(ResultReason.ObjectDestroyed, 'object has been destroyed');
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
    ctx.batch.idPlaceholder = uid;
    return { objectType: obj.objectType, uniqueIdentifier: uid, [field]: object };
  },
});

function convertFormat(objectType: number, object: TtlvItem, format: number): TtlvItem {
  if (objectType === ObjectType.SymmetricKey) return convertSymmetricKey(object, format);
  if (objectType === ObjectType.PrivateKey || objectType === ObjectType.PublicKey) return convertAsymmetricKey(objectType, object, format);
  if (objectType === ObjectType.SecretData && storedFormat(object) === format) return object;
  throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'key format type not supported for this object');
}

function storedFormat(object: TtlvItem): number | undefined {
  try {
    return SecretDataSchema.decode(object, STORAGE_CONTEXT).keyBlock.keyFormatType;
  } catch {
    return undefined;
  }
}
