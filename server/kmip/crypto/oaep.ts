/**
 * RSAES-OAEP (RFC 8017 §7.1) with an MGF1 digest of its own. node's OAEP always uses the OAEP digest
 * for MGF1; KMIP 1.4 lets a client name another (Mask Generator Hashing Algorithm), so that case is
 * encoded here and run through raw RSA.
 */
import { constants, createHash, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { randomBytesPooled } from '../../util/random-pool.js';
import { cryptographicFailure } from '../errors.js';

function mgf1(seed: Buffer, length: number, digest: string): Buffer {
  const out: Buffer[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(digest).update(seed).update(c).digest();
    out.push(block);
    produced += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw cryptographicFailure('the RSA key has no modulus length');
  return Math.ceil(bits / 8);
}

export function oaepEncrypt(key: KeyObject, message: Uint8Array, digest: string, mgfDigest: string, label: Uint8Array): Buffer {
  const k = modulusBytes(key);
  const lHash = createHash(digest).update(label).digest();
  const hLen = lHash.length;
  if (message.length > k - 2 * hLen - 2) throw cryptographicFailure('the data is too long for this key and hashing algorithm');
  const db = Buffer.concat([lHash, Buffer.alloc(k - message.length - 2 * hLen - 2), Buffer.from([1]), Buffer.from(message)]);
  const seed = randomBytesPooled(hLen);
  const maskedDb = xor(db, mgf1(seed, k - hLen - 1, mgfDigest));
  const maskedSeed = xor(seed, mgf1(maskedDb, hLen, mgfDigest));
  const em = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb]);
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
}

export function oaepDecrypt(key: KeyObject, ciphertext: Uint8Array, digest: string, mgfDigest: string, label: Uint8Array): Buffer {
  const k = modulusBytes(key);
  const lHash = createHash(digest).update(label).digest();
  const hLen = lHash.length;
  if (ciphertext.length !== k || k < 2 * hLen + 2) throw cryptographicFailure('cryptographic failure');
  let em: Buffer;
  try {
    em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch (err) {
    throw cryptographicFailure('cryptographic failure', err);
  }
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = xor(maskedSeed, mgf1(maskedDb, hLen, mgfDigest));
  const db = xor(maskedDb, mgf1(seed, k - hLen - 1, mgfDigest));
  // Every check is folded into one flag, so a bad ciphertext fails the same way whichever part is wrong.
  let bad = em[0]!;
  for (let i = 0; i < hLen; i++) bad |= db[i]! ^ lHash[i]!;
  let start = -1;
  for (let i = hLen; i < db.length; i++) {
    const b = db[i]!;
    if (start < 0 && b === 1) start = i + 1;
    else if (start < 0 && b !== 0) bad |= 1;
  }
  if (bad !== 0 || start < 0) throw cryptographicFailure('cryptographic failure');
  return Buffer.from(db.subarray(start));
}
