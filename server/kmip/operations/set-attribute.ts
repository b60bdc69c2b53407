import { invalidField, KmipError } from '../errors.js';
import { Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { attributeDef, attributeFromV2, AttributesV2Codec } from '../model/attributes.js';
import { opt, req, struct, text } from '../schema.js';
import { attributeReadOnly } from './attribute-rules.js';
import { loadObject, resolveUid, saveObject } from './common.js';
import { checkDateRule } from './modify-attribute.js';
import { defineOperation } from './types.js';

const Request = struct('Set Attribute Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  newAttribute: req(Tag.NewAttribute, AttributesV2Codec),
});
const Response = struct('Set Attribute Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/** 2.x: gives a single-valued attribute its value, adding it or replacing the one it has. */
export const setAttribute = defineOperation({
  operation: Operation.SetAttribute,
  name: 'Set Attribute',
  since: 20,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    if (req.newAttribute.length !== 1) throw invalidField('New Attribute must hold exactly one attribute');
    const a = attributeFromV2(req.newAttribute[0]!, ctx);
    const def = attributeDef(a.name, ctx.version)!;
    if (def.multi) throw new KmipError(ResultReason.MultiValuedAttribute, `attribute ${a.name} is multi-valued: use Add or Modify Attribute`);
    const obj = await loadObject(ctx, uid, true);
    const present = obj.instances(a.name).length > 0;
    if (!(present ? def.clientModifies : def.clientSets)) throw attributeReadOnly(a.name);
    checkDateRule(a.name, obj.state);
    obj.set(a.name, a.value);
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
