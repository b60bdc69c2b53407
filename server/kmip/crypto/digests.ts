/** KMIP Hashing Algorithm values and the node:crypto digest names that implement them. */
import { createHash } from 'node:crypto';
import { KmipError } from '../errors.js';
import { HashingAlgorithm, ResultReason } from '../generated/enums.js';

const DIGESTS: ReadonlyMap<number, { readonly name: string; readonly bytes: number }> = new Map([
  [HashingAlgorithm.MD5, { name: 'md5', bytes: 16 }],
  [HashingAlgorithm.SHA_1, { name: 'sha1', bytes: 20 }],
  [HashingAlgorithm.SHA_224, { name: 'sha224', bytes: 28 }],
  [HashingAlgorithm.SHA_256, { name: 'sha256', bytes: 32 }],
  [HashingAlgorithm.SHA_384, { name: 'sha384', bytes: 48 }],
  [HashingAlgorithm.SHA_512, { name: 'sha512', bytes: 64 }],
  [HashingAlgorithm.SHA_512_224, { name: 'sha512-224', bytes: 28 }],
  [HashingAlgorithm.SHA_512_256, { name: 'sha512-256', bytes: 32 }],
  [HashingAlgorithm.SHA3_224, { name: 'sha3-224', bytes: 28 }],
  [HashingAlgorithm.SHA3_256, { name: 'sha3-256', bytes: 32 }],
  [HashingAlgorithm.SHA3_384, { name: 'sha3-384', bytes: 48 }],
  [HashingAlgorithm.SHA3_512, { name: 'sha3-512', bytes: 64 }],
  [HashingAlgorithm.RIPEMD_160, { name: 'ripemd160', bytes: 20 }],
]);

export function unsupportedParameters(what: string): KmipError {
  return new KmipError(ResultReason.UnsupportedCryptographicParameters, what);
}

/** The node digest name of a KMIP Hashing Algorithm; refused when node (or this server) does not offer it. */
export function digestName(algorithm: number): string {
  const d = DIGESTS.get(algorithm);
  if (!d) throw unsupportedParameters('this Hashing Algorithm is not supported');
  return d.name;
}

export function digestLength(algorithm: number): number {
  const d = DIGESTS.get(algorithm);
  if (!d) throw unsupportedParameters('this Hashing Algorithm is not supported');
  return d.bytes;
}

export function hashOnce(algorithm: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(digestName(algorithm)).update(data).digest());
}
