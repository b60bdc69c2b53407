/**
 * Issuing an X.509 v3 certificate (RFC 5280) with node:crypto alone. server/pki issues with
 * node-forge, but the KMIP layer may import no packages (DESIGN.md, style-anchors §5.1), and forge
 * signs and reads RSA keys only, where KMIP clients (the Suite B profiles among them) certify EC keys.
 */
import { createHash, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { cryptographicFailure } from '../errors.js';
import { certificateNames, children, readDer } from '../objects/der.js';
import { bitString, explicit, octetString, sequence, smallInteger, time, tlv, unsignedInteger } from './der-writer.js';
import { OID, subjectKeyIdentifier, writeExtension, type Extension } from './x509-extensions.js';
import { invalidCsr } from './pkcs10.js';
import { algorithmIdentifier, signWith } from './x509-signatures.js';

/** What issuing takes from the CA's certificate (readIssuerCertificate). */
export interface IssuerCertificate {
  /** Its subject Name, DER: the issuer of what it signs. */
  readonly name: Uint8Array;
  /** Its key identifier: the authority key identifier of what it signs (RFC 5280 §4.2.1.1). */
  readonly keyIdentifier: Uint8Array;
  readonly publicKey: KeyObject;
}

export interface IssueRequest {
  readonly issuer: IssuerCertificate;
  readonly issuerKey: KeyObject;
  /** KMIP Digital Signature Algorithm the issuer signs with (x509-signatures.ts issuerSignatureAlgorithm). */
  readonly signatureAlgorithm: number;
  /** The subject Name, DER. */
  readonly subject: Uint8Array;
  readonly subjectKey: KeyObject;
  /** Extensions carried over from the request (x509-extensions.ts CARRIED_OVER). */
  readonly extensions: readonly Extension[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The subjectPublicKey bits of a key, which key identifiers hash (RFC 5280 §4.2.1.2, method 1). */
function publicKeyBits(spki: Uint8Array): Uint8Array {
  const bits = children(readDer(spki).element)[1];
  if (bits?.tag !== 0x03) throw new Error('DER: no subjectPublicKey');
  return bits.body.subarray(1);
}

const sha1 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(data).digest());
const spkiOf = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));

/** RSA keys sign and encipher keys (TLS with RSA key exchange); EC keys sign (ECDHE-ECDSA). Bits: RFC 5280 §4.2.1.3. */
function keyUsage(key: KeyObject): Extension {
  const rsa = key.asymmetricKeyType === 'rsa';
  return { oid: OID.keyUsage, critical: true, value: rsa ? bitString(Uint8Array.of(0xa0), 3) : bitString(Uint8Array.of(0x80), 1) };
}

/** 16 random bytes, positive and without a leading zero byte, so the INTEGER is always 16 bytes long (RFC 5280 §4.1.2.2 allows 20). */
function serialNumber(): Uint8Array {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return new Uint8Array(serial);
}

/**
 * Reads the CA certificate once, when the CA is chosen, so what the DER reader cannot follow (node
 * accepts more than it does) stops the request there and never surfaces mid-issue. `extensions` are
 * the certificate's own (certificateExtensions). Throws a plain Error: the caller knows whose
 * certificate it is and says so.
 */
export function readIssuerCertificate(x509: X509Certificate, extensions: readonly Extension[]): IssuerCertificate {
  const publicKey = x509.publicKey;
  const keyIdentifier = subjectKeyIdentifier(extensions) ?? sha1(publicKeyBits(spkiOf(publicKey)));
  return { name: certificateNames(new Uint8Array(x509.raw)).subject, keyIdentifier, publicKey };
}

export function issueCertificate(r: IssueRequest): Uint8Array {
  const subjectSpki = spkiOf(r.subjectKey);
  const extensions: Extension[] = [
    { oid: OID.basicConstraints, critical: true, value: sequence() },
    keyUsage(r.subjectKey),
    { oid: OID.subjectKeyIdentifier, critical: false, value: octetString(sha1(publicKeyBits(subjectSpki))) },
    { oid: OID.authorityKeyIdentifier, critical: false, value: sequence(tlv(0x80, r.issuer.keyIdentifier)) },
    ...r.extensions,
  ];
  const signatureAlgorithm = algorithmIdentifier(r.signatureAlgorithm);
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serialNumber()),
    signatureAlgorithm,
    r.issuer.name,
    sequence(time(r.notBefore), time(r.notAfter)),
    r.subject,
    subjectSpki,
    explicit(3, sequence(...extensions.map(writeExtension))),
  );
  const der = sequence(tbs, signatureAlgorithm, bitString(signWith(r.issuerKey, r.signatureAlgorithm, tbs)));
  let issued: X509Certificate;
  try {
    issued = new X509Certificate(Buffer.from(der));
  } catch (err) {
    // Only a request's subject or extensions, copied as sent, can make it unreadable (ours and node's readers differ).
    throw invalidCsr('the subject or extensions of the Certificate Request do not make a readable X.509 certificate', err);
  }
  // A certificate that does not verify under its issuer is never handed out.
  if (!issued.verify(r.issuer.publicKey)) throw cryptographicFailure('the issued certificate does not verify');
  return der;
}
