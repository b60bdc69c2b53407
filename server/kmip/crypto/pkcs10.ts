/**
 * PKCS#10 certificate requests (RFC 2986), as DER (Certificate Request Type PKCS#10) or PEM
 * (Certificate Request Type PEM, RFC 7468 "CERTIFICATE REQUEST"): read, bounded, and accepted only
 * when the request's own signature verifies under the key it asks to certify, which proves the
 * requester holds the private key.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../errors.js';
import { ResultReason } from '../generated/enums.js';
import { children, readDer, type DerElement } from '../objects/der.js';
import { oidText } from './der-writer.js';
import { CARRIED_OVER, readExtensions, type Extension } from './x509-extensions.js';
import { RSASSA_PSS_OID, signatureAlgorithmByOid, verifyWith } from './x509-signatures.js';

export interface CertificateRequest {
  /** The subject Name, as DER, copied into the certificate unchanged. */
  readonly subject: Uint8Array;
  readonly publicKey: KeyObject;
  /** The requested extensions the issuer honours (names, extended key usage). */
  readonly extensions: readonly Extension[];
}

/** A real request with a 8192-bit key and a few dozen names is a few kilobytes. */
export const MAX_REQUEST_BYTES = 16 * 1024;
const MAX_PEM_BYTES = Math.ceil((MAX_REQUEST_BYTES * 4) / 3) + 1024;
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** 2.x names this failure; a 1.x client gets the reason 1.4 §11.8 gives for it. */
export function invalidCsr(message: string, cause?: unknown): KmipError {
  return new KmipError(ResultReason.InvalidCSR, message, { legacyReason: ResultReason.InvalidField, cause });
}

const PEM_BLOCK = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END (NEW )?CERTIFICATE REQUEST-----/;

export function pemToDer(bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_PEM_BYTES) throw invalidCsr(`the Certificate Request is larger than ${MAX_PEM_BYTES} bytes`);
  const text = Buffer.from(bytes).toString('latin1');
  const match = PEM_BLOCK.exec(text);
  if (!match) throw invalidCsr('the Certificate Request is not a PEM "CERTIFICATE REQUEST" block, as its type PEM says');
  return new Uint8Array(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64'));
}

function element(parent: DerElement | undefined, tag: number, what: string): DerElement {
  if (parent?.tag !== tag) throw new Error(`DER: ${what} missing or of the wrong type`);
  return parent;
}

function requestedExtensions(attributes: DerElement | undefined): Extension[] {
  if (!attributes) return [];
  const out: Extension[] = [];
  for (const attribute of children(element(attributes, 0xa0, 'attributes'))) {
    const [type, values] = children(element(attribute, 0x30, 'Attribute'));
    if (oidText(element(type, 0x06, 'attribute type').body) !== EXTENSION_REQUEST) continue;
    const [list] = children(element(values, 0x31, 'attribute values'));
    out.push(...readExtensions(element(list, 0x30, 'Extensions')));
  }
  // A certificate may carry each extension once (RFC 5280 §4.2): the first request for one wins.
  return out.filter((e, i) => CARRIED_OVER.has(e.oid) && out.findIndex((x) => x.oid === e.oid) === i);
}

/** Reads and verifies a DER PKCS#10 request. */
export function parseCertificateRequest(der: Uint8Array): CertificateRequest {
  if (der.length > MAX_REQUEST_BYTES) throw invalidCsr(`the Certificate Request is larger than ${MAX_REQUEST_BYTES} bytes`);
  let info: DerElement;
  let subject: DerElement;
  let spki: DerElement;
  let algorithm: string;
  let signature: DerElement;
  let extensions: Extension[];
  try {
    const { element: request, next } = readDer(der);
    if (next !== der.length) throw new Error('DER: bytes after the request');
    const [infoEl, algorithmEl, signatureEl, extra] = children(element(request, 0x30, 'CertificationRequest'));
    if (extra) throw new Error('DER: extra fields in CertificationRequest');
    info = element(infoEl, 0x30, 'CertificationRequestInfo');
    const [version, subjectEl, spkiEl, attributes, more] = children(info);
    if (more) throw new Error('DER: extra fields in CertificationRequestInfo');
    const v = element(version, 0x02, 'version').body;
    if (v.length !== 1 || v[0] !== 0) throw new Error('DER: only version 1 requests exist');
    subject = element(subjectEl, 0x30, 'subject');
    spki = element(spkiEl, 0x30, 'subjectPKInfo');
    algorithm = oidText(element(children(element(algorithmEl, 0x30, 'signatureAlgorithm'))[0], 0x06, 'algorithm').body);
    signature = element(signatureEl, 0x03, 'signature');
    if (signature.body[0] !== 0) throw new Error('DER: signature is not whole bytes');
    extensions = requestedExtensions(attributes);
  } catch (err) {
    throw invalidCsr('the Certificate Request is not a well-formed PKCS#10 request', err);
  }
  // RFC 5280 §4.1.2.6: an empty subject needs a critical subjectAltName; a certificate for one is not worth that exception.
  if (subject.body.length === 0) throw invalidCsr('the Certificate Request has an empty subject');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki.raw), format: 'der', type: 'spki' });
  } catch (err) {
    throw invalidCsr('the public key in the Certificate Request cannot be read', err);
  }
  if (algorithm === RSASSA_PSS_OID) {
    throw new KmipError(ResultReason.FeatureNotSupported, 'Certificate Requests signed with RSASSA-PSS are not supported: sign with PKCS#1 v1.5 or ECDSA');
  }
  const signatureAlgorithm = signatureAlgorithmByOid(algorithm);
  if (!signatureAlgorithm) throw invalidCsr(`the Certificate Request is signed with an algorithm this server does not accept (${algorithm}; SHA-1 is not accepted)`);
  if (!verifyWith(publicKey, signatureAlgorithm, info.raw, signature.body.subarray(1))) {
    throw invalidCsr('the Certificate Request signature does not verify under its own public key');
  }
  return { subject: subject.raw, publicKey, extensions };
}
