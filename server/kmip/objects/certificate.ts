/** X.509 certificates: validation on Register and the attributes derived from them. */
import { X509Certificate } from 'node:crypto';
import { KmipError } from '../errors.js';
import { CertificateType, ResultReason } from '../generated/enums.js';
import type { Attribute } from '../model/attributes.js';
import { describeKey } from './asymmetric-key.js';
import { certificateNames } from './der.js';

/** 2.x attribute names for the subject and issuer fields node prints as "KEY=value" lines. */
const SUBJECT_FIELDS: Readonly<Record<string, string>> = {
  CN: 'CN',
  O: 'O',
  OU: 'OU',
  emailAddress: 'Email',
  C: 'C',
  ST: 'ST',
  L: 'L',
  UID: 'UID',
  serialNumber: 'Serial Number',
  title: 'Title',
  DC: 'DC',
  dnQualifier: 'DN Qualifier',
};

function nameFields(printed: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of printed.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const label = SUBJECT_FIELDS[line.slice(0, eq)];
    // Single-valued attributes: the first occurrence wins, as in most RDN readers.
    if (label && !out.has(label)) out.set(label, line.slice(eq + 1));
  }
  return out;
}

/** Server-derived attributes of a registered X.509 certificate (also validates it). */
export function certificateAttributes(certificateType: number, der: Uint8Array): Attribute[] {
  if (certificateType !== CertificateType.X_509) throw new KmipError(ResultReason.InvalidField, 'only X.509 certificates are supported');
  let cert: X509Certificate;
  let names: ReturnType<typeof certificateNames>;
  try {
    cert = new X509Certificate(Buffer.from(der));
    names = certificateNames(der);
  } catch (err) {
    throw new KmipError(ResultReason.InvalidField, 'Certificate Value is not a DER X.509 certificate', { cause: err });
  }
  const out: Attribute[] = [
    { name: 'Certificate Type', index: 0, value: CertificateType.X_509 },
    { name: 'Certificate Length', index: 0, value: der.length },
    { name: 'X.509 Certificate Identifier', index: 0, value: { issuerDistinguishedName: names.issuer, certificateSerialNumber: names.serial } },
    { name: 'X.509 Certificate Subject', index: 0, value: { subjectDistinguishedName: names.subject } },
    { name: 'X.509 Certificate Issuer', index: 0, value: { issuerDistinguishedName: names.issuer } },
  ];
  for (const [label, value] of nameFields(cert.subject)) out.push({ name: `Certificate Subject ${label}`, index: 0, value });
  for (const [label, value] of nameFields(cert.issuer)) out.push({ name: `Certificate Issuer ${label}`, index: 0, value });
  try {
    const { algorithm, length } = describeKey(cert.publicKey);
    out.push({ name: 'Cryptographic Algorithm', index: 0, value: algorithm }, { name: 'Cryptographic Length', index: 0, value: length });
  } catch {
    // A certificate for a key type we do not model is still stored; it just has no algorithm attributes.
  }
  return out;
}

