/**
 * Key Protect secure import, the client-side cryptography (node:crypto only, no I/O). Key Protect's import
 * token hands out an RSA public key (its private half never leaves Key Protect's HSMs) and a nonce; the
 * caller then sends, to `POST /api/v2/keys` (or the `ibm_kms_key` resource):
 *
 *   payload         base64( RSAES-OAEP(public key, SHA-256 for both the hash and MGF1, empty label; material) )
 *   encryptedNonce  base64( AES-GCM(material as the AES key, iv; nonce bytes) ‖ 16-byte tag )
 *   iv              base64( the 12 random bytes used as the GCM IV )
 *   encryptionAlgorithm  "RSAES_OAEP_SHA_256"
 *
 * Sources (read, not copied): Key Protect docs `create-import-tokens.md` (GET returns `payload`, "the public key
 * … base64 encoded", and `nonce`), `tutorials/secure-import.md` (PEM public key after base64 decoding, OAEP with
 * `rsa_oaep_md:sha256`, a 12-byte IV and `encryptedNonce` = ciphertext with the tag appended, 28 bytes for the
 * 12-byte nonce), `concepts/importing-keys.md` ("You must use the RSAES_OAEP_SHA_256 encryption scheme");
 * IBM/keyprotect-go-client `import_token.go` (base64-decoded nonce sealed by Go's AES-GCM, which appends the tag;
 * base64 of a PKIX PEM) and `keys.go` (RSAES_OAEP_SHA_256 is Key Protect's algorithm, RSAES_OAEP_SHA_1 is for
 * Hyper Protect Crypto Services only). The Terraform provider's `ibm_kms_key` always declares RSAES_OAEP_SHA_256.
 *
 * Material is 16, 24 or 32 bytes (AES-128/192/256; the GCM key size follows it). Nothing here keeps, logs or
 * puts the material or the nonce into an error message.
 */
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes, type CipherGCMTypes, type KeyObject } from 'node:crypto';
import { WrapError, WrapErrorCode } from './errors.js';

/** What Key Protect's API calls the only scheme it takes for secure import (and what the provider sends). */
export const SECURE_IMPORT_ALGORITHM = 'RSAES_OAEP_SHA_256';
export const ROOT_KEY_MATERIAL_BYTES: readonly number[] = [16, 24, 32];
/** Key Protect's import token keys are RSA-4096; anything under 2048 bits is refused as not theirs. */
const MIN_RSA_BITS = 2048;
const IV_BYTES = 12;

/** What `GET /api/v2/import_token` answered, as it answered it. */
export interface ImportTokenKeys {
  /** `payload`: base64 of the PEM (PKIX "PUBLIC KEY"); base64 of DER SubjectPublicKeyInfo is accepted too. */
  readonly publicKey: string;
  /** `nonce`: base64. */
  readonly nonce: string;
}

/** The three values a secure import sends (base64 each), named as Key Protect's API names them. */
export interface SecureImportPayload {
  readonly payload: string;
  readonly encryptedNonce: string;
  readonly iv: string;
  readonly encryptionAlgorithm: typeof SECURE_IMPORT_ALGORITHM;
}

function invalid(what: string): WrapError {
  return new WrapError(WrapErrorCode.Config, what, { retryable: false });
}

/** Strict base64 (the standard alphabet, padded, no whitespace inside): anything else is not what Key Protect sends. */
function strictBase64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || value.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw invalid(`${what} is not base64`);
  }
  return Buffer.from(value, 'base64');
}

/** The import token's public key: base64 of PEM as documented, or of DER; RSA of at least 2048 bits. */
export function importTokenPublicKey(encoded: string): KeyObject {
  const bytes = strictBase64(encoded, "the import token's public key");
  let key: KeyObject;
  try {
    const text = bytes.toString('latin1');
    key = text.includes('-----BEGIN') ? createPublicKey({ key: text, format: 'pem' }) : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch {
    throw invalid("the import token's public key is neither a PEM nor a DER public key");
  }
  if (key.asymmetricKeyType !== 'rsa') throw invalid(`the import token's public key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not RSA`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw invalid(`the import token's public key has ${bits} bits, fewer than ${MIN_RSA_BITS}`);
  return key;
}

/**
 * Wraps `material` for Key Protect's secure import under the import token `token`. A fresh random IV every call,
 * so two calls never give the same values. The caller owns `material` (and clears it when done).
 */
export function secureImportPayload(token: ImportTokenKeys, material: Uint8Array): SecureImportPayload {
  if (!ROOT_KEY_MATERIAL_BYTES.includes(material.length)) {
    throw invalid(`root key material must be 16, 24 or 32 bytes (128, 192 or 256 bits), got ${material.length}`);
  }
  const publicKey = importTokenPublicKey(token.publicKey);
  const nonce = strictBase64(token.nonce, "the import token's nonce");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(`aes-${material.length * 8}-gcm` as CipherGCMTypes, material, iv);
  const sealed = Buffer.concat([cipher.update(nonce), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
  return { payload: wrapped.toString('base64'), encryptedNonce: sealed.toString('base64'), iv: iv.toString('base64'), encryptionAlgorithm: SECURE_IMPORT_ALGORITHM };
}
