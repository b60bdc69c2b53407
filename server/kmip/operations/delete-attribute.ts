import type { OperationContext } from '../context.js';
import { invalidField } from '../errors.js';
import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { encodeAttributeValue } from '../managed-object.js';
import { attributeDef, attributeFromV2, AttributesV2Codec } from '../model/attributes.js';
import { integer, opt, raw, req, struct, text, type InferStruct } from '../schema.js';
import { is2x } from '../version.js';
import { AttributeReferenceCodec, attributesV1 } from './attribute-io.js';
import { attributeInstanceNotFound, attributeReadOnly } from './attribute-rules.js';
import { loadObject, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';

const Request = struct('Delete Attribute Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  attributeName: opt(Tag.AttributeName, text, { until: 14 }),
  attributeIndex: opt(Tag.AttributeIndex, integer, { until: 14 }),
  currentAttribute: opt(Tag.CurrentAttribute, AttributesV2Codec, { since: 20 }),
  attributeReference: opt(Tag.AttributeReference, AttributeReferenceCodec, { since: 20 }),
});
const Response = struct('Delete Attribute Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  attribute: opt(Tag.Attribute, raw, { until: 14 }),
});

/** The name and, when given, the value or index of the instance to delete. */
function readTarget(ctx: OperationContext, req: InferStruct<typeof Request>): { name: string; index?: number; value?: unknown } {
  if (!is2x(ctx.version)) {
    if (!req.attributeName) throw invalidField('Attribute Name is required');
    return { name: req.attributeName, index: req.attributeIndex ?? 0 };
  }
  if (req.currentAttribute) {
    if (req.currentAttribute.length !== 1) throw invalidField('Current Attribute must hold exactly one attribute');
    const a = attributeFromV2(req.currentAttribute[0]!, ctx, 'match');
    return { name: a.name, value: a.value };
  }
  if (req.attributeReference) return { name: req.attributeReference };
  throw invalidField('Current Attribute or Attribute Reference is required');
}

export const deleteAttribute = defineOperation({
  operation: Operation.DeleteAttribute,
  name: 'Delete Attribute',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const target = readTarget(ctx, req);
    const def = attributeDef(target.name, ctx.version);
    if (!def) throw attributeInstanceNotFound(target.name);
    if (!def.clientDeletes) throw attributeReadOnly(target.name);
    const obj = await loadObject(ctx, uid, true);
    const instances = obj.instances(target.name);
    let victims = instances;
    if (target.index !== undefined) victims = instances.filter((a) => a.index === target.index);
    else if (target.value !== undefined) {
      const key = encodeAttributeValue(target.name, target.value).key;
      victims = instances.filter((a) => encodeAttributeValue(target.name, a.value).key === key);
    }
    if (victims.length === 0) throw attributeInstanceNotFound(target.name);
    for (const v of victims) obj.delete(v.name, v.index);
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid, attribute: is2x(ctx.version) ? undefined : attributesV1([victims[0]!], ctx)[0] };
  },
});
