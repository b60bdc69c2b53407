import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { AttributesV2Codec } from '../model/attributes.js';
import { many, opt, raw, req, struct, text } from '../schema.js';
import { is2x } from '../version.js';
import { AttributeReferenceCodec, attributesV1, attributesV2 } from './attribute-io.js';
import { loadObject, resolveUid } from './common.js';
import { defineOperation } from './types.js';

const Request = struct('Get Attributes Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  attributeNames: many(Tag.AttributeName, text, { until: 14 }),
  attributeReferences: many(Tag.AttributeReference, AttributeReferenceCodec, { since: 20 }),
});
const Response = struct('Get Attributes Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  attributes: many(Tag.Attribute, raw, { until: 14 }),
  attributesV2: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
});

/**
 * Attributes the object does not have are omitted — success with only the identifier is the answer
 * vCenter expects when it asks for an x- attribute it has not set yet (1.0 §4.11).
 */
export const getAttributes = defineOperation({
  operation: Operation.GetAttributes,
  name: 'Get Attributes',
  readOnly: true,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid);
    const wanted = is2x(ctx.version) ? req.attributeReferences : req.attributeNames;
    const selected = obj.selectAttributes(wanted);
    ctx.batch.idPlaceholder = uid;
    if (is2x(ctx.version)) return { uniqueIdentifier: uid, attributes: [], attributesV2: attributesV2(selected, ctx) };
    return { uniqueIdentifier: uid, attributes: attributesV1(selected, ctx) };
  },
});
