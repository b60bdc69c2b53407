/**
 * What Certify and Re-certify share (1.4 §4.7–4.8, 2.1 §6.1.6 and §6.1.45): reading the client's
 * certificate request, finding the issuing CA, and storing the certificate it signs.
 *
 * Who issues. KMIP leaves the CA to the server. This server has no CA of its own to lend: each tenant
 * certifies with a CA it registered itself, and names it the way KMIP links a certificate to the one
 * that signed it (1.4 §3.35, 2.1 §11.28: a Certificate's Certificate Link is its parent in the chain) —
 * a Link of type Certificate Link in the request's attributes, which the new certificate keeps. The
 * CA's private key is found by the links KMIP gives a certificate and a key pair: the CA Certificate's
 * Public Key Link, then that Public Key's Private Key Link. Objects are loaded through the caller's
 * tenant, so another tenant's CA is simply not found; and the CA key must be Active with the
 * Certificate Sign usage bit, so no ordinary signing key becomes a CA by accident.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { OperationContext } from '../context.js';
import { featureNotSupported, invalidField, KmipError, missingData, wrongLifecycleState } from '../errors.js';
import { CertificateType, CryptographicAlgorithm, CryptographicUsageMask, LinkType, ObjectType, ResultReason, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { ManagedObject } from '../managed-object.js';
import type { LinkValue } from '../model/attribute-values.js';
import { describeKey } from '../objects/asymmetric-key.js';
import { parseRequestOfType, readRequestObject } from '../objects/certificate-request.js';
import { openObject, sealObject } from '../objects/material.js';
import { register as registration } from '../objects/registration.js';
import { CertificateSchema } from '../objects/schemas.js';
import { AttributesV2Codec, TemplateAttributeSchema, type Attribute } from '../model/attributes.js';
import { bytes, enumeration, opt, STORAGE_CONTEXT } from '../schema.js';
import { oid, sequence, tlv } from '../crypto/der-writer.js';
import type { CertificateRequest } from '../crypto/pkcs10.js';
import { certificateExtensions, OID, type Extension } from '../crypto/x509-extensions.js';
import { issueCertificate, readIssuerCertificate, type IssuerCertificate, type IssueRequest } from '../crypto/x509-issue.js';
import { issuerSignatureAlgorithm } from '../crypto/x509-signatures.js';
import { linkTarget, loadObject, nowSeconds } from './common.js';
import { asymmetricKey, consumeUsage, loadKeyForUse, MAX_RSA_BITS, type UsableKey } from './crypto-key.js';
import { newObject } from './new-object.js';
import { link } from './rekey-rules.js';

/** The request fields Certify and Re-certify share; Certificate Request Value is 2.x's name for Certificate Request. */
export const CERTIFICATE_REQUEST_FIELDS = {
  certificateRequestType: opt(Tag.CertificateRequestType, enumeration('CertificateRequestType')),
  certificateRequest: opt(Tag.CertificateRequest, bytes, { until: 14 }),
  certificateRequestValue: opt(Tag.CertificateRequestValue, bytes, { since: 20 }),
};
export const CERTIFICATE_ATTRIBUTE_FIELDS = {
  templateAttribute: opt(Tag.TemplateAttribute, TemplateAttributeSchema, { until: 14 }),
  attributes: opt(Tag.Attributes, AttributesV2Codec, { since: 20 }),
  protectionStorageMasks: opt(Tag.ProtectionStorageMasks, AttributesV2Codec, { since: 20 }),
};
/** Server-set, but the spec has the client state it when it sends no request. */
export const STATED_CERTIFICATE_TYPE: ReadonlySet<string> = new Set(['Certificate Type']);

/** How long an issued certificate is valid unless its CA expires sooner: a year, as public CAs now issue. */
const VALIDITY_SECONDS = 365 * 86_400;
/** Clocks of the certificate's users may run a little behind ours. */
const BACKDATE_SECONDS = 5 * 60;
const MIN_RSA_BITS = 2048;
/** X.520 ub-common-name: the longest Common Name the subject of a request-less Certify can carry. */
const MAX_COMMON_NAME = 64;

/** Links the server sets itself in these operations; a client stating one would contradict them. */
const SERVER_LINKS: ReadonlySet<number> = new Set([LinkType.PublicKeyLink, LinkType.PrivateKeyLink, LinkType.ReplacementObjectLink, LinkType.ReplacedObjectLink]);

/**
 * The request's Certificate Request, verified (its self-signature proves possession of the key).
 * PKCS#10 comes as DER, PEM as the PEM text of a PKCS#10 request; CRMF and PGP requests are a
 * feature this server does not offer (1.4 §11: Feature Not Supported).
 */
export function readCertificateRequest(type: number | undefined, value: Uint8Array | undefined): CertificateRequest | undefined {
  if (value === undefined) {
    if (type !== undefined) throw missingData('a Certificate Request Type was given without its Certificate Request');
    return undefined;
  }
  if (type === undefined) throw missingData('Certificate Request Type is required with a Certificate Request');
  return parseRequestOfType(type, value);
}

/**
 * A stored Certificate Request object, read and verified again, to be used as if it had been sent
 * inline (2.1 §6.1.6, §6.1.45). Like a key, only one still meant for use is certified.
 */
export async function storedCertificateRequest(ctx: OperationContext, obj: ManagedObject): Promise<CertificateRequest> {
  requireCertifiable(obj, 'certificate request', [State.PreActive, State.Active]);
  const { type, value } = readRequestObject(await openObject(ctx, obj.uid, obj.material!));
  return parseRequestOfType(type, value);
}

/** The Certificate Request object `uid` names, of the caller's tenant (another tenant's is simply not found). */
export async function loadCertificateRequest(ctx: OperationContext, uid: string): Promise<CertificateRequest> {
  const obj = await loadObject(ctx, uid);
  if (obj.objectType !== ObjectType.CertificateRequest) throw new KmipError(ResultReason.InvalidObjectType, 'the Certificate Request Unique Identifier must name a Certificate Request');
  return storedCertificateRequest(ctx, obj);
}

/**
 * The client's attributes for the new certificate, and the issuer it names. Certificate Type is the
 * server's to set, but the spec has the client state it when no request is sent: it must say X.509.
 */
export function splitRequestedAttributes(requested: readonly Attribute[]): { attributes: Attribute[]; issuerUid: string | undefined } {
  let issuerUid: string | undefined;
  const attributes: Attribute[] = [];
  for (const a of requested) {
    if (a.name === 'Certificate Type') {
      if (a.value !== CertificateType.X_509) throw featureNotSupported('this server issues X.509 certificates only');
      continue;
    }
    if (a.name === 'Link') {
      const l = a.value as LinkValue;
      if (SERVER_LINKS.has(l.linkType)) throw invalidField('the server sets the Public Key, Private Key, Replaced and Replacement links of a certificate it issues');
      if (l.linkType === LinkType.CertificateLink) {
        if (issuerUid !== undefined) throw invalidField('name one issuing CA: a single Link of type Certificate Link');
        issuerUid = l.linkedObjectIdentifier;
        continue;
      }
    }
    attributes.push(a);
  }
  return { attributes, issuerUid };
}

/** The DER of a stored Certificate. */
export async function certificateDer(ctx: OperationContext, obj: ManagedObject): Promise<Uint8Array> {
  if (!obj.material) throw wrongLifecycleState('the certificate has been destroyed');
  return CertificateSchema.decode(await openObject(ctx, obj.uid, obj.material), STORAGE_CONTEXT).certificateValue;
}

/** The node key of a Public Key object (wrapped or unreadable forms are refused by asymmetricKey). */
export function publicKeyOf(ctx: OperationContext, obj: ManagedObject): Promise<KeyObject> {
  const k: UsableKey = { uid: obj.uid, obj, params: {} };
  return asymmetricKey(ctx, k, ObjectType.PublicKey);
}

/** Only keys still meant for use get certified (1.4 §11.8: an object not able to be certified). */
export function requireCertifiable(obj: ManagedObject, what: string, states: readonly number[]): void {
  if (!states.includes(obj.state) || !obj.material) throw wrongLifecycleState(`the ${what} is not in a state that can be certified`);
}

/** RSA from 2048 bits up to the size the server uses; EC on the NIST curves the server models. */
function checkSubjectKey(key: KeyObject): void {
  let described: ReturnType<typeof describeKey>;
  try {
    described = describeKey(key);
  } catch {
    throw featureNotSupported('only RSA keys and EC keys on P-256, P-384 or P-521 are certified');
  }
  const { algorithm, length } = described;
  if (algorithm === CryptographicAlgorithm.RSA && (length < MIN_RSA_BITS || length > MAX_RSA_BITS)) {
    throw invalidField(`RSA keys from ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits are certified; this one has ${length}`);
  }
  if (algorithm !== CryptographicAlgorithm.RSA && algorithm !== CryptographicAlgorithm.EC) throw featureNotSupported('only RSA and EC keys are certified');
}

/** CN=<name>: the subject of a certificate issued without a request, from the key's first Name, else its Unique Identifier. */
export function commonNameSubject(pub: ManagedObject): Uint8Array {
  const name = (pub.first('Name') as { nameValue?: string } | undefined)?.nameValue;
  const cn = name !== undefined && name.length > 0 && name.length <= MAX_COMMON_NAME ? name : pub.uid.slice(0, MAX_COMMON_NAME);
  return sequence(tlv(0x31, sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

export interface Issuer {
  readonly uid: string;
  readonly certificate: IssuerCertificate;
  /** The CA certificate's validity, in seconds: what it signs is valid within it. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly key: UsableKey;
  readonly privateKey: KeyObject;
  readonly signatureAlgorithm: number;
}

function follow(obj: ManagedObject, type: number, what: string): string {
  const target = linkTarget(obj, type);
  if (target === undefined) throw invalidField(`the issuing CA cannot be used: ${what}`);
  return target;
}

/** keyCertSign, bit 5 of Key Usage (RFC 5280 §4.2.1.3): when the extension is there, it must allow signing certificates. */
function allowsCertificateSigning(extensions: readonly Extension[]): boolean {
  const ku = extensions.find((e) => e.oid === OID.keyUsage);
  if (!ku) return true;
  // BIT STRING: tag, length, unused-bit count, then the bits.
  return ku.value[0] === 0x03 && ku.value.length > 3 && (ku.value[3]! & 0x04) !== 0;
}

/** The tenant's CA named by `uid`: an Active CA Certificate valid now, and its Active Private Key allowed to sign certificates. */
export async function loadIssuer(ctx: OperationContext, uid: string | undefined): Promise<Issuer> {
  if (uid === undefined) throw invalidField('name the issuing CA: a Link of type Certificate Link to its Certificate in the request attributes');
  const caCert = await loadObject(ctx, uid);
  if (caCert.objectType !== ObjectType.Certificate) {
    throw new KmipError(ResultReason.InvalidObjectType, 'the Certificate Link must name the issuing CA Certificate', { legacyReason: ResultReason.InvalidField });
  }
  if (caCert.state !== State.Active) throw wrongLifecycleState('the issuing CA Certificate is not Active');
  const { x509, extensions, certificate } = readCaCertificate(await certificateDer(ctx, caCert));
  if (!x509.ca || !allowsCertificateSigning(extensions)) throw invalidField('the linked certificate is not a CA certificate (Basic Constraints CA, Key Usage keyCertSign)');
  const now = ctx.deps.now();
  const notBefore = Math.floor(Date.parse(x509.validFrom) / 1000);
  const notAfter = Math.floor(Date.parse(x509.validTo) / 1000);
  if (notBefore * 1000 > now || notAfter * 1000 <= now) throw invalidField('the issuing CA certificate is not valid now');
  const caPublic = await loadObject(ctx, follow(caCert, LinkType.PublicKeyLink, 'its Certificate has no Public Key Link'));
  const key = await loadKeyForUse(ctx, follow(caPublic, LinkType.PrivateKeyLink, 'its Public Key has no Private Key Link'), 'protect', CryptographicUsageMask.CertificateSign, undefined);
  const privateKey = await asymmetricKey(ctx, key, ObjectType.PrivateKey);
  if (!createPublicKey(privateKey).equals(certificate.publicKey)) throw invalidField('the issuing CA private key is not the key of its certificate');
  const signatureAlgorithm = issuerSignatureAlgorithm(privateKey);
  if (signatureAlgorithm === undefined) throw featureNotSupported('an issuing CA key must be RSA or EC on P-256, P-384 or P-521');
  return { uid, certificate, notBefore, notAfter, key, privateKey, signatureAlgorithm };
}

/**
 * The stored CA certificate, read once for all that issuing needs. Node accepts DER that the
 * server's reader refuses (over 64 elements in one SEQUENCE, an extension over 4096 bytes): either
 * way the tenant's CA certificate cannot be used, which is the request's problem, not a store fault.
 */
function readCaCertificate(der: Uint8Array): { x509: X509Certificate; extensions: Extension[]; certificate: IssuerCertificate } {
  try {
    const x509 = new X509Certificate(Buffer.from(der));
    const extensions = certificateExtensions(der);
    return { x509, extensions, certificate: readIssuerCertificate(x509, extensions) };
  } catch (err) {
    throw new KmipError(ResultReason.InvalidField, 'the issuing CA certificate cannot be read', { cause: err });
  }
}

export interface Issuance {
  readonly issuer: Issuer;
  readonly subject: Uint8Array;
  readonly subjectKey: KeyObject;
  readonly extensions: IssueRequest['extensions'];
}

/**
 * Signs the certificate: valid from a few minutes ago for a year, but only within its CA's own
 * validity (a certificate dated before its issuer existed is one no CA could have signed then).
 * Counts one use of the CA key.
 */
export async function signCertificate(ctx: OperationContext, i: Issuance): Promise<Uint8Array> {
  checkSubjectKey(i.subjectKey);
  const now = nowSeconds(ctx);
  const der = issueCertificate({
    issuer: i.issuer.certificate,
    issuerKey: i.issuer.privateKey,
    signatureAlgorithm: i.issuer.signatureAlgorithm,
    subject: i.subject,
    subjectKey: i.subjectKey,
    extensions: i.extensions,
    notBefore: new Date(Math.max(now - BACKDATE_SECONDS, i.issuer.notBefore) * 1000),
    notAfter: new Date(Math.min(now + VALIDITY_SECONDS, i.issuer.notAfter) * 1000),
  });
  await consumeUsage(ctx, i.issuer.key, der.length);
  return der;
}

/**
 * The new Certificate object, sealed but not yet queued: the attributes Register derives from a
 * certificate, the Digital Signature Algorithm (set by the server on Certify and Re-certify, 1.4
 * §3.16), the client's attributes, and the links.
 */
export async function certificateObject(
  ctx: OperationContext,
  c: { der: Uint8Array; signatureAlgorithm: number; attributes: readonly Attribute[]; links: readonly Attribute[]; storage: number },
): Promise<ManagedObject> {
  const item = CertificateSchema.encode(Tag.Certificate, { certificateType: CertificateType.X_509, certificateValue: c.der }, STORAGE_CONTEXT);
  const { derived } = await registration(ObjectType.Certificate, item, []);
  const obj = newObject(ctx, {
    objectType: ObjectType.Certificate,
    clientAttributes: c.attributes,
    derived: [...derived, { name: 'Digital Signature Algorithm', index: 0, value: c.signatureAlgorithm }],
    protectionStorageMask: c.storage,
  });
  for (const l of c.links) obj.add(l.name, l.value);
  obj.material = await sealObject(ctx, obj.uid, item);
  return obj;
}

/** The links a new certificate gets: to its public key (when the server holds it) and to its issuer. */
export function certificateLinks(publicKeyUid: string | undefined, issuerUid: string): Attribute[] {
  return [...(publicKeyUid !== undefined ? [link(LinkType.PublicKeyLink, publicKeyUid)] : []), link(LinkType.CertificateLink, issuerUid)];
}

/** Points the public key's Certificate Link that named `previous` at `next`, or adds one. */
export function linkPublicKeyTo(pub: ManagedObject, next: string, previous?: string): void {
  const value = link(LinkType.CertificateLink, next).value;
  const existing = pub.instances('Link').find((l) => {
    const v = l.value as LinkValue;
    return previous !== undefined && v.linkType === LinkType.CertificateLink && v.linkedObjectIdentifier === previous;
  });
  if (!existing || !pub.modify('Link', existing.index, value)) pub.add('Link', value);
}
