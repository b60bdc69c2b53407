/**
 * What the cryptographic operations share: loading a key for a use (state, dates, usage mask, usage
 * limits), reading its material, and the Cryptographic Parameters in force (the request's, else the key's).
 */
import type { KeyObject } from 'node:crypto';
import { ItemType } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import type { AsymmetricParameters } from '../crypto/asymmetric.js';
import { chooseIv, planCipher, SymmetricStream, type SymmetricParameters } from '../crypto/symmetric.js';
import { featureNotSupported, KmipError, wrongLifecycleState } from '../errors.js';
import { KeyFormatType, ObjectType, ResultReason, State, UsageLimitsUnit } from '../generated/enums.js';
import { holdsMaterial } from '../lifecycle.js';
import type { ManagedObject } from '../managed-object.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { readKey } from '../objects/asymmetric-key.js';
import { openObject } from '../objects/material.js';
import { KeyValueSchema, PrivateKeySchema, PublicKeySchema, SymmetricKeySchema } from '../objects/schemas.js';
import { convertSymmetricKey } from '../objects/symmetric-key.js';
import { STORAGE_CONTEXT, type InferStruct } from '../schema.js';
import { loadObject, nowSeconds, saveObject } from './common.js';

export type CryptoParams = InferStruct<typeof CryptographicParametersSchema>;

/**
 * Protect uses (Encrypt, Sign, MAC) need an Active key before its Protect Stop Date; process uses
 * (Decrypt, Signature Verify, MAC Verify) also take Deactivated and Compromised keys, from the Process
 * Start Date on (1.4 §3.22, §3.25–3.26).
 */
export type KeyUse = 'protect' | 'process';

export interface UsableKey {
  readonly uid: string;
  readonly obj: ManagedObject;
  /** Cryptographic Parameters of the request, else the key's own attribute. */
  readonly params: CryptoParams;
}

export async function loadKeyForUse(ctx: OperationContext, uid: string, use: KeyUse, usageBit: number, fromRequest: CryptoParams | undefined): Promise<UsableKey> {
  const obj = await loadObject(ctx, uid);
  checkUsable(ctx, obj, use, usageBit);
  // The request's parameters replace the key's attribute as a whole: merging field by field could pair
  // a mode from one with a padding from the other.
  const params = fromRequest ?? (obj.first('Cryptographic Parameters') as CryptoParams | undefined) ?? {};
  return { uid, obj, params };
}

function checkUsable(ctx: OperationContext, obj: ManagedObject, use: KeyUse, usageBit: number): void {
  if (!holdsMaterial(obj.state) || !obj.material) throw wrongLifecycleState('the object has been destroyed');
  const allowed = use === 'protect' ? obj.state === State.Active : obj.state === State.Active || obj.state === State.Deactivated || obj.state === State.Compromised;
  if (!allowed) throw wrongLifecycleState('the key is not in a state that allows this operation');
  const now = nowSeconds(ctx);
  if (use === 'protect') {
    const stop = obj.first('Protect Stop Date') as number | undefined;
    if (stop !== undefined && stop <= now) throw wrongLifecycleState('the key is past its Protect Stop Date');
  } else {
    const start = obj.first('Process Start Date') as number | undefined;
    if (start !== undefined && start > now) throw wrongLifecycleState('the key is before its Process Start Date');
  }
  const mask = (obj.first('Cryptographic Usage Mask') as number | undefined) ?? 0;
  if ((mask & usageBit) !== usageBit) {
    throw new KmipError(ResultReason.IncompatibleCryptographicUsageMask, 'the key Cryptographic Usage Mask does not allow this operation', { legacyReason: ResultReason.PermissionDenied });
  }
}

/**
 * Counts a use against the key's Usage Limits (bytes or objects) and queues the change; refused,
 * counting nothing, when too little is left. Keys without Usage Limits are not touched.
 */
export async function consumeUsage(ctx: OperationContext, k: UsableKey, bytes: number): Promise<void> {
  if (k.obj.first('Usage Limits') === undefined) return;
  const obj = await loadObject(ctx, k.uid, true);
  const limits = obj.first('Usage Limits') as { usageLimitsTotal: bigint; usageLimitsCount?: bigint | undefined; usageLimitsUnit: number } | undefined;
  if (!limits) return;
  const cost = BigInt(limits.usageLimitsUnit === UsageLimitsUnit.Object ? 1 : bytes);
  const left = limits.usageLimitsCount ?? limits.usageLimitsTotal;
  if (left < cost) throw new KmipError(ResultReason.PermissionDenied, 'the key Usage Limits are exhausted');
  obj.set('Usage Limits', { ...limits, usageLimitsCount: left - cost });
  saveObject(ctx, obj);
}

/** The largest RSA modulus the cryptographic operations use. */
export const MAX_RSA_BITS = 8192;

export interface SymmetricMaterial {
  readonly key: Uint8Array;
  readonly algorithm: number | undefined;
}

/** The raw bytes and algorithm of a Symmetric Key (the caller wipes `key` when done). */
export async function symmetricMaterial(ctx: OperationContext, k: UsableKey): Promise<SymmetricMaterial> {
  if (k.obj.objectType !== ObjectType.SymmetricKey) throw new KmipError(ResultReason.IllegalObjectType, 'the operation needs a Symmetric Key', { legacyReason: ResultReason.IllegalOperation });
  const object = convertSymmetricKey(await openObject(ctx, k.uid, k.obj.material!), KeyFormatType.Raw);
  const { keyBlock } = SymmetricKeySchema.decode(object, STORAGE_CONTEXT);
  if (!keyBlock.keyValue || keyBlock.keyValue.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
  const material = KeyValueSchema.decode(keyBlock.keyValue, STORAGE_CONTEXT).keyMaterial;
  if (material.type !== ItemType.ByteString) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
  const algorithm = keyBlock.cryptographicAlgorithm ?? (k.obj.first('Cryptographic Algorithm') as number | undefined);
  return { key: material.value, algorithm };
}

/** The node KeyObject of a Public or Private Key, checking the object type the operation needs. */
export async function asymmetricKey(ctx: OperationContext, k: UsableKey, objectType: number): Promise<KeyObject> {
  if (k.obj.objectType !== objectType) {
    const name = objectType === ObjectType.PrivateKey ? 'a Private Key' : 'a Public Key';
    throw new KmipError(ResultReason.IllegalObjectType, `the operation needs ${name}`, { legacyReason: ResultReason.IllegalOperation });
  }
  const object = await openObject(ctx, k.uid, k.obj.material!);
  const schema = objectType === ObjectType.PrivateKey ? PrivateKeySchema : PublicKeySchema;
  const key = readKey(objectType, schema.decode(object, STORAGE_CONTEXT).keyBlock);
  if (!key) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this key form cannot be used for cryptography here');
  // A registered RSA key may be as large as OpenSSL allows; each private operation on a 16,384-bit key
  // holds the event loop for hundreds of milliseconds.
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== undefined && bits > MAX_RSA_BITS) throw new KmipError(ResultReason.FeatureNotSupported, `RSA keys above ${MAX_RSA_BITS} bits are not used for cryptography here`);
  return key;
}

/**
 * A cipher over the Symmetric Key `k` for Encrypt, Decrypt and Get's key wrapping: the parameters in
 * force, the client's IV or, for an encryption, one made here (`generatedIv`, to return). The key's
 * bytes are wiped once the cipher holds them. Refused (Feature Not Supported): an authenticated mode
 * before KMIP 1.4 (the Authenticated Encryption Tag fields are 1.4's: the tag would be dropped and the
 * data never decryptable), a streamed key wrap (OpenSSL's wrap ciphers take the whole input at once),
 * and a streamed authenticated decryption (its plaintext would leave before Final checks the tag).
 */
export async function openSymmetricStream(
  ctx: OperationContext,
  k: UsableKey,
  o: { readonly encrypting: boolean; readonly streamed: boolean; readonly clientIv?: Uint8Array | undefined; readonly aad?: Uint8Array | undefined },
): Promise<{ stream: SymmetricStream; generatedIv: Buffer | undefined }> {
  const material = await symmetricMaterial(ctx, k);
  try {
    const p = symmetricParameters(k.params, material.algorithm);
    const plan = planCipher(p, material.key.length);
    if (plan.aead && ctx.version < 14) throw featureNotSupported('authenticated encryption needs KMIP 1.4 or later: earlier versions have no field for its tag');
    if (o.streamed && plan.iv.kind === 'wrap') throw featureNotSupported('key wrap cannot be streamed');
    if (o.streamed && plan.aead && !o.encrypting) throw featureNotSupported('authenticated decryption cannot be streamed: no plaintext leaves before its tag is checked');
    const chosen = chooseIv(plan, p, o.clientIv, o.encrypting);
    return {
      stream: new SymmetricStream(plan, material.key, chosen.iv, o.encrypting, p, o.aad),
      generatedIv: chosen.generated && chosen.iv ? chosen.iv : undefined,
    };
  } finally {
    material.key.fill(0);
  }
}

export function symmetricParameters(p: CryptoParams, keyAlgorithm: number | undefined): SymmetricParameters {
  const algorithm = p.cryptographicAlgorithm ?? keyAlgorithm;
  if (algorithm === undefined) throw new KmipError(ResultReason.BadCryptographicParameters, 'the key names no Cryptographic Algorithm');
  return {
    algorithm,
    mode: p.blockCipherMode,
    padding: p.paddingMethod,
    tagLength: p.tagLength,
    ivLengthBits: p.ivLength,
    initialCounter: p.initialCounterValue,
    randomIV: p.randomIV === true,
  };
}

export function asymmetricParameters(p: CryptoParams): AsymmetricParameters {
  return {
    padding: p.paddingMethod,
    hashing: p.hashingAlgorithm,
    signatureAlgorithm: p.digitalSignatureAlgorithm,
    algorithm: p.cryptographicAlgorithm,
    saltLength: p.saltLength,
    maskGenerator: p.maskGenerator,
    maskGeneratorHashing: p.maskGeneratorHashingAlgorithm,
    pSource: p.pSource,
    trailerField: p.trailerField,
  };
}
