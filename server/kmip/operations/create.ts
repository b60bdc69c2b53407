import { invalidField, KmipError } from '../errors.js';
import { CryptographicUsageMask, KeyFormatType, ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { AttributesV2Codec, TemplateAttributeSchema } from '../model/attributes.js';
import { enumeration, opt, req, struct, text } from '../schema.js';
import { generateSymmetricKey, rawSymmetricKeyObject, sha256Digest } from '../objects/symmetric-key.js';
import { sealObject } from '../objects/material.js';
import { serverRngAttribute } from '../objects/rng-attribute.js';
import { requestAttributes } from './common.js';
import { newObject, protectionStorage } from './new-object.js';
import { defineOperation } from './types.js';

const Request = struct('Create Request Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  protectionStorageMasks: opt(Tag.ProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Create Response Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
});

/** Default usage when a client gives none: a symmetric key that encrypts, decrypts, wraps and unwraps (Derive and Join Split Key too). */
export const DEFAULT_USAGE =
  CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt | CryptographicUsageMask.WrapKey | CryptographicUsageMask.UnwrapKey;

export const create = defineOperation({
  operation: Operation.Create,
  name: 'Create',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    if (req.objectType !== ObjectType.SymmetricKey) {
      throw new KmipError(ResultReason.InvalidObjectType, 'Create makes symmetric keys only; use Create Key Pair or Register');
    }
    const attributes = await requestAttributes(ctx, req.templateAttribute, req.attributes);
    const single = (name: string) => attributes.find((a) => a.name === name)?.value;
    const algorithm = single('Cryptographic Algorithm');
    const length = single('Cryptographic Length');
    if (typeof algorithm !== 'number') throw invalidField('Cryptographic Algorithm is required');
    if (typeof length !== 'number') throw invalidField('Cryptographic Length is required');
    const protectionStorageMask = protectionStorage(ctx, req.protectionStorageMasks);

    const material = generateSymmetricKey(algorithm, length);
    const obj = newObject(ctx, {
      objectType: ObjectType.SymmetricKey,
      clientAttributes: attributes,
      derived: [{ name: 'Digest', index: 0, value: sha256Digest(material) }, { name: 'Key Format Type', index: 0, value: KeyFormatType.Raw }, serverRngAttribute()],
      protectionStorageMask,
    });
    const uid = obj.uid;
    ctx.auditObjectId = uid;
    if (single('Cryptographic Usage Mask') === undefined) obj.set('Cryptographic Usage Mask', DEFAULT_USAGE);
    try {
      obj.material = await sealObject(ctx, uid, rawSymmetricKeyObject(material, algorithm, length));
    } finally {
      material.fill(0);
    }
    ctx.session.insert(obj.toRecord(ctx.deps.now()));
    ctx.batch.idPlaceholder = uid;
    return { objectType: ObjectType.SymmetricKey, uniqueIdentifier: uid };
  },
});
