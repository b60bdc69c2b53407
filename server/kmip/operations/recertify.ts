import { X509Certificate } from 'node:crypto';
import { invalidField, invalidMessage, KmipError, permissionDenied } from '../errors.js';
import { LinkType, ObjectType, Operation, ResultReason, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import type { ManagedObject } from '../managed-object.js';
import type { Attribute } from '../model/attributes.js';
import { certificateNames } from '../objects/der.js';
import { invalidCsr } from '../crypto/pkcs10.js';
import { CARRIED_OVER, certificateExtensions } from '../crypto/x509-extensions.js';
import { interval, opt, req, struct, text } from '../schema.js';
import {
  CERTIFICATE_ATTRIBUTE_FIELDS,
  CERTIFICATE_REQUEST_FIELDS,
  certificateDer,
  certificateLinks,
  certificateObject,
  linkPublicKeyTo,
  loadCertificateRequest,
  loadIssuer,
  readCertificateRequest,
  requireCertifiable,
  signCertificate,
  splitRequestedAttributes,
  STATED_CERTIFICATE_TYPE,
} from './certificate-issuance.js';
import { linkTarget, loadObject, nowSeconds, requestAttributes, resolveUid, saveObject } from './common.js';
import { merged } from './create-key-pair.js';
import { protectionStorage } from './new-object.js';
import { inheritedAttributes, link, retire } from './rekey-rules.js';
import { defineOperation } from './types.js';

const Request = struct('Re-certify Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  certificateRequestUniqueIdentifier: opt(Tag.CertificateRequestUniqueIdentifier, text, { since: 20 }),
  ...CERTIFICATE_REQUEST_FIELDS,
  offset: opt(Tag.Offset, interval),
  ...CERTIFICATE_ATTRIBUTE_FIELDS,
});
const Response = struct('Re-certify Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/**
 * What the new certificate takes from the one it renews (1.4 §4.8 Tables 186–187): everything a
 * client set, its Names (which move), and its Activation and Deactivation Dates — as they are, or
 * with an Offset, the new one activating Offset seconds from now and deactivating as long after that
 * as the old one did. The rest (identity, dates of its own, digest, state) is the new object's own.
 */
function renewedAttributes(old: ManagedObject, nowSeconds: number, offset: number | undefined): Attribute[] {
  const out = inheritedAttributes(old, nowSeconds, offset);
  if (offset === undefined) {
    for (const name of ['Activation Date', 'Deactivation Date']) {
      const date = old.first(name);
      if (date !== undefined) out.push({ name, index: 0, value: date });
    }
  }
  return out;
}

/**
 * Reads from the stored certificate being renewed. Node accepts DER the server's reader refuses
 * (over 64 elements in one SEQUENCE, an extension over 4096 bytes), and a key node cannot use: the
 * certificate then cannot be renewed from itself, which is the request's problem, not a store fault.
 */
function fromRenewed<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new KmipError(ResultReason.InvalidField, 'the renewed certificate cannot be read', { cause: err });
  }
}

/**
 * Re-certify (1.0+): a new certificate for the same key, from the same CA unless the request links
 * another, with the subject and names of a new request or of the certificate it renews. The old
 * certificate gives up its Names and links to the new one; the new one links back; the public key's
 * Certificate Link moves to the new one.
 */
export const recertify = defineOperation({
  operation: Operation.ReCertify,
  name: 'Re-certify',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const oldUid = resolveUid(ctx, req.uniqueIdentifier);
    const inline = readCertificateRequest(req.certificateRequestType, req.certificateRequest ?? req.certificateRequestValue);
    if (inline && req.certificateRequestUniqueIdentifier !== undefined) throw invalidField('send a Certificate Request or name a stored one, not both');
    // Templates may bring attributes too (1.4 §4.8: "templates and/or individual attributes").
    const requested = await requestAttributes(ctx, req.templateAttribute, req.attributes, STATED_CERTIFICATE_TYPE);
    // 1.4 §11.9: the Offset computes both dates, so stating either as well (a Template's included) is contradictory.
    if (req.offset !== undefined && requested.some((a) => a.name === 'Activation Date' || a.name === 'Deactivation Date')) {
      throw invalidMessage('an Offset cannot be given with an Activation Date or Deactivation Date');
    }
    const { attributes, issuerUid } = splitRequestedAttributes(requested);
    const storage = protectionStorage(ctx, req.protectionStorageMasks);

    // 2.1 §6.1.45: the request may be a Certificate Request object of the tenant, used as if sent inline.
    const csr = req.certificateRequestUniqueIdentifier === undefined ? inline : await loadCertificateRequest(ctx, req.certificateRequestUniqueIdentifier);
    const old = await loadObject(ctx, oldUid, true);
    if (old.objectType !== ObjectType.Certificate) {
      throw new KmipError(ResultReason.InvalidObjectType, 'Re-certify renews a Certificate', { legacyReason: ResultReason.PermissionDenied });
    }
    // A certificate past its dates is what gets renewed; a compromised or destroyed one is not.
    requireCertifiable(old, 'certificate', [State.PreActive, State.Active, State.Deactivated]);
    // 1.4 §3.35: a certificate has at most one replacement.
    if (linkTarget(old, LinkType.ReplacementObjectLink) !== undefined) throw permissionDenied('this certificate has already been re-certified: renew its replacement');
    const oldDer = await certificateDer(ctx, old);
    const oldKey = fromRenewed(() => new X509Certificate(Buffer.from(oldDer)).publicKey);
    if (csr && !csr.publicKey.equals(oldKey)) throw invalidCsr('the Certificate Request is for another key than the certificate it renews');
    const pubUid = linkTarget(old, LinkType.PublicKeyLink);
    const pub = pubUid === undefined ? undefined : await loadObject(ctx, pubUid, true);

    const issuer = await loadIssuer(ctx, issuerUid ?? linkTarget(old, LinkType.CertificateLink));
    const der = await signCertificate(ctx, {
      issuer,
      // A new request brings its own subject and extensions: the old certificate's are read only when needed.
      subject: csr?.subject ?? fromRenewed(() => certificateNames(oldDer).subject),
      subjectKey: oldKey,
      extensions: csr?.extensions ?? fromRenewed(() => certificateExtensions(oldDer).filter((e) => CARRIED_OVER.has(e.oid))),
    });
    const cert = await certificateObject(ctx, {
      der,
      signatureAlgorithm: issuer.signatureAlgorithm,
      attributes: merged(renewedAttributes(old, nowSeconds(ctx), req.offset), attributes),
      links: [link(LinkType.ReplacedObjectLink, old.uid), ...certificateLinks(pub?.uid, issuer.uid)],
      storage,
    });
    // Names move: the old certificate gives them up before the new one is stored (the store keeps Names unique).
    retire(old, cert.uid);
    saveObject(ctx, old);
    ctx.session.insert(cert.toRecord(ctx.deps.now()));
    if (pub) {
      linkPublicKeyTo(pub, cert.uid, old.uid);
      saveObject(ctx, pub);
    }
    ctx.auditObjectId = cert.uid;
    ctx.batch.idPlaceholder = cert.uid;
    return { uniqueIdentifier: cert.uid };
  },
});
