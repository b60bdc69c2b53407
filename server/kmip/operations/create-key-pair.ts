import { invalidField } from '../errors.js';
import { CryptographicUsageMask, LinkType, ObjectType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { ManagedObject } from '../managed-object.js';
import { AttributesV2Codec, TemplateAttributeSchema, type Attribute } from '../model/attributes.js';
import { defaultFormat, generateAsymmetricKeyPair, writeKey } from '../objects/asymmetric-key.js';
import { sealObject } from '../objects/material.js';
import { register as registration } from '../objects/registration.js';
import { serverRngAttribute } from '../objects/rng-attribute.js';
import { opt, req, struct, text } from '../schema.js';
import type { OperationContext } from '../context.js';
import { requestAttributes, type TemplateAttributeV1 } from './common.js';
import type { TtlvItem } from '../../ttlv/index.js';
import { newObject, protectionStorage } from './new-object.js';
import { defineOperation } from './types.js';

/** The attribute fields of a key pair request, the same in Create Key Pair and ReKey Key Pair. */
export const KEY_PAIR_ATTRIBUTE_FIELDS = {
  commonTemplateAttribute: opt(Tag.CommonTemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  privateKeyTemplateAttribute: opt(Tag.PrivateKeyTemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  publicKeyTemplateAttribute: opt(Tag.PublicKeyTemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  commonAttributes: opt(Tag.CommonAttributes, AttributesV2Codec, { since: 20 }),
  privateKeyAttributes: opt(Tag.PrivateKeyAttributes, AttributesV2Codec, { since: 20 }),
  publicKeyAttributes: opt(Tag.PublicKeyAttributes, AttributesV2Codec, { since: 20 }),
  commonProtectionStorageMasks: opt(Tag.CommonProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
  privateProtectionStorageMasks: opt(Tag.PrivateProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
  publicProtectionStorageMasks: opt(Tag.PublicProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
};
/** The response fields of both key pair operations. */
export const KEY_PAIR_RESPONSE_FIELDS = {
  privateKeyUniqueIdentifier: req(Tag.PrivateKeyUniqueIdentifier, text),
  publicKeyUniqueIdentifier: req(Tag.PublicKeyUniqueIdentifier, text),
};

const Request = struct('Create Key Pair Request Payload', KEY_PAIR_ATTRIBUTE_FIELDS);
const Response = struct('Create Key Pair Response Payload', KEY_PAIR_RESPONSE_FIELDS);

/** `base` with every attribute `over` names replaced by `over`'s instances. */
export function merged(base: readonly Attribute[], over: readonly Attribute[]): Attribute[] {
  const named = new Set(over.map((a) => a.name));
  return [...base.filter((a) => !named.has(a.name)), ...over];
}

interface KeyPairRequest {
  readonly commonTemplateAttribute?: TemplateAttributeV1 | undefined;
  readonly privateKeyTemplateAttribute?: TemplateAttributeV1 | undefined;
  readonly publicKeyTemplateAttribute?: TemplateAttributeV1 | undefined;
  readonly commonAttributes?: readonly TtlvItem[] | undefined;
  readonly privateKeyAttributes?: readonly TtlvItem[] | undefined;
  readonly publicKeyAttributes?: readonly TtlvItem[] | undefined;
  readonly commonProtectionStorageMasks?: readonly TtlvItem[] | undefined;
  readonly privateProtectionStorageMasks?: readonly TtlvItem[] | undefined;
  readonly publicProtectionStorageMasks?: readonly TtlvItem[] | undefined;
}

/** Each half's Protection Storage Mask: from its own masks, else the common ones (2.x). */
export function keyPairStorage(ctx: OperationContext, req: KeyPairRequest): { private: number; public: number } {
  return {
    private: protectionStorage(ctx, req.privateProtectionStorageMasks ?? req.commonProtectionStorageMasks, ResultReason.PrivateProtectionStorageUnavailable),
    public: protectionStorage(ctx, req.publicProtectionStorageMasks ?? req.commonProtectionStorageMasks, ResultReason.PublicProtectionStorageUnavailable),
  };
}

/** The request's common attributes, and each half's: the common ones overridden by the half's own. */
export async function keyPairAttributes(ctx: OperationContext, req: KeyPairRequest): Promise<{ common: Attribute[]; privateKey: Attribute[]; publicKey: Attribute[] }> {
  const common = await requestAttributes(ctx, req.commonTemplateAttribute, req.commonAttributes);
  const privateKey = await requestAttributes(ctx, req.privateKeyTemplateAttribute, req.privateKeyAttributes);
  const publicKey = await requestAttributes(ctx, req.publicKeyTemplateAttribute, req.publicKeyAttributes);
  return {
    common,
    privateKey: merged(common, privateKey),
    publicKey: merged(common, publicKey),
  };
}

const single = (attributes: readonly Attribute[], name: string) => attributes.find((a) => a.name === name)?.value;

/**
 * Generates a key pair whose halves link to each other, sealed but not yet queued for the commit
 * (ReKey Key Pair must first take the Names off the keys it replaces); shared with ReKey Key Pair.
 */
export async function buildKeyPair(
  ctx: OperationContext,
  privateAttributes: readonly Attribute[],
  publicAttributes: readonly Attribute[],
  extraLinks: { private?: Attribute[]; public?: Attribute[] } = {},
  storage?: { private: number; public: number },
): Promise<{ privateKey: ManagedObject; publicKey: ManagedObject }> {
  const algorithm = single(privateAttributes, 'Cryptographic Algorithm') ?? single(publicAttributes, 'Cryptographic Algorithm');
  if (typeof algorithm !== 'number') throw invalidField('Cryptographic Algorithm is required');
  const length = (single(privateAttributes, 'Cryptographic Length') ?? single(publicAttributes, 'Cryptographic Length')) as number | undefined;
  const domain = (single(privateAttributes, 'Cryptographic Domain Parameters') ?? single(publicAttributes, 'Cryptographic Domain Parameters')) as { recommendedCurve?: number } | undefined;
  const pair = await generateAsymmetricKeyPair({ algorithm, length, curve: domain?.recommendedCurve });
  const privateUid = ctx.deps.newUid();
  const publicUid = ctx.deps.newUid();
  const link = (type: number, uid: string): Attribute => ({ name: 'Link', index: 0, value: { linkType: type, linkedObjectIdentifier: uid } });

  const half = async (objectType: number, uid: string, attributes: readonly Attribute[], otherLink: Attribute, defaultUsage: number, extra: Attribute[]) => {
    const isPrivate = objectType === ObjectType.PrivateKey;
    const item = writeKey(isPrivate ? pair.privateKey : pair.publicKey, objectType, defaultFormat(objectType, algorithm), algorithm);
    const { derived } = await registration(objectType, item, []);
    const obj = newObject(ctx, {
      objectType,
      uid,
      clientAttributes: attributes,
      derived: [...derived.filter((d) => d.name !== 'Cryptographic Algorithm'), { name: 'Cryptographic Algorithm', index: 0, value: algorithm }, serverRngAttribute()],
      ...(storage ? { protectionStorageMask: isPrivate ? storage.private : storage.public } : {}),
    });
    obj.add(otherLink.name, otherLink.value);
    for (const a of extra) obj.add(a.name, a.value);
    if (obj.first('Cryptographic Usage Mask') === undefined) obj.set('Cryptographic Usage Mask', defaultUsage);
    obj.material = await sealObject(ctx, uid, item);
    return obj;
  };
  const privateKey = await half(ObjectType.PrivateKey, privateUid, privateAttributes, link(LinkType.PublicKeyLink, publicUid), CryptographicUsageMask.Sign, extraLinks.private ?? []);
  const publicKey = await half(ObjectType.PublicKey, publicUid, publicAttributes, link(LinkType.PrivateKeyLink, privateUid), CryptographicUsageMask.Verify, extraLinks.public ?? []);
  return { privateKey, publicKey };
}

export function insertKeyPair(ctx: OperationContext, pair: { privateKey: ManagedObject; publicKey: ManagedObject }): void {
  ctx.session.insert(pair.privateKey.toRecord(ctx.deps.now()));
  ctx.session.insert(pair.publicKey.toRecord(ctx.deps.now()));
  // The spec makes the private key the batch's ID Placeholder.
  ctx.batch.idPlaceholder = pair.privateKey.uid;
}

export const createKeyPair = defineOperation({
  operation: Operation.CreateKeyPair,
  name: 'Create Key Pair',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const attributes = await keyPairAttributes(ctx, req);
    if (attributes.common.some((a) => a.name === 'Name')) throw invalidField('a Name in the common attributes would name both keys alike; give each key its own');
    const pair = await buildKeyPair(ctx, attributes.privateKey, attributes.publicKey, {}, keyPairStorage(ctx, req));
    insertKeyPair(ctx, pair);
    const { privateKey, publicKey } = pair;
    ctx.auditObjectId = privateKey.uid;
    return { privateKeyUniqueIdentifier: privateKey.uid, publicKeyUniqueIdentifier: publicKey.uid };
  },
});
