/**
 * Export (1.4 §4.40, 2.1 §6.1.18): an object with all its attributes, for a client moving it to
 * another server (Import takes this answer back as it is). The material comes out exactly as Get
 * would give it — same format conversion, wrapping, Sensitive and Extractable rules, same effect on
 * Fresh — because it is Get's code. A destroyed object is exported without material, as the spec says.
 */
import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { holdsMaterial } from '../lifecycle.js';
import { AttributesV2Codec } from '../model/attributes.js';
import { enumeration, many, opt, raw, req, struct, text } from '../schema.js';
import { is2x } from '../version.js';
import { attributesV1, attributesV2 } from './attribute-io.js';
import { loadObject, resolveUid } from './common.js';
import { GetRequestFields, OBJECT_FIELDS, refuseCompression, releaseObject } from './get.js';
import { defineOperation } from './types.js';

const Request = struct('Export Request Payload', GetRequestFields);
const Response = struct('Export Response Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  attributes: many(Tag.Attribute, raw, { until: 14 }),
  attributesV2: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  ...OBJECT_FIELDS,
});

export const exportObject = defineOperation({
  operation: Operation.Export,
  name: 'Export',
  since: 14,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    refuseCompression(req);
    const obj = await loadObject(ctx, uid);
    // The attributes as they were when asked: Fresh still says whether anyone had the material before this.
    const all = obj.allAttributes();
    const released = holdsMaterial(obj.state) && obj.material ? await releaseObject(ctx, obj, req) : undefined;
    ctx.batch.idPlaceholder = uid;
    return {
      objectType: obj.objectType,
      uniqueIdentifier: uid,
      ...(is2x(ctx.version) ? { attributes: [], attributesV2: attributesV2(all, ctx) } : { attributes: attributesV1(all, ctx) }),
      ...(released ? { [released.field]: released.object } : {}),
    };
  },
});
