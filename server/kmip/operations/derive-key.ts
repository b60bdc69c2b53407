import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { featureNotSupported, invalidField, KmipError, missingData } from '../errors.js';
import { BlockCipherMode, CryptographicUsageMask, DerivationMethod, HashingAlgorithm, KeyFormatType, LinkType, ObjectType, Operation, ResultReason, SecretDataType } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { counterModeDerive, hashDerive, hmacDerive, pbkdf2Derive } from '../crypto/derive.js';
import { digestName, unsupportedParameters } from '../crypto/digests.js';
import { planMac } from '../crypto/mac.js';
import { chooseIv, planCipher, SymmetricStream } from '../crypto/symmetric.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { AttributesV2Codec, TemplateAttributeSchema, type Attribute } from '../model/attributes.js';
import { openObject, sealObject } from '../objects/material.js';
import { KeyValueSchema, SecretDataSchema } from '../objects/schemas.js';
import { isSupportedSymmetricAlgorithm, materialLength, rawSymmetricKeyObject, sha256Digest, symmetricLengthProblem } from '../objects/symmetric-key.js';
import { bytes, enumeration, integer, many, opt, req, STORAGE_CONTEXT, struct, text } from '../schema.js';
import { loadObject, requestAttributes, resolveUid, saveObject, serverChosenTemplateAttribute } from './common.js';
import { consumeUsage, loadKeyForUse, symmetricMaterial, symmetricParameters, type CryptoParams, type UsableKey } from './crypto-key.js';
import { newObject } from './new-object.js';
import { link } from './rekey-rules.js';
import { DEFAULT_USAGE } from './create.js';
import { defineOperation } from './types.js';

const DerivationParametersSchema = struct('Derivation Parameters', {
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  initializationVector: opt(Tag.InitializationVector, bytes),
  derivationData: opt(Tag.DerivationData, bytes),
  salt: opt(Tag.Salt, bytes),
  iterationCount: opt(Tag.IterationCount, integer),
});
type DerivationParameters = ReturnType<typeof DerivationParametersSchema.decode>;

const Request = struct('Derive Key Request Payload', {
  objectType: req(Tag.ObjectType, enumeration('ObjectType')),
  uniqueIdentifiers: many(Tag.UniqueIdentifier, text),
  derivationMethod: req(Tag.DerivationMethod, enumeration('DerivationMethod')),
  derivationParameters: req(Tag.DerivationParameters, DerivationParametersSchema),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Derive Key Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
});

/** The longest object Derive Key makes, in bits. */
export const MAX_DERIVED_BITS = 4096;
/** Bounds on what the Derivation Parameters carry into a derivation. */
const MAX_DERIVATION_DATA = 64 * 1024;
const MAX_SALT = 1024;

const METHODS: ReadonlySet<number> = new Set([DerivationMethod.PBKDF2, DerivationMethod.HASH, DerivationMethod.HMAC, DerivationMethod.ENCRYPT, DerivationMethod.NIST800_108_C]);

interface Target {
  readonly objectType: number;
  readonly algorithm: number | undefined;
  readonly bits: number;
  /** Bytes of material to derive. */
  readonly bytes: number;
}

/** The object asked for: a Symmetric Key of a length its algorithm has, or Secret Data of whole bytes. */
function targetOf(objectType: number, attributes: readonly Attribute[]): Target {
  const single = (name: string) => attributes.find((a) => a.name === name)?.value;
  const bits = single('Cryptographic Length');
  if (typeof bits !== 'number') throw invalidField('Cryptographic Length is required');
  if (bits < 8 || bits > MAX_DERIVED_BITS) throw invalidField(`Cryptographic Length must be from 8 to ${MAX_DERIVED_BITS} bits`);
  if (objectType === ObjectType.SecretData) {
    if (bits % 8 !== 0) throw invalidField('Secret Data is derived in whole bytes');
    return { objectType, algorithm: undefined, bits, bytes: bits / 8 };
  }
  if (objectType !== ObjectType.SymmetricKey) throw new KmipError(ResultReason.InvalidObjectType, 'Derive Key makes Symmetric Keys and Secret Data only');
  const algorithm = single('Cryptographic Algorithm');
  if (typeof algorithm !== 'number') throw invalidField('Cryptographic Algorithm is required');
  if (!isSupportedSymmetricAlgorithm(algorithm)) throw invalidField('Cryptographic Algorithm is not supported for symmetric keys');
  const problem = symmetricLengthProblem(algorithm, bits, 'create');
  if (problem) throw invalidField(problem);
  // 3DES keys are 24 bytes whatever their effective length; the ciphers ignore the parity bits.
  return { objectType, algorithm, bits, bytes: materialLength(algorithm, bits) };
}

/** The raw bytes of the base object (Symmetric Key or Secret Data; the caller wipes them). */
async function baseMaterial(ctx: OperationContext, k: UsableKey): Promise<{ key: Uint8Array; algorithm: number | undefined }> {
  if (k.obj.objectType === ObjectType.SymmetricKey) return symmetricMaterial(ctx, k);
  if (k.obj.objectType !== ObjectType.SecretData) {
    throw new KmipError(ResultReason.IllegalObjectType, 'keys are derived from a Symmetric Key or Secret Data', { legacyReason: ResultReason.IllegalOperation });
  }
  const { keyBlock } = SecretDataSchema.decode(await openObject(ctx, k.uid, k.obj.material!), STORAGE_CONTEXT);
  if (keyBlock.keyWrappingData || !keyBlock.keyValue || keyBlock.keyValue.type !== ItemType.Structure) {
    throw new KmipError(ResultReason.KeyValueNotPresent, 'the Secret Data holds no plain value to derive from');
  }
  const material = KeyValueSchema.decode(keyBlock.keyValue, STORAGE_CONTEXT).keyMaterial;
  if (material.type !== ItemType.ByteString) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
  return { key: material.value, algorithm: undefined };
}

function hmacDigestOf(algorithm: number | undefined): string | undefined {
  if (algorithm === undefined) return undefined;
  try {
    const plan = planMac(algorithm, { algorithm, mode: undefined, hashing: undefined });
    return plan.kind === 'hmac' ? plan.digest : undefined;
  } catch {
    return undefined; // an algorithm with no MAC at all (3DES, ChaCha20)
  }
}

function noPrf(): KmipError {
  return new KmipError(ResultReason.BadCryptographicParameters, 'name the PRF: a Hashing Algorithm or an HMAC Cryptographic Algorithm', { legacyReason: ResultReason.InvalidField });
}

/** SP 800-108's PRF: what the Cryptographic Parameters name (they identify the PRF), else the key's HMAC algorithm. */
function prfDigest(params: CryptoParams, keyAlgorithm: number | undefined): string {
  if (params.hashingAlgorithm !== undefined) return digestName(params.hashingAlgorithm);
  const digest = hmacDigestOf(params.cryptographicAlgorithm ?? keyAlgorithm);
  if (digest === undefined) throw noPrf();
  return digest;
}

/**
 * The HMAC method's hash. "The attributes of the derivation key provide enough information about the
 * PRF, and the Cryptographic Parameters are ignored": an HMAC key's own algorithm decides. A base with
 * no HMAC algorithm (Secret Data, an AES key) has nothing to say, so the parameters' hash is taken then.
 */
function hmacMethodDigest(params: CryptoParams, keyAlgorithm: number | undefined): string {
  const own = hmacDigestOf(keyAlgorithm);
  if (own !== undefined) return own;
  if (params.hashingAlgorithm !== undefined) return digestName(params.hashingAlgorithm);
  throw noPrf();
}

/**
 * ENCRYPT: the Derivation Data encrypted under the base key, its leading bytes. Only ECB and CBC: a
 * stream mode (CTR, OFB, CFB, GCM, ChaCha20) under the fixed IV a derivation needs XORs the data with
 * the same keystream every time, so one derived key and the two Derivation Data give away another.
 */
function encryptDerive(params: CryptoParams, material: { key: Uint8Array; algorithm: number | undefined }, iv: Uint8Array | undefined, data: Uint8Array, length: number): Uint8Array {
  const p = symmetricParameters(params, material.algorithm);
  if (p.mode !== BlockCipherMode.ECB && p.mode !== BlockCipherMode.CBC) {
    throw unsupportedParameters('the ENCRYPT derivation takes a block cipher in ECB or CBC mode');
  }
  const plan = planCipher(p, material.key.length);
  // The Derivation Parameters: "an empty IV is assumed if not provided", i.e. all zeros here.
  const blockIv = iv ?? (plan.iv.kind === 'exact' ? new Uint8Array(plan.iv.length) : undefined);
  const chosen = chooseIv(plan, { ...p, randomIV: false }, blockIv, false);
  const stream = new SymmetricStream(plan, material.key, chosen.iv, true, p, undefined);
  const out = Buffer.concat([stream.update(data), stream.final().data]);
  if (length > out.length) throw invalidField(`Cryptographic Length exceeds the encrypted Derivation Data (${out.length * 8} bits)`);
  const result = new Uint8Array(out.subarray(0, length));
  out.fill(0);
  return result;
}

/** Refuses Derivation Parameters the method has no use for, rather than ignoring what the client meant. */
function checkUnused(dp: DerivationParameters, method: number): void {
  if (method !== DerivationMethod.PBKDF2 && (dp.salt !== undefined || dp.iterationCount !== undefined)) {
    throw invalidField('Salt and Iteration Count are PBKDF2 parameters');
  }
  if (method !== DerivationMethod.ENCRYPT && dp.initializationVector !== undefined) throw invalidField('only the ENCRYPT derivation takes an Initialization Vector');
  if ((method === DerivationMethod.PBKDF2 || method === DerivationMethod.HASH) && dp.derivationData !== undefined) {
    throw invalidField('this Derivation Method takes no Derivation Data: it derives from the base object alone');
  }
  if ((dp.derivationData?.length ?? 0) > MAX_DERIVATION_DATA) throw invalidField(`Derivation Data may hold at most ${MAX_DERIVATION_DATA} bytes`);
  if ((dp.salt?.length ?? 0) > MAX_SALT) throw invalidField(`Salt may hold at most ${MAX_SALT} bytes`);
}

function requireData(dp: DerivationParameters): Uint8Array {
  if (dp.derivationData === undefined) throw missingData('Derivation Data is required for this Derivation Method');
  return dp.derivationData;
}

async function derive(method: number, dp: DerivationParameters, k: UsableKey, material: { key: Uint8Array; algorithm: number | undefined }, length: number): Promise<Uint8Array> {
  switch (method) {
    case DerivationMethod.PBKDF2: {
      if (dp.salt === undefined) throw missingData('PBKDF2 needs a Salt');
      if (dp.iterationCount === undefined) throw missingData('PBKDF2 needs an Iteration Count');
      // 1.4 §4.6: HMAC with SHA-1 is the PRF unless the Cryptographic Parameters name a hash.
      return pbkdf2Derive(material.key, dp.salt, dp.iterationCount, k.params.hashingAlgorithm ?? HashingAlgorithm.SHA_1, length);
    }
    case DerivationMethod.HASH: {
      const hashing = k.params.hashingAlgorithm;
      if (hashing === undefined) throw new KmipError(ResultReason.BadCryptographicParameters, 'the HASH derivation needs a Hashing Algorithm', { legacyReason: ResultReason.InvalidField });
      return hashDerive(material.key, hashing, length);
    }
    case DerivationMethod.HMAC:
      return hmacDerive(material.key, requireData(dp), hmacMethodDigest(k.params, material.algorithm), length);
    case DerivationMethod.NIST800_108_C:
      return counterModeDerive(material.key, requireData(dp), prfDigest(k.params, material.algorithm), length);
    case DerivationMethod.ENCRYPT:
      return encryptDerive(k.params, material, dp.initializationVector, requireData(dp), length);
    default:
      throw unsupportedMethod();
  }
}

function unsupportedMethod(): KmipError {
  return featureNotSupported('this Derivation Method is not offered: PBKDF2, HASH, HMAC, ENCRYPT and NIST800-108-C are');
}

function derivedObject(target: Target, material: Uint8Array): TtlvItem {
  if (target.objectType === ObjectType.SymmetricKey) return rawSymmetricKeyObject(material, target.algorithm!, target.bits);
  return SecretDataSchema.encode(
    Tag.SecretData,
    {
      secretDataType: SecretDataType.Seed,
      keyBlock: {
        keyFormatType: KeyFormatType.Raw,
        keyValue: KeyValueSchema.encode(Tag.KeyValue, { keyMaterial: { tag: Tag.KeyMaterial, type: ItemType.ByteString, value: material }, attributes: [] }, STORAGE_CONTEXT),
      },
    },
    STORAGE_CONTEXT,
  );
}

/**
 * Derive Key (1.2+): a new Symmetric Key or Secret Data from one Active Symmetric Key or Secret Data
 * of the tenant that may derive keys, by PBKDF2, HASH, HMAC, ENCRYPT or SP 800-108 counter mode. The
 * two objects are linked both ways (Derivation Base Object / Derived Key).
 */
export const deriveKey = defineOperation({
  operation: Operation.DeriveKey,
  name: 'Derive Key',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    if (!METHODS.has(req.derivationMethod)) throw unsupportedMethod();
    if (req.uniqueIdentifiers.length > 1) throw featureNotSupported('keys are derived from one base object here');
    const baseUid = resolveUid(ctx, req.uniqueIdentifiers[0]);
    const dp = req.derivationParameters;
    checkUnused(dp, req.derivationMethod);
    const attributes = await requestAttributes(ctx, req.templateAttribute, req.attributes);
    const target = targetOf(req.objectType, attributes);
    const k = await loadKeyForUse(ctx, baseUid, 'protect', CryptographicUsageMask.DeriveKey, dp.cryptographicParameters);
    const base = await baseMaterial(ctx, k);
    let material: Uint8Array;
    try {
      material = await derive(req.derivationMethod, dp, k, base, target.bytes);
    } finally {
      base.key.fill(0);
    }
    await consumeUsage(ctx, k, dp.derivationData?.length ?? 0);

    const serverSet: Attribute[] = [];
    if (target.objectType === ObjectType.SymmetricKey && !attributes.some((a) => a.name === 'Cryptographic Usage Mask')) {
      serverSet.push({ name: 'Cryptographic Usage Mask', index: 0, value: DEFAULT_USAGE });
    }
    const obj = newObject(ctx, {
      objectType: target.objectType,
      clientAttributes: [...attributes, ...serverSet],
      derived: [{ name: 'Digest', index: 0, value: sha256Digest(material) }, { name: 'Key Format Type', index: 0, value: KeyFormatType.Raw }, link(LinkType.DerivationBaseObjectLink, baseUid)],
    });
    try {
      obj.material = await sealObject(ctx, obj.uid, derivedObject(target, material));
    } finally {
      material.fill(0);
    }
    // Read again for update: consumeUsage may have queued a newer version of the base in this session.
    const baseObj = await loadObject(ctx, baseUid, true);
    baseObj.add('Link', link(LinkType.DerivedKeyLink, obj.uid).value);
    saveObject(ctx, baseObj);
    ctx.session.insert(obj.toRecord(ctx.deps.now()));
    ctx.auditObjectId = obj.uid;
    ctx.batch.idPlaceholder = obj.uid;
    return { uniqueIdentifier: obj.uid, templateAttribute: serverChosenTemplateAttribute(ctx, serverSet) };
  },
});
