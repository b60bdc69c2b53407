import { KmipError } from '../errors.js';
import { KeyFormatType, LinkType, ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { AttributesV2Codec, TemplateAttributeSchema } from '../model/attributes.js';
import { sealObject } from '../objects/material.js';
import { serverRngAttribute } from '../objects/rng-attribute.js';
import { generateSymmetricKey, rawSymmetricKeyObject, sha256Digest } from '../objects/symmetric-key.js';
import { interval, opt, req, struct, text } from '../schema.js';
import { loadObject, nowSeconds, requestAttributes, resolveUid, saveObject } from './common.js';
import { newObject, protectionStorage } from './new-object.js';
import { inheritedAttributes, link, requireReplaceable, retire } from './rekey-rules.js';
import { defineOperation } from './types.js';

const Request = struct('ReKey Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  offset: opt(Tag.Offset, interval),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  protectionStorageMasks: opt(Tag.ProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
});
const Response = struct('ReKey Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/** A new symmetric key replacing an existing one: same kind of key, linked both ways, Names moved. */
export const rekey = defineOperation({
  operation: Operation.ReKey,
  name: 'ReKey',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const oldUid = resolveUid(ctx, req.uniqueIdentifier);
    const old = await loadObject(ctx, oldUid, true);
    if (old.objectType !== ObjectType.SymmetricKey) throw new KmipError(ResultReason.InvalidObjectType, 'ReKey replaces symmetric keys; use ReKey Key Pair for key pairs');
    requireReplaceable(old);
    const algorithm = old.first('Cryptographic Algorithm') as number;
    const length = old.first('Cryptographic Length') as number;
    const own = await requestAttributes(ctx, req.templateAttribute, req.attributes);
    const ownNames = new Set(own.map((a) => a.name));
    const inherited = inheritedAttributes(old, nowSeconds(ctx), req.offset).filter((a) => !ownNames.has(a.name));
    const protectionStorageMask = protectionStorage(ctx, req.protectionStorageMasks);
    const material = generateSymmetricKey(algorithm, length);
    const replacement = newObject(ctx, {
      objectType: ObjectType.SymmetricKey,
      clientAttributes: [...inherited, ...own],
      derived: [
        { name: 'Digest', index: 0, value: sha256Digest(material) },
        { name: 'Key Format Type', index: 0, value: KeyFormatType.Raw },
        serverRngAttribute(),
        link(LinkType.ReplacedObjectLink, oldUid),
      ],
      protectionStorageMask,
    });
    try {
      replacement.material = await sealObject(ctx, replacement.uid, rawSymmetricKeyObject(material, algorithm, length));
    } finally {
      material.fill(0);
    }
    retire(old, replacement.uid);
    // The old key must give up its Name before the new one takes it (the store keeps Names unique).
    saveObject(ctx, old);
    ctx.session.insert(replacement.toRecord(ctx.deps.now()));
    ctx.auditObjectId = replacement.uid;
    ctx.batch.idPlaceholder = replacement.uid;
    return { uniqueIdentifier: replacement.uid };
  },
});
