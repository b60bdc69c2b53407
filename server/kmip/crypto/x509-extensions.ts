/** X.509 extensions (RFC 5280 §4.2) as read from certificates and certificate requests, and written back. */
import { children, readDer, type DerElement } from '../objects/der.js';
import { derBoolean, octetString, oid, oidText, sequence } from './der-writer.js';

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue contents: the DER of the extension's own structure. */
  readonly value: Uint8Array;
}

export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/**
 * What a certified key keeps from its request (or, on Re-certify, from the certificate it renews):
 * its names and what it is for. Everything that decides trust (CA flag, path length, key usage, key
 * identifiers) is the issuer's to set, so a request cannot make itself a CA.
 */
export const CARRIED_OVER: ReadonlySet<string> = new Set([OID.subjectAltName, OID.extKeyUsage]);

/** No extension we carry over comes near this; larger ones are refused, not truncated. */
const MAX_EXTENSION_BYTES = 4096;

/** Extensions ::= SEQUENCE OF Extension, each checked to hold exactly one DER element. */
export function readExtensions(list: DerElement): Extension[] {
  if (list.tag !== 0x30) throw new Error('DER: Extensions is not a SEQUENCE');
  return children(list).map((ext) => {
    const fields = ext.tag === 0x30 ? children(ext) : [];
    const [id, second, third] = fields;
    const critical = second?.tag === 0x01 ? second.body[0] !== 0 : false;
    const value = second?.tag === 0x01 ? third : second;
    if (id?.tag !== 0x06 || value?.tag !== 0x04 || fields.length > 3) throw new Error('DER: malformed Extension');
    if (value.body.length > MAX_EXTENSION_BYTES) throw new Error('DER: extension too large');
    if (readDer(value.body).next !== value.body.length) throw new Error('DER: extension value is not one element');
    return { oid: oidText(id.body), critical, value: value.body };
  });
}

export function writeExtension(e: Extension): Uint8Array {
  // DER leaves out a critical flag that is FALSE (its DEFAULT).
  return sequence(oid(e.oid), ...(e.critical ? [derBoolean(true)] : []), octetString(e.value));
}

/** The extensions of a DER certificate (none for v1 certificates). */
export function certificateExtensions(der: Uint8Array): Extension[] {
  const tbs = children(readDer(der).element)[0];
  if (tbs?.tag !== 0x30) throw new Error('DER: no TBSCertificate');
  const wrapper = children(tbs).find((f) => f.tag === 0xa3);
  if (!wrapper) return [];
  const [list] = children(wrapper);
  if (!list) throw new Error('DER: empty extensions wrapper');
  return readExtensions(list);
}

/** The key identifier a Subject Key Identifier extension carries. */
export function subjectKeyIdentifier(extensions: readonly Extension[]): Uint8Array | undefined {
  const ski = extensions.find((e) => e.oid === OID.subjectKeyIdentifier);
  if (!ski) return undefined;
  const { element } = readDer(ski.value);
  return element.tag === 0x04 ? element.body : undefined;
}
