/**
 * Join Split Key (1.2+; 1.4 §4.39, 2.1 §6.1.27): the secret at least `threshold` Split Keys of the
 * tenant share, as a new Symmetric Key or Secret Data with the request's attributes. The parts must
 * be of one split: the same parameters, algorithm and length, distinct Key Part Identifiers, and,
 * for parts Create Split Key made, the same chain of Previous/Next Links. Too few parts is the
 * Cryptographic Failure of the 1.4 §11.40 table. The new object is Sensitive when a part is, and not
 * Extractable when a part is not: joining never releases more than the parts would. It is Always
 * Sensitive, or Never Extractable, only when every part is: its value was each part's in other form,
 * and a part a client registered is one whose value the client knew.
 */
import type { OperationContext } from '../context.js';
import { cryptographicFailure, invalidField, KmipError, missingData } from '../errors.js';
import { KeyFormatType, LinkType, ObjectType, Operation, ResultReason, SecretDataType, SplitKeyMethod } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { holdsMaterial } from '../lifecycle.js';
import { ManagedObject } from '../managed-object.js';
import { AttributesV2Codec, TemplateAttributeSchema, type Attribute } from '../model/attributes.js';
import { MAX_SPLIT_PARTS, type Share } from '../crypto/shamir.js';
import { openObject, sealObject } from '../objects/material.js';
import { rawSecretDataObject } from '../objects/secret-bytes.js';
import { checkSplitWork, joinSecret, partsNeeded, readSplitKey, secretBytesOf, type SplitKeyPart } from '../objects/split-key.js';
import { isSupportedSymmetricAlgorithm, materialLength, rawSymmetricKeyObject, sha256Digest, symmetricLengthProblem } from '../objects/symmetric-key.js';
import { enumeration, many, opt, req, struct, text } from '../schema.js';
import { linkTarget, loadObject, requestAttributes, serverChosenTemplateAttribute } from './common.js';
import { newObject, protectionStorage } from './new-object.js';
import { link } from './rekey-rules.js';
import { DEFAULT_USAGE } from './create.js';
import { defineOperation } from './types.js';

const Request = struct('Join Split Key Request Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifiers: many(Tag.UniqueIdentifier, text),
  secretDataType: opt(Tag.SecretDataType, enumeration('SecretDataType')),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  protectionStorageMasks: opt(Tag.ProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Join Split Key Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
});

/** What a joined Symmetric Key may do when the client names no usage: as Create's default. */

interface LoadedPart {
  readonly obj: ManagedObject;
  readonly part: SplitKeyPart & { readonly share: Uint8Array };
}

async function loadPart(ctx: OperationContext, uid: string): Promise<LoadedPart> {
  const obj = await loadObject(ctx, uid);
  if (obj.objectType !== ObjectType.SplitKey) throw new KmipError(ResultReason.InvalidObjectType, 'only Split Keys are joined');
  if (!holdsMaterial(obj.state) || !obj.material) throw new KmipError(ResultReason.ObjectDestroyed, 'a part has been destroyed');
  const part = readSplitKey(await openObject(ctx, uid, obj.material));
  if (!part.share) throw new KmipError(ResultReason.KeyValueNotPresent, 'a part is wrapped: register it unwrapped to join it');
  return { obj, part: { ...part, share: part.share } };
}

/** The same split: same parameters and secret, different parts. */
function checkOneSplit(parts: readonly LoadedPart[]): void {
  const first = parts[0]!.part;
  const key = (p: SplitKeyPart & { share: Uint8Array }) =>
    [p.parameters.parts, p.parameters.threshold, p.parameters.method, p.parameters.prime ?? '', p.algorithm ?? '', p.length ?? '', p.share.length].join('/');
  if (parts.some(({ part }) => key(part) !== key(first))) throw invalidField('the parts are not of one split: their parameters differ');
  if (new Set(parts.map(({ part }) => part.partId)).size !== parts.length) throw invalidField('two parts have the same Key Part Identifier');
  if (parts.length < partsNeeded(first.parameters)) throw cryptographicFailure(`${parts.length} parts given; the split needs ${partsNeeded(first.parameters)}`);
}

/**
 * Store reads one Join may spend following Previous Links. A split Create Split Key made needs at
 * most MAX_SPLIT_PARTS − 1 (the walks share what they pass); twice that leaves room and still bounds
 * what parts with forged links can make the server read.
 */
const MAX_CHAIN_READS = 2 * MAX_SPLIT_PARTS;

/**
 * Parts Create Split Key made are one chain of Previous/Next Links, whose first part is its head: all
 * the parts must lead to one head, or all have no links (registered on their own). Walks only
 * through the tenant's Split Keys, stops at the first part leading elsewhere, and reads at most
 * MAX_CHAIN_READS objects in all.
 */
async function checkOneChain(ctx: OperationContext, parts: readonly LoadedPart[]): Promise<void> {
  const given = new Map(parts.map(({ obj }) => [obj.uid, obj]));
  const headOf = new Map<string, string>();
  let reads = 0;
  const previousOf = async (obj: ManagedObject): Promise<ManagedObject | undefined> => {
    const uid = linkTarget(obj, LinkType.PreviousLink);
    if (uid === undefined) return undefined;
    const loaded = given.get(uid);
    if (loaded) return loaded;
    if (++reads > MAX_CHAIN_READS) throw invalidField('the parts\u2019 Previous Links are too long to follow');
    const record = await ctx.session.get(uid);
    return record && record.objectType === ObjectType.SplitKey ? ManagedObject.fromRecord(record, ctx.deps.now()) : undefined;
  };
  /** The first Split Key of the chain a part is in; undefined for a part with no chain. */
  const chainHead = async (obj: ManagedObject): Promise<string | undefined> => {
    if (linkTarget(obj, LinkType.PreviousLink) === undefined && linkTarget(obj, LinkType.NextLink) === undefined) return undefined;
    const path = new Set<string>();
    let current = obj;
    let head = headOf.get(current.uid);
    while (head === undefined) {
      path.add(current.uid);
      if (path.size > MAX_SPLIT_PARTS) throw invalidField('the parts\u2019 Previous Links do not lead to a first part');
      const previous = await previousOf(current);
      if (previous === undefined) head = current.uid;
      else if (path.has(previous.uid)) throw invalidField('the parts\u2019 Previous Links do not lead to a first part');
      else {
        current = previous;
        head = headOf.get(current.uid);
      }
    }
    for (const uid of path) headOf.set(uid, head);
    return head;
  };
  // Lowest part first: later walks stop where an earlier one passed.
  const ordered = [...parts].sort((a, b) => a.part.partId - b.part.partId);
  const first = await chainHead(ordered[0]!.obj);
  for (const { obj } of ordered.slice(1)) {
    if ((await chainHead(obj)) !== first) throw invalidField('the parts are not of one split: Create Split Key made them apart');
  }
}

/** A value the parts state, which the request may restate but not contradict. */
function agreed(attributes: readonly Attribute[], name: string, fromParts: number | undefined): number | undefined {
  const asked = attributes.find((a) => a.name === name)?.value as number | undefined;
  if (fromParts !== undefined && asked !== undefined && asked !== fromParts) throw invalidField(`${name} differs from the parts'`);
  return fromParts ?? asked;
}

/** The parts' protection carried to the joined object; a request asking for less is refused. */
function protection(parts: readonly LoadedPart[], attributes: readonly Attribute[]): Attribute[] {
  const asked = (name: string) => attributes.find((a) => a.name === name)?.value;
  const out: Attribute[] = [];
  if (parts.some(({ obj }) => obj.first('Sensitive') === true)) {
    if (asked('Sensitive') === false) throw invalidField('a part is Sensitive: the joined object must be too');
    out.push({ name: 'Sensitive', index: 0, value: true });
  }
  if (parts.some(({ obj }) => obj.first('Extractable') === false)) {
    if (asked('Extractable') === true) throw invalidField('a part is not Extractable: the joined object cannot be');
    out.push({ name: 'Extractable', index: 0, value: false });
  }
  return out;
}

export const joinSplitKey = defineOperation({
  operation: Operation.JoinSplitKey,
  name: 'Join Split Key',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    if (req.objectType !== ObjectType.SymmetricKey && req.objectType !== ObjectType.SecretData) {
      throw new KmipError(ResultReason.InvalidObjectType, 'Join Split Key makes Symmetric Keys and Secret Data');
    }
    if (req.secretDataType !== undefined && req.objectType !== ObjectType.SecretData) throw invalidField('Secret Data Type is for joining into Secret Data');
    const uids = req.uniqueIdentifiers;
    if (uids.length === 0) throw missingData('name the Split Keys to join');
    if (uids.length > MAX_SPLIT_PARTS) throw invalidField(`at most ${MAX_SPLIT_PARTS} parts are joined`);
    if (new Set(uids).size !== uids.length) throw invalidField('a part is named twice');
    // 1.4 Table 249: the Template-Attribute may name Templates.
    const attributes = await requestAttributes(ctx, req.templateAttribute, req.attributes);
    const protectionStorageMask = protectionStorage(ctx, req.protectionStorageMasks);

    const parts: LoadedPart[] = [];
    try {
      for (const uid of uids) {
        ctx.auditObjectId = uid;
        parts.push(await loadPart(ctx, uid));
      }
      checkOneSplit(parts);
      const { parameters, algorithm: partAlgorithm, length: partLength, share } = parts[0]!.part;
      const overPrime = parameters.method === SplitKeyMethod.PolynomialSharingPrimeField;
      // Parts a client registered were checked against the bound when registered, or not at all before it existed.
      checkSplitWork(parameters, overPrime ? undefined : share.length);
      await checkOneChain(ctx, parts);
      const secretBytes = overPrime ? secretBytesOf(partAlgorithm, partLength) : share.length;
      if (secretBytes === undefined) throw invalidField('the parts do not state the length of their secret');
      // Any threshold of the parts give the secret; more add work, not information.
      const shares: Share[] = parts.slice(0, partsNeeded(parameters)).map(({ part }) => ({ id: part.partId, value: part.share }));
      const secret = joinSecret(parameters, shares, secretBytes);
      try {
        const serverSet: Attribute[] = [];
        const derived: Attribute[] = [
          { name: 'Digest', index: 0, value: sha256Digest(secret) },
          { name: 'Key Format Type', index: 0, value: KeyFormatType.Raw },
          ...protection(parts, attributes),
          ...uids.map((uid) => link(LinkType.DerivationBaseObjectLink, uid)),
        ];
        let object;
        if (req.objectType === ObjectType.SymmetricKey) {
          const algorithm = agreed(attributes, 'Cryptographic Algorithm', partAlgorithm);
          const bits = agreed(attributes, 'Cryptographic Length', partLength) ?? secret.length * 8;
          if (algorithm === undefined) throw invalidField('a Symmetric Key needs a Cryptographic Algorithm, and the parts name none');
          const problem = symmetricLengthProblem(algorithm, bits, 'register');
          if (problem) throw invalidField(problem);
          const expected = isSupportedSymmetricAlgorithm(algorithm) ? materialLength(algorithm, bits) : bits % 8 === 0 ? bits / 8 : undefined;
          if (expected !== undefined && expected !== secret.length) throw invalidField(`the parts hold ${secret.length} bytes, not the ${expected} bytes of such a key`);
          derived.push({ name: 'Cryptographic Algorithm', index: 0, value: algorithm }, { name: 'Cryptographic Length', index: 0, value: bits });
          if (!attributes.some((a) => a.name === 'Cryptographic Usage Mask')) serverSet.push({ name: 'Cryptographic Usage Mask', index: 0, value: DEFAULT_USAGE });
          object = rawSymmetricKeyObject(secret, algorithm, bits);
        } else {
          // The spec gives no default Secret Data Type; a shared secret is keying material, a Seed.
          object = rawSecretDataObject(secret, req.secretDataType ?? SecretDataType.Seed);
        }
        const obj = newObject(ctx, { objectType: req.objectType, clientAttributes: [...attributes, ...serverSet], derived, protectionStorageMask });
        // §3.49, §3.51: a part without them (stored before they were kept) reads them False.
        obj.set('Always Sensitive', obj.first('Always Sensitive') === true && parts.every(({ obj: p }) => p.first('Always Sensitive') === true));
        obj.set('Never Extractable', obj.first('Never Extractable') === true && parts.every(({ obj: p }) => p.first('Never Extractable') === true));
        obj.material = await sealObject(ctx, obj.uid, object);
        ctx.session.insert(obj.toRecord(ctx.deps.now()));
        ctx.auditObjectId = obj.uid;
        ctx.batch.idPlaceholder = obj.uid;
        return { uniqueIdentifier: obj.uid, templateAttribute: serverChosenTemplateAttribute(ctx, serverSet) };
      } finally {
        secret.fill(0);
      }
    } finally {
      for (const { part } of parts) part.share.fill(0);
    }
  },
});
