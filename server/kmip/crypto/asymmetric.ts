/**
 * RSA encryption (OAEP with any node digest, MGF1 digest and label; PKCS#1 v1.5 encryption only) and signatures (RSA PKCS#1 v1.5,
 * RSASSA-PSS with a salt length, ECDSA over P-256/384/521 with DER-encoded signatures).
 */
import { constants, privateDecrypt, publicEncrypt, sign, verify, type KeyObject } from 'node:crypto';
import { cryptographicFailure, KmipError } from '../errors.js';
import { CryptographicAlgorithm, DigitalSignatureAlgorithm, HashingAlgorithm, MaskGenerator, PaddingMethod, ResultReason } from '../generated/enums.js';
import { digestLength, digestName, unsupportedParameters } from './digests.js';
import { oaepDecrypt, oaepEncrypt } from './oaep.js';

export interface AsymmetricParameters {
  readonly padding: number | undefined;
  readonly hashing: number | undefined;
  readonly signatureAlgorithm: number | undefined;
  readonly algorithm: number | undefined;
  readonly saltLength: number | undefined;
  readonly maskGenerator: number | undefined;
  readonly maskGeneratorHashing: number | undefined;
  readonly pSource: Uint8Array | undefined;
  readonly trailerField: number | undefined;
}

type RsaPadding =
  | { readonly kind: 'pkcs1' }
  | { readonly kind: 'oaep'; readonly digest: string; readonly mgfDigest: string; readonly label: Buffer };

function rsaPadding(p: AsymmetricParameters): RsaPadding {
  const padding = p.padding ?? PaddingMethod.OAEP;
  if (padding === PaddingMethod.PKCS1V1_5) return { kind: 'pkcs1' };
  if (padding !== PaddingMethod.OAEP) throw unsupportedParameters('RSA encryption takes OAEP or PKCS#1 v1.5 padding');
  if (p.maskGenerator !== undefined && p.maskGenerator !== MaskGenerator.MGF1) throw unsupportedParameters('only MGF1 is supported');
  // KMIP's defaults: SHA-1 for OAEP, and MGF1 over the OAEP digest unless another is named.
  const hash = p.hashing ?? HashingAlgorithm.SHA_1;
  return { kind: 'oaep', digest: digestName(hash), mgfDigest: digestName(p.maskGeneratorHashing ?? hash), label: Buffer.from(p.pSource ?? []) };
}

function requireRsa(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'rsa') throw unsupportedParameters('only RSA keys encrypt and decrypt');
}

export function rsaEncrypt(key: KeyObject, p: AsymmetricParameters, data: Uint8Array): Buffer {
  requireRsa(key);
  const padding = rsaPadding(p);
  try {
    if (padding.kind === 'pkcs1') return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data);
    if (padding.mgfDigest !== padding.digest) return oaepEncrypt(key, data, padding.digest, padding.mgfDigest, padding.label);
    return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: padding.digest, ...(padding.label.length > 0 ? { oaepLabel: padding.label } : {}) }, data);
  } catch (err) {
    if (err instanceof KmipError) throw err;
    throw cryptographicFailure('RSA encryption failed (is the data too long for the key?)', err);
  }
}

export function rsaDecrypt(key: KeyObject, p: AsymmetricParameters, data: Uint8Array): Buffer {
  requireRsa(key);
  const padding = rsaPadding(p);
  // node refuses PKCS#1 v1.5 decryption (CVE-2023-46809, the Marvin timing oracle); doing it by hand would bring the oracle back.
  if (padding.kind === 'pkcs1') throw unsupportedParameters('RSA PKCS#1 v1.5 decryption is not offered: use OAEP');
  try {
    if (padding.mgfDigest !== padding.digest) return oaepDecrypt(key, data, padding.digest, padding.mgfDigest, padding.label);
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: padding.digest, ...(padding.label.length > 0 ? { oaepLabel: padding.label } : {}) }, data);
  } catch (err) {
    if (err instanceof KmipError) throw err;
    throw cryptographicFailure('cryptographic failure', err);
  }
}

const RSA_SIGNATURES: ReadonlyMap<number, { hash: number; pss: boolean }> = new Map([
  [DigitalSignatureAlgorithm.SHA_1WithRSAEncryption, { hash: HashingAlgorithm.SHA_1, pss: false }],
  [DigitalSignatureAlgorithm.SHA_224WithRSAEncryption, { hash: HashingAlgorithm.SHA_224, pss: false }],
  [DigitalSignatureAlgorithm.SHA_256WithRSAEncryption, { hash: HashingAlgorithm.SHA_256, pss: false }],
  [DigitalSignatureAlgorithm.SHA_384WithRSAEncryption, { hash: HashingAlgorithm.SHA_384, pss: false }],
  [DigitalSignatureAlgorithm.SHA_512WithRSAEncryption, { hash: HashingAlgorithm.SHA_512, pss: false }],
  [DigitalSignatureAlgorithm.SHA3_256WithRSAEncryption, { hash: HashingAlgorithm.SHA3_256, pss: false }],
  [DigitalSignatureAlgorithm.SHA3_384WithRSAEncryption, { hash: HashingAlgorithm.SHA3_384, pss: false }],
  [DigitalSignatureAlgorithm.SHA3_512WithRSAEncryption, { hash: HashingAlgorithm.SHA3_512, pss: false }],
]);
const ECDSA_SIGNATURES: ReadonlyMap<number, number> = new Map([
  [DigitalSignatureAlgorithm.ECDSAWithSHA_1, HashingAlgorithm.SHA_1],
  [DigitalSignatureAlgorithm.ECDSAWithSHA224, HashingAlgorithm.SHA_224],
  [DigitalSignatureAlgorithm.ECDSAWithSHA256, HashingAlgorithm.SHA_256],
  [DigitalSignatureAlgorithm.ECDSAWithSHA384, HashingAlgorithm.SHA_384],
  [DigitalSignatureAlgorithm.ECDSAWithSHA512, HashingAlgorithm.SHA_512],
]);

/** What node needs to sign or verify: the digest and, for RSA, the padding and salt length. */
export interface SignaturePlan {
  readonly digest: string;
  readonly hashing: number;
  readonly options: { padding?: number; saltLength?: number };
}

/** Resolves Cryptographic Parameters against the key type into one signature scheme. */
export function planSignature(key: KeyObject, p: AsymmetricParameters, signing: boolean): SignaturePlan {
  const type = key.asymmetricKeyType;
  if (p.trailerField !== undefined && p.trailerField !== 1) throw unsupportedParameters('only the trailer field 0xBC is supported');
  if (type === 'rsa') {
    let hashing = p.hashing;
    let pss = p.padding === PaddingMethod.PSS;
    if (p.signatureAlgorithm !== undefined) {
      if (p.signatureAlgorithm === DigitalSignatureAlgorithm.RSASSA_PSS) pss = true;
      else {
        const s = RSA_SIGNATURES.get(p.signatureAlgorithm);
        if (!s) throw unsupportedParameters('this Digital Signature Algorithm does not fit an RSA key');
        hashing = s.hash;
        pss = false;
      }
    } else if (p.padding !== undefined && p.padding !== PaddingMethod.PSS && p.padding !== PaddingMethod.PKCS1V1_5) {
      throw unsupportedParameters('RSA signatures take PSS or PKCS#1 v1.5 padding');
    }
    if (p.algorithm !== undefined && p.algorithm !== CryptographicAlgorithm.RSA) throw unsupportedParameters('the key is an RSA key');
    if (hashing === undefined) throw new KmipError(ResultReason.BadCryptographicParameters, 'a Hashing Algorithm or Digital Signature Algorithm is required');
    const digest = digestName(hashing);
    if (!pss) return { digest, hashing, options: { padding: constants.RSA_PKCS1_PADDING } };
    if (p.maskGenerator !== undefined && p.maskGenerator !== MaskGenerator.MGF1) throw unsupportedParameters('only MGF1 is supported');
    if (p.maskGeneratorHashing !== undefined && p.maskGeneratorHashing !== hashing) throw unsupportedParameters('MGF1 must use the signature hashing algorithm');
    const saltLength = p.saltLength ?? (signing ? digestLength(hashing) : constants.RSA_PSS_SALTLEN_AUTO);
    return { digest, hashing, options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength } };
  }
  if (type === 'ec') {
    let hashing = p.hashing;
    if (p.signatureAlgorithm !== undefined) {
      hashing = ECDSA_SIGNATURES.get(p.signatureAlgorithm);
      if (hashing === undefined) throw unsupportedParameters('this Digital Signature Algorithm does not fit an EC key');
    }
    if (p.algorithm !== undefined && p.algorithm !== CryptographicAlgorithm.ECDSA && p.algorithm !== CryptographicAlgorithm.EC) {
      throw unsupportedParameters('the key is an elliptic curve key');
    }
    if (hashing === undefined) throw new KmipError(ResultReason.BadCryptographicParameters, 'a Hashing Algorithm or Digital Signature Algorithm is required');
    return { digest: digestName(hashing), hashing, options: {} };
  }
  throw unsupportedParameters('this key type does not sign');
}

export function signData(key: KeyObject, plan: SignaturePlan, data: Uint8Array): Buffer {
  try {
    return sign(plan.digest, data, { key, ...plan.options });
  } catch (err) {
    throw cryptographicFailure('the signature could not be made', err);
  }
}

/** A malformed signature is simply not valid: never an error. */
export function verifyData(key: KeyObject, plan: SignaturePlan, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(plan.digest, data, { key, ...plan.options }, signature);
  } catch {
    return false;
  }
}
