import type { OperationContext } from '../context.js';
import { invalidField, KmipError, missingData } from '../errors.js';
import { LinkType, ObjectType, Operation, ResultReason, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { ManagedObject } from '../managed-object.js';
import { invalidCsr, type CertificateRequest } from '../crypto/pkcs10.js';
import { opt, req, struct, text } from '../schema.js';
import {
  CERTIFICATE_ATTRIBUTE_FIELDS,
  CERTIFICATE_REQUEST_FIELDS,
  certificateLinks,
  certificateObject,
  commonNameSubject,
  linkPublicKeyTo,
  loadIssuer,
  publicKeyOf,
  readCertificateRequest,
  requireCertifiable,
  signCertificate,
  splitRequestedAttributes,
  STATED_CERTIFICATE_TYPE,
  storedCertificateRequest,
} from './certificate-issuance.js';
import { linkTarget, loadObject, requestAttributes, saveObject } from './common.js';
import { protectionStorage } from './new-object.js';
import { defineOperation } from './types.js';

const Request = struct('Certify Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  ...CERTIFICATE_REQUEST_FIELDS,
  ...CERTIFICATE_ATTRIBUTE_FIELDS,
});
const Response = struct('Certify Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/** What a Unique Identifier (or the ID Placeholder) names: a Public Key, or at 2.x a stored Certificate Request. */
type Named = { readonly pub: ManagedObject; readonly request?: undefined } | { readonly pub?: undefined; readonly request: CertificateRequest };

/**
 * The Public Key to certify. A Private Key is taken for its linked Public Key: after Create Key Pair
 * the batch's ID Placeholder is the private key (1.4 §4.2), and "Create Key Pair, Certify" is the
 * batch a client naturally sends. At 2.x the identifier may instead name the Certificate Request
 * object being certified (2.1 §6.1.6), so "Register (Certificate Request), Certify" works too.
 */
async function namedToCertify(ctx: OperationContext, uid: string): Promise<Named> {
  let obj = await loadObject(ctx, uid, true);
  if (obj.objectType === ObjectType.CertificateRequest && ctx.version >= 20) return { request: await storedCertificateRequest(ctx, obj) };
  if (obj.objectType === ObjectType.PrivateKey) {
    const pub = linkTarget(obj, LinkType.PublicKeyLink);
    if (pub !== undefined) obj = await loadObject(ctx, pub, true);
  }
  if (obj.objectType !== ObjectType.PublicKey) {
    throw new KmipError(ResultReason.InvalidObjectType, 'Certify certifies a Public Key', { legacyReason: ResultReason.PermissionDenied });
  }
  requireCertifiable(obj, 'public key', [State.PreActive, State.Active]);
  return { pub: obj };
}

/**
 * Certify (1.0+): a certificate for a public key, signed by a CA the tenant registered (see
 * certificate-issuance.ts). The key is named by Unique Identifier or ID Placeholder, proved by a
 * PKCS#10 request whose key must be that key, or both; or the identifier names a stored Certificate
 * Request (2.x), used as if sent inline. The public key and the certificate are linked both ways,
 * and the certificate becomes the ID Placeholder.
 */
export const certify = defineOperation({
  operation: Operation.Certify,
  name: 'Certify',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const inline = readCertificateRequest(req.certificateRequestType, req.certificateRequest ?? req.certificateRequestValue);
    // Templates may bring attributes too (1.4 §4.7: "templates and/or individual attributes").
    const { attributes, issuerUid } = splitRequestedAttributes(await requestAttributes(ctx, req.templateAttribute, req.attributes, STATED_CERTIFICATE_TYPE));
    const storage = protectionStorage(ctx, req.protectionStorageMasks);
    // 2.x certifies a request alone when no identifier is given (2.1 §6.1.6); 1.x falls back to the ID Placeholder.
    const named = req.uniqueIdentifier ?? (inline !== undefined && ctx.version >= 20 ? undefined : ctx.batch.idPlaceholder);
    if (named !== undefined) ctx.auditObjectId = named;
    const target = named === undefined ? undefined : await namedToCertify(ctx, named);
    if (inline && target?.request) throw invalidField('send a Certificate Request or name a stored one, not both');
    const csr = inline ?? target?.request;
    const pub = target?.pub;
    const pubKey = pub ? await publicKeyOf(ctx, pub) : undefined;
    if (csr && pubKey && !csr.publicKey.equals(pubKey)) throw invalidCsr('the Certificate Request is for another key than the Public Key named');
    // Without a request the server vouches for a key it holds, under a subject it derives (certificate-issuance.ts).
    const request = csr ?? (pub && pubKey ? { subject: commonNameSubject(pub), publicKey: pubKey, extensions: [] } : undefined);
    if (!request) throw missingData('name the Public Key to certify (Unique Identifier) or send a Certificate Request');
    const issuer = await loadIssuer(ctx, issuerUid);
    const der = await signCertificate(ctx, { issuer, subject: request.subject, subjectKey: request.publicKey, extensions: request.extensions });
    const cert = await certificateObject(ctx, { der, signatureAlgorithm: issuer.signatureAlgorithm, attributes, links: certificateLinks(pub?.uid, issuer.uid), storage });
    ctx.session.insert(cert.toRecord(ctx.deps.now()));
    if (pub) {
      linkPublicKeyTo(pub, cert.uid);
      saveObject(ctx, pub);
    }
    ctx.auditObjectId = cert.uid;
    ctx.batch.idPlaceholder = cert.uid;
    return { uniqueIdentifier: cert.uid };
  },
});
