import { invalidField } from '../errors.js';
import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { attributeDef, attributeFromV1, attributeFromV2, AttributeV1Schema, AttributesV2Codec } from '../model/attributes.js';
import { opt, raw, req, struct, text } from '../schema.js';
import { is2x } from '../version.js';
import { attributeIndexInRequest, attributeReadOnly, attributeSingleValued } from './attribute-rules.js';
import { loadObject, resolveUid, saveObject } from './common.js';
import { attributesV1 } from './attribute-io.js';
import { defineOperation } from './types.js';

const Request = struct('Add Attribute Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  attribute: opt(Tag.Attribute, AttributeV1Schema, { until: 14 }),
  newAttribute: opt(Tag.NewAttribute, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Add Attribute Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  attribute: opt(Tag.Attribute, raw, { until: 14 }),
});

/** Adds a client-settable attribute instance; custom x- attributes are how vCenter tags keys. */
export const addAttribute = defineOperation({
  operation: Operation.AddAttribute,
  name: 'Add Attribute',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    let attribute;
    if (is2x(ctx.version)) {
      const items = req.newAttribute ?? [];
      if (items.length !== 1) throw invalidField('New Attribute must hold exactly one attribute');
      attribute = attributeFromV2(items[0]!, ctx);
    } else {
      if (!req.attribute) throw invalidField('Attribute is required');
      if (req.attribute.attributeIndex !== undefined) throw attributeIndexInRequest();
      attribute = attributeFromV1(req.attribute, ctx);
    }
    const def = attributeDef(attribute.name, ctx.version)!;
    // Attributes a client may set only when the object is created (algorithm, length, usage mask) are read-only afterwards.
    if (!def.clientSets || !(def.clientModifies || def.multi)) throw attributeReadOnly(attribute.name);
    const obj = await loadObject(ctx, uid, true);
    if (!def.multi && obj.instances(attribute.name).length > 0) throw attributeSingleValued(attribute.name);
    const index = obj.add(attribute.name, attribute.value);
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    const added = obj.instances(attribute.name).find((a) => a.index === index)!;
    return { uniqueIdentifier: uid, attribute: is2x(ctx.version) ? undefined : attributesV1([added], ctx)[0] };
  },
});

