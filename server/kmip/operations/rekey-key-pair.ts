import { invalidField, KmipError } from '../errors.js';
import { LinkType, ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { AttributesV2Codec, TemplateAttributeSchema } from '../model/attributes.js';
import type { LinkValue } from '../model/attribute-values.js';
import { interval, opt, req, struct, text } from '../schema.js';
import { clientAttributes, loadObject, nowSeconds, resolveUid, saveObject } from './common.js';
import { buildKeyPair, insertKeyPair } from './create-key-pair.js';
import { inheritedAttributes, link, requireReplaceable, retire } from './rekey-rules.js';
import { defineOperation } from './types.js';

const Request = struct('ReKey Key Pair Request Payload', {
  privateKeyUniqueIdentifier: opt(Tag.PrivateKeyUniqueIdentifier, text),
  offset: opt(Tag.Offset, interval),
  commonTemplateAttribute: opt(Tag.CommonTemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  privateKeyTemplateAttribute: opt(Tag.PrivateKeyTemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  publicKeyTemplateAttribute: opt(Tag.PublicKeyTemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  commonAttributes: opt(Tag.CommonAttributes, AttributesV2Codec, { since: 20 }),
  privateKeyAttributes: opt(Tag.PrivateKeyAttributes, AttributesV2Codec, { since: 20 }),
  publicKeyAttributes: opt(Tag.PublicKeyAttributes, AttributesV2Codec, { since: 20 }),
  commonProtectionStorageMasks: opt(Tag.CommonProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
  privateProtectionStorageMasks: opt(Tag.PrivateProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
  publicProtectionStorageMasks: opt(Tag.PublicProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
});
const Response = struct('ReKey Key Pair Response Payload', {
  privateKeyUniqueIdentifier: req(Tag.PrivateKeyUniqueIdentifier, text),
  publicKeyUniqueIdentifier: req(Tag.PublicKeyUniqueIdentifier, text),
});

/** A new key pair replacing an existing one, each half linked to the half it replaces. */
export const rekeyKeyPair = defineOperation({
  operation: Operation.ReKeyKeyPair,
  name: 'ReKey Key Pair',
  since: 11,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const oldPrivateUid = resolveUid(ctx, req.privateKeyUniqueIdentifier);
    const oldPrivate = await loadObject(ctx, oldPrivateUid, true);
    if (oldPrivate.objectType !== ObjectType.PrivateKey) throw new KmipError(ResultReason.InvalidObjectType, 'ReKey Key Pair takes the private key of the pair');
    requireReplaceable(oldPrivate);
    const publicLink = oldPrivate.instances('Link').map((l) => l.value as LinkValue).find((l) => l.linkType === LinkType.PublicKeyLink);
    if (!publicLink) throw invalidField('the private key has no Public Key Link to its public half');
    const oldPublic = await loadObject(ctx, publicLink.linkedObjectIdentifier, true);
    const common = clientAttributes(ctx, req.commonTemplateAttribute, req.commonAttributes);
    const privateOwn = clientAttributes(ctx, req.privateKeyTemplateAttribute, req.privateKeyAttributes);
    const publicOwn = clientAttributes(ctx, req.publicKeyTemplateAttribute, req.publicKeyAttributes);
    const now = nowSeconds(ctx);
    const withOverrides = (inherited: ReturnType<typeof inheritedAttributes>, own: typeof common) => {
      const names = new Set([...common, ...own].map((a) => a.name));
      return [...inherited.filter((a) => !names.has(a.name)), ...common.filter((a) => !own.some((o) => o.name === a.name)), ...own];
    };
    const pair = await buildKeyPair(
      ctx,
      withOverrides(inheritedAttributes(oldPrivate, now, req.offset), privateOwn),
      withOverrides(inheritedAttributes(oldPublic, now, req.offset), publicOwn),
      { private: [link(LinkType.ReplacedObjectLink, oldPrivate.uid)], public: [link(LinkType.ReplacedObjectLink, oldPublic.uid)] },
    );
    const { privateKey, publicKey } = pair;
    // Names move to the new halves: the old ones give them up first (the store keeps Names unique).
    retire(oldPrivate, privateKey.uid);
    retire(oldPublic, publicKey.uid);
    saveObject(ctx, oldPrivate);
    saveObject(ctx, oldPublic);
    insertKeyPair(ctx, pair);
    ctx.auditObjectId = privateKey.uid;
    return { privateKeyUniqueIdentifier: privateKey.uid, publicKeyUniqueIdentifier: publicKey.uid };
  },
});
