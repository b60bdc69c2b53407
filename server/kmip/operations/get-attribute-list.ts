import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { many, req, struct, text } from '../schema.js';
import { is2x } from '../version.js';
import { AttributeReferenceCodec, visibleTo } from './attribute-io.js';
import { loadObject, resolveUid } from './common.js';
import { defineOperation } from './types.js';
import { UidRequest } from './uid-payload.js';

const Response = struct('Get Attribute List Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  attributeNames: many(Tag.AttributeName, text, { until: 14 }),
  attributeReferences: many(Tag.AttributeReference, AttributeReferenceCodec, { since: 20 }),
});

export const getAttributeList = defineOperation({
  operation: Operation.GetAttributeList,
  name: 'Get Attribute List',
  readOnly: true,
  request: UidRequest,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid);
    const names = [...new Set(obj.allAttributes().filter((a) => visibleTo(a, ctx.version)).map((a) => a.name))];
    ctx.batch.idPlaceholder = uid;
    return is2x(ctx.version)
      ? { uniqueIdentifier: uid, attributeNames: [], attributeReferences: names }
      : { uniqueIdentifier: uid, attributeNames: names, attributeReferences: [] };
  },
});
