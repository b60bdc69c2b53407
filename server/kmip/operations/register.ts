import { invalidField } from '../errors.js';
import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { AttributesV2Codec, TemplateAttributeSchema } from '../model/attributes.js';
import { sealObject } from '../objects/material.js';
import { register as registration } from '../objects/registration.js';
import { enumeration, opt, raw, req, struct, text } from '../schema.js';
import { requestAttributes } from './common.js';
import { newObject, protectionStorage } from './new-object.js';
import { objectIn, OBJECT_FIELDS } from './get.js';
import { defineOperation } from './types.js';

const Request = struct('Register Request Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  ...OBJECT_FIELDS,
  protectionStorageMasks: opt(Tag.ProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Register Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/** Server-set attributes a client may restate on Register when they agree with the object. */
const RESTATABLE = new Set(['Certificate Type', 'Certificate Length', 'Key Format Type', 'Fresh']);

export const register = defineOperation({
  operation: Operation.Register,
  name: 'Register',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const item = objectIn(req);
    const stated = await requestAttributes(ctx, req.templateAttribute, req.attributes, RESTATABLE);
    const protectionStorageMask = protectionStorage(ctx, req.protectionStorageMasks);
    const { object, derived } = await registration(req.objectType, item, stated, ctx);
    for (const a of stated.filter((s) => RESTATABLE.has(s.name))) {
      // Fresh=true is what a new object is anyway; anything else must match what the object shows.
      const agrees = a.name === 'Fresh' ? a.value === true : derived.some((d) => d.name === a.name && d.value === a.value);
      if (!agrees) throw invalidField(`${a.name} does not agree with the registered object`);
    }
    // No Random Number Generator: the server did not make what a client registers.
    const obj = newObject(ctx, { objectType: req.objectType, clientAttributes: stated.filter((s) => !RESTATABLE.has(s.name)), derived, protectionStorageMask });
    ctx.auditObjectId = obj.uid;
    obj.material = await sealObject(ctx, obj.uid, object);
    ctx.session.insert(obj.toRecord(ctx.deps.now()));
    ctx.batch.idPlaceholder = obj.uid;
    return { uniqueIdentifier: obj.uid };
  },
});
