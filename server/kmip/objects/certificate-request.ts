/**
 * Certificate Request objects (2.0+; 2.1 §2.2): a certificate request a client registers now and has
 * certified later — Certify names it by Unique Identifier (2.1 §6.1.6), Re-certify by Certificate
 * Request Unique Identifier (§6.1.45). It is accepted exactly as Certify accepts a request sent
 * inline (same types, same size bound, self-signature verified), so a stored request is always one
 * Certify could use, and then kept and served as registered.
 */
import { createHash } from 'node:crypto';
import type { TtlvItem } from '../../ttlv/index.js';
import { parseCertificateRequest, pemToDer, type CertificateRequest } from '../crypto/pkcs10.js';
import { featureNotSupported } from '../errors.js';
import { CertificateRequestType, HashingAlgorithm, KeyFormatType } from '../generated/enums.js';
import type { Attribute } from '../model/attributes.js';
import { STORAGE_CONTEXT, type CodecContext } from '../schema.js';
import { describeKey } from './asymmetric-key.js';
import { CertificateRequestSchema } from './schemas.js';

const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(bytes).digest());

export interface StoredRequest {
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * A request of the given type, read and verified: PKCS#10 as DER, PEM as the PEM text of a PKCS#10
 * request. CRMF and PGP requests are a feature this server does not offer (Feature Not Supported).
 */
export function parseRequestOfType(type: number, value: Uint8Array): CertificateRequest {
  switch (type) {
    case CertificateRequestType.PKCS_10:
      return parseCertificateRequest(value);
    case CertificateRequestType.PEM:
      return parseCertificateRequest(pemToDer(value));
    default:
      throw featureNotSupported('only PKCS#10 and PEM certificate requests are supported (not CRMF or PGP)');
  }
}

/** The type and value of a Certificate Request structure; `ctx` is the client's version on Register. */
export function readRequestObject(item: TtlvItem, ctx: CodecContext = STORAGE_CONTEXT): StoredRequest {
  const r = CertificateRequestSchema.decode(item, ctx);
  return { type: r.certificateRequestType, value: r.certificateRequestValue };
}

/**
 * Validates a Certificate Request a client registers and returns what the server sets from it
 * (2.1 §4): the Digest of the Certificate Request Value as registered (as a Certificate's covers its
 * Certificate Value), the algorithm and length of the key it asks to certify, and Key Format Type
 * PKCS#10 — the default §4.26 gives this object — when the value is the DER request itself. A PEM
 * request has no Key Format Type: no KMIP value names PEM text.
 */
export function certificateRequestAttributes(item: TtlvItem, ctx: CodecContext): Attribute[] {
  const { type, value } = readRequestObject(item, ctx);
  const request = parseRequestOfType(type, value);
  const derived: Attribute[] = [{ name: 'Digest', index: 0, value: { hashingAlgorithm: HashingAlgorithm.SHA_256, digestValue: sha256(value) } }];
  try {
    const { algorithm, length } = describeKey(request.publicKey);
    derived.push({ name: 'Cryptographic Algorithm', index: 0, value: algorithm }, { name: 'Cryptographic Length', index: 0, value: length });
  } catch {
    // A request for a key type the server does not model is still kept; Certify refuses it later.
  }
  if (type === CertificateRequestType.PKCS_10) derived.push({ name: 'Key Format Type', index: 0, value: KeyFormatType.PKCS_10 });
  return derived;
}
