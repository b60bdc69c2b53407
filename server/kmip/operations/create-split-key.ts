/**
 * Create Split Key (1.2+; 1.4 §4.38, 2.1 §6.1.10): a secret shared out as Split Key objects, one per
 * part. With a Unique Identifier the secret is that Symmetric Key or Secret Data of the tenant, whose
 * own algorithm and length take precedence over the request's; without one the server makes a new
 * secret from the attributes (a Symmetric Key, or Secret Data when the Object Type says so) and
 * stores only its parts, never the whole. The ID Placeholder becomes part 1.
 *
 * Links (the spec names none for splits): each part has a Parent Link to the key it was split from
 * (which gets a Child Link to each part) and Previous/Next Links to the parts numbered next to it,
 * the chain Join Split Key follows to tell one split's parts from another's.
 *
 * What the parts may release is what the source may: a key that may not leave (not Extractable) or
 * may leave only wrapped (Sensitive) is not split, and a part's Always Sensitive and Never
 * Extractable are no more than its source's.
 */
import { randomBytes } from 'node:crypto';
import type { OperationContext } from '../context.js';
import { invalidField, KmipError } from '../errors.js';
import { KeyFormatType, LinkType, ObjectType, Operation, ResultReason, SplitKeyMethod } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { holdsMaterial } from '../lifecycle.js';
import type { ManagedObject } from '../managed-object.js';
import type { LinkValue } from '../model/attribute-values.js';
import { AttributesV2Codec, TemplateAttributeSchema, type Attribute } from '../model/attributes.js';
import { openObject, sealObject } from '../objects/material.js';
import { serverRngAttribute } from '../objects/rng-attribute.js';
import { plainSecretOf } from '../objects/secret-bytes.js';
import { checkSplitParameters, defaultPrime, MAX_SECRET_BYTES, splitKeyObject, splitSecret, type SplitParameters } from '../objects/split-key.js';
import { generateSymmetricKey, sha256Digest } from '../objects/symmetric-key.js';
import { bigInteger, enumeration, integer, many, opt, req, struct, text } from '../schema.js';
import { loadObject, requestAttributes, saveObject } from './common.js';
import { newObject, protectionStorage } from './new-object.js';
import { link } from './rekey-rules.js';
import { defineOperation } from './types.js';

const Request = struct('Create Split Key Request Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  splitKeyParts: req(Tag.SplitKeyParts, integer),
  splitKeyThreshold: req(Tag.SplitKeyThreshold, integer),
  splitKeyMethod: req(Tag.SplitKeyMethod, enumeration('SplitKeyMethod')),
  primeFieldSize: opt(Tag.PrimeFieldSize, bigInteger),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  protectionStorageMasks: opt(Tag.ProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Create Split Key Response Payload', { uniqueIdentifiers: many(Tag.UniqueIdentifier, text) });

interface Secret {
  readonly bytes: Uint8Array;
  readonly algorithm: number | undefined;
  /** Bits, as the parts' Key Blocks state it. */
  readonly length: number;
  /** The stored key it came from; undefined for a secret the server made. */
  readonly source: ManagedObject | undefined;
}

/**
 * Each split adds a Child Link per part to the key split, and a key's attributes are read whole on
 * every Get of it (vCenter's keys on every use): splitting the same key again and again is bounded.
 */
const MAX_CHILD_LINKS = 1024;

async function existingSecret(ctx: OperationContext, uid: string, parts: number): Promise<Secret> {
  const source = await loadObject(ctx, uid, true);
  if (source.objectType !== ObjectType.SymmetricKey && source.objectType !== ObjectType.SecretData) {
    throw new KmipError(ResultReason.InvalidObjectType, 'only Symmetric Keys and Secret Data are split here');
  }
  if (!holdsMaterial(source.state) || !source.material) throw new KmipError(ResultReason.ObjectDestroyed, 'object has been destroyed');
  // Parts leave the server by Get: a key that may not leave must not leave in parts either.
  if (source.first('Extractable') === false) throw new KmipError(ResultReason.NotExtractable, 'the key is not Extractable, so it is not split into parts that would be');
  // A Sensitive key leaves only wrapped (1.4 §3.48). Its parts could not hold it to that: Sensitive
  // is the client's to modify on each part (Table 156), so a part set non-Sensitive leaves in
  // clear. Nor could the key say so afterwards: Always Sensitive follows its own Sensitive attribute
  // only (§3.49), which would stay True. So it is refused, as a non-Extractable key is; a client
  // who means the key to leave in parts sets it non-Sensitive first, and its Always Sensitive records that.
  if (source.first('Sensitive') === true) throw new KmipError(ResultReason.Sensitive, 'the key is Sensitive, so it is not split into parts that could leave in clear');
  const childLinks = source.instances('Link').filter((a) => (a.value as LinkValue).linkType === LinkType.ChildLink).length;
  if (childLinks + parts > MAX_CHILD_LINKS) {
    // 1.4 Table 362: more instances of a multi-instance attribute than the server supports is Index Out of Bounds; 2.x withdrew it.
    throw new KmipError(ResultReason.ServerLimitExceeded, `a key has at most ${MAX_CHILD_LINKS} Child Links: it has ${childLinks} and the split would add ${parts}`, {
      legacyReason: ResultReason.IndexOutOfBounds,
    });
  }
  const bytes = plainSecretOf(source.objectType, await openObject(ctx, uid, source.material));
  const algorithm = source.first('Cryptographic Algorithm') as number | undefined;
  const length = (source.first('Cryptographic Length') as number | undefined) ?? bytes.length * 8;
  return { bytes, algorithm, length, source };
}

/** What the Object Type may say: the objects made (Split Keys), or the kind of secret they share. */
const SPLITTABLE: ReadonlySet<number> = new Set([ObjectType.SplitKey, ObjectType.SymmetricKey, ObjectType.SecretData]);

/** A new secret: a Symmetric Key as Create would make it, or random Secret Data of the Cryptographic Length. */
function newSecret(objectType: number, attributes: readonly Attribute[]): Secret {
  const single = (name: string) => attributes.find((a) => a.name === name)?.value;
  const length = single('Cryptographic Length');
  if (typeof length !== 'number') throw invalidField('Cryptographic Length is required');
  if (objectType === ObjectType.SecretData) {
    if (length % 8 !== 0 || length < 8 || length > MAX_SECRET_BYTES * 8) throw invalidField(`Secret Data is made in whole bytes, 8 to ${MAX_SECRET_BYTES * 8} bits`);
    return { bytes: new Uint8Array(randomBytes(length / 8)), algorithm: undefined, length, source: undefined };
  }
  const algorithm = single('Cryptographic Algorithm');
  if (typeof algorithm !== 'number') throw invalidField('Cryptographic Algorithm is required');
  return { bytes: generateSymmetricKey(algorithm, length), algorithm, length, source: undefined };
}

export const createSplitKey = defineOperation({
  operation: Operation.CreateSplitKey,
  name: 'Create Split Key',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    if (!SPLITTABLE.has(req.objectType)) throw new KmipError(ResultReason.InvalidObjectType, 'Create Split Key makes Split Keys of a Symmetric Key or Secret Data');
    // 1.4 Table 247: the Template-Attribute may name Templates.
    const attributes = await requestAttributes(ctx, req.templateAttribute, req.attributes);
    if (attributes.some((a) => a.name === 'Name')) throw invalidField('every part would take the Name, and Names are unique: name the parts one by one afterwards');
    const protectionStorageMask = protectionStorage(ctx, req.protectionStorageMasks);
    if (req.uniqueIdentifier !== undefined) ctx.auditObjectId = req.uniqueIdentifier;
    const secret = req.uniqueIdentifier !== undefined ? await existingSecret(ctx, req.uniqueIdentifier, req.splitKeyParts) : newSecret(req.objectType, attributes);
    let shares: Uint8Array[] = [];
    try {
      const parameters: SplitParameters = {
        parts: req.splitKeyParts,
        threshold: req.splitKeyThreshold,
        method: req.splitKeyMethod,
        prime: req.primeFieldSize ?? (req.splitKeyMethod === SplitKeyMethod.PolynomialSharingPrimeField ? defaultPrime(secret.bytes.length) : undefined),
      };
      await checkSplitParameters(parameters, secret.bytes.length);
      shares = splitSecret(parameters, secret.bytes);
      const uids = shares.map(() => ctx.deps.newUid());
      const source = secret.source;
      for (const [i, share] of shares.entries()) {
        const derived: Attribute[] = [
          ...(secret.algorithm !== undefined ? [{ name: 'Cryptographic Algorithm', index: 0, value: secret.algorithm }] : []),
          { name: 'Cryptographic Length', index: 0, value: secret.length },
          { name: 'Digest', index: 0, value: sha256Digest(share) },
          { name: 'Key Format Type', index: 0, value: KeyFormatType.Raw },
          serverRngAttribute(),
          ...(source ? [link(LinkType.ParentLink, source.uid)] : []),
          ...(i > 0 ? [link(LinkType.PreviousLink, uids[i - 1]!)] : []),
          ...(i < uids.length - 1 ? [link(LinkType.NextLink, uids[i + 1]!)] : []),
        ];
        const part = newObject(ctx, { objectType: ObjectType.SplitKey, uid: uids[i]!, clientAttributes: attributes, derived, protectionStorageMask });
        if (source) {
          // A part is its source's value in other form: Sensitive or not Extractable no longer than the source has been (§3.49, §3.51).
          part.set('Always Sensitive', part.first('Always Sensitive') === true && source.first('Always Sensitive') === true);
          part.set('Never Extractable', part.first('Never Extractable') === true && source.first('Never Extractable') === true);
        }
        part.material = await sealObject(ctx, part.uid, splitKeyObject(parameters, i + 1, share, secret.algorithm, secret.length));
        ctx.session.insert(part.toRecord(ctx.deps.now()));
      }
      if (source) {
        for (const uid of uids) source.add('Link', link(LinkType.ChildLink, uid).value);
        saveObject(ctx, source);
      }
      ctx.auditObjectId ??= uids[0];
      // 1.4 §4.38: the ID Placeholder is the part whose Key Part Identifier is 1.
      ctx.batch.idPlaceholder = uids[0];
      return { uniqueIdentifiers: uids };
    } finally {
      secret.bytes.fill(0);
      for (const share of shares) share.fill(0);
    }
  },
});
