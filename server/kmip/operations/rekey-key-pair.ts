import { invalidField, KmipError } from '../errors.js';
import { LinkType, ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { interval, opt, struct, text } from '../schema.js';
import { linkTarget, loadObject, nowSeconds, resolveUid, saveObject } from './common.js';
import { buildKeyPair, insertKeyPair, KEY_PAIR_ATTRIBUTE_FIELDS, KEY_PAIR_RESPONSE_FIELDS, keyPairAttributes, keyPairStorage, merged } from './create-key-pair.js';
import { inheritedAttributes, link, requireReplaceable, retire } from './rekey-rules.js';
import { defineOperation } from './types.js';

const Request = struct('ReKey Key Pair Request Payload', {
  privateKeyUniqueIdentifier: opt(Tag.PrivateKeyUniqueIdentifier, text),
  offset: opt(Tag.Offset, interval),
  ...KEY_PAIR_ATTRIBUTE_FIELDS,
});
const Response = struct('ReKey Key Pair Response Payload', KEY_PAIR_RESPONSE_FIELDS);

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
    const publicUid = linkTarget(oldPrivate, LinkType.PublicKeyLink);
    if (publicUid === undefined) throw invalidField('the private key has no Public Key Link to its public half');
    const oldPublic = await loadObject(ctx, publicUid, true);
    const requested = await keyPairAttributes(ctx, req);
    const storage = keyPairStorage(ctx, req);
    const now = nowSeconds(ctx);
    const pair = await buildKeyPair(
      ctx,
      merged(inheritedAttributes(oldPrivate, now, req.offset), requested.privateKey),
      merged(inheritedAttributes(oldPublic, now, req.offset), requested.publicKey),
      { private: [link(LinkType.ReplacedObjectLink, oldPrivate.uid)], public: [link(LinkType.ReplacedObjectLink, oldPublic.uid)] },
      storage,
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
