/**
 * The signature algorithms of X.509 certificates and PKCS#10 requests (RFC 4055, RFC 5758): their
 * object identifiers, the KMIP Digital Signature Algorithm each one is, and signing and verifying
 * through the same plans as the Sign and Signature Verify operations.
 */
import type { KeyObject } from 'node:crypto';
import { DigitalSignatureAlgorithm } from '../generated/enums.js';
import { planSignature, signData, verifyData, type AsymmetricParameters } from './asymmetric.js';
import { derNull, oid, sequence } from './der-writer.js';

interface SignatureAlgorithm {
  readonly oid: string;
  readonly kmip: number;
  readonly keyType: 'rsa' | 'ec';
}

/** SHA-1 is left out on purpose: a request or certificate signed with it is refused, not trusted. */
const ALGORITHMS: readonly SignatureAlgorithm[] = [
  { oid: '1.2.840.113549.1.1.14', kmip: DigitalSignatureAlgorithm.SHA_224WithRSAEncryption, keyType: 'rsa' },
  { oid: '1.2.840.113549.1.1.11', kmip: DigitalSignatureAlgorithm.SHA_256WithRSAEncryption, keyType: 'rsa' },
  { oid: '1.2.840.113549.1.1.12', kmip: DigitalSignatureAlgorithm.SHA_384WithRSAEncryption, keyType: 'rsa' },
  { oid: '1.2.840.113549.1.1.13', kmip: DigitalSignatureAlgorithm.SHA_512WithRSAEncryption, keyType: 'rsa' },
  { oid: '2.16.840.1.101.3.4.3.14', kmip: DigitalSignatureAlgorithm.SHA3_256WithRSAEncryption, keyType: 'rsa' },
  { oid: '2.16.840.1.101.3.4.3.15', kmip: DigitalSignatureAlgorithm.SHA3_384WithRSAEncryption, keyType: 'rsa' },
  { oid: '2.16.840.1.101.3.4.3.16', kmip: DigitalSignatureAlgorithm.SHA3_512WithRSAEncryption, keyType: 'rsa' },
  { oid: '1.2.840.10045.4.3.1', kmip: DigitalSignatureAlgorithm.ECDSAWithSHA224, keyType: 'ec' },
  { oid: '1.2.840.10045.4.3.2', kmip: DigitalSignatureAlgorithm.ECDSAWithSHA256, keyType: 'ec' },
  { oid: '1.2.840.10045.4.3.3', kmip: DigitalSignatureAlgorithm.ECDSAWithSHA384, keyType: 'ec' },
  { oid: '1.2.840.10045.4.3.4', kmip: DigitalSignatureAlgorithm.ECDSAWithSHA512, keyType: 'ec' },
];

/** RSASSA-PSS: its parameters (digest, salt) would need their own parsing; requests using it are refused as unsupported. */
export const RSASSA_PSS_OID = '1.2.840.113549.1.1.10';

export function signatureAlgorithmByOid(dotted: string): SignatureAlgorithm | undefined {
  return ALGORITHMS.find((a) => a.oid === dotted);
}

/** The AlgorithmIdentifier of a signature: RSA ones carry NULL parameters, ECDSA ones none (RFC 4055 §5, RFC 5758 §3.2). */
export function algorithmIdentifier(kmip: number): Uint8Array {
  const a = ALGORITHMS.find((x) => x.kmip === kmip);
  if (!a) throw new Error(`no object identifier for Digital Signature Algorithm ${kmip}`);
  return a.keyType === 'rsa' ? sequence(oid(a.oid), derNull()) : sequence(oid(a.oid));
}

/**
 * How an issuer key signs: SHA-256 for RSA, and for ECDSA the digest that matches the curve's
 * strength (P-384 with SHA-384, as Suite B pairs them). Undefined for a key type we do not issue with.
 */
export function issuerSignatureAlgorithm(key: KeyObject): number | undefined {
  if (key.asymmetricKeyType === 'rsa') return DigitalSignatureAlgorithm.SHA_256WithRSAEncryption;
  if (key.asymmetricKeyType !== 'ec') return undefined;
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case 'prime256v1':
      return DigitalSignatureAlgorithm.ECDSAWithSHA256;
    case 'secp384r1':
      return DigitalSignatureAlgorithm.ECDSAWithSHA384;
    case 'secp521r1':
      return DigitalSignatureAlgorithm.ECDSAWithSHA512;
    default:
      return undefined;
  }
}

function params(kmip: number): AsymmetricParameters {
  return {
    signatureAlgorithm: kmip,
    padding: undefined,
    hashing: undefined,
    algorithm: undefined,
    saltLength: undefined,
    maskGenerator: undefined,
    maskGeneratorHashing: undefined,
    pSource: undefined,
    trailerField: undefined,
  };
}

export function signWith(key: KeyObject, kmip: number, data: Uint8Array): Buffer {
  return signData(key, planSignature(key, params(kmip), true), data);
}

/** False for a wrong signature and for a key that does not fit the algorithm. */
export function verifyWith(key: KeyObject, a: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
  if (key.asymmetricKeyType !== a.keyType) return false;
  return verifyData(key, planSignature(key, params(a.kmip), false), data, signature);
}
