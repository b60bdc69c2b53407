/**
 * X.509 issuance with node-forge on keys made by node:crypto (forge's own RSA generation is slow).
 * Used for the development PKI, for tests, and by the operator CLI to sign vCenter requests.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { ServerNames } from './server-names.js';

export interface KeyPairPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export interface IssuedCertificate extends KeyPairPem {
  readonly certificatePem: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly organization?: string;
  /** "serverAuth", "clientAuth", or both; none adds no Extended Key Usage at all. */
  readonly extendedKeyUsage?: ReadonlyArray<'serverAuth' | 'clientAuth'>;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly isCa?: boolean;
  readonly rsaBits?: number;
  /** The whole subject, e.g. a CSR's, instead of organization and common name. */
  readonly subject?: forge.pki.CertificateField[];
}

export function generateRsaKeyPair(bits = 2048): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString('hex');
}

function subjectAttributes(req: CertificateRequest): forge.pki.CertificateField[] {
  if (req.subject && req.subject.length > 0) return req.subject;
  return [
    ...(req.organization ? [{ name: 'organizationName', value: req.organization }] : []),
    { name: 'commonName', value: req.commonName },
  ];
}

/**
 * Issues a certificate for a new key pair. Without an issuer it is self-signed (a CA). The public
 * key may also come from elsewhere (a CSR), in which case no private key is returned.
 */
export function issueCertificate(
  req: CertificateRequest,
  issuer?: { certificatePem: string; privateKeyPem: string },
  publicKeyPem?: string,
): IssuedCertificate {
  const keys = publicKeyPem ? { privateKeyPem: '', publicKeyPem } : generateRsaKeyPair(req.rsaBits ?? 2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serialNumber();
  const notBefore = req.notBefore ?? new Date(Date.now() - 5 * 60_000);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = req.notAfter ?? new Date(notBefore.getTime() + 825 * 86_400_000);
  cert.setSubject(subjectAttributes(req));
  const issuerCert = issuer ? forge.pki.certificateFromPem(issuer.certificatePem) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subjectAttributes(req));
  const extensions: object[] = [
    { name: 'basicConstraints', cA: req.isCa === true, critical: true },
    req.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (req.extendedKeyUsage && req.extendedKeyUsage.length > 0) {
    extensions.push({
      name: 'extKeyUsage',
      serverAuth: req.extendedKeyUsage.includes('serverAuth'),
      clientAuth: req.extendedKeyUsage.includes('clientAuth'),
    });
  }
  const altNames = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  if (issuerCert) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() });
  cert.setExtensions(extensions);
  const signingKey = forge.pki.privateKeyFromPem(issuer ? issuer.privateKeyPem : keys.privateKeyPem);
  cert.sign(signingKey, forge.md.sha256.create());
  return { ...keys, certificatePem: lfPem(forge.pki.certificateToPem(cert)) };
}

/**
 * A server certificate for `names`, signed by `ca`: RSA 2048 (vCenter 7 negotiates AES128-SHA256, an
 * RSA suite) for serverAuth. Callers write it with the CA appended, so clients that only know the CA
 * can build the chain.
 */
export function issueServerCertificate(ca: { certificatePem: string; privateKeyPem: string }, names: ServerNames, commonName: string): IssuedCertificate {
  return issueCertificate(
    { commonName, organization: 'kmip-for-vmware', extendedKeyUsage: ['serverAuth'], dnsNames: names.dnsNames, ipAddresses: names.ipAddresses, rsaBits: 2048 },
    ca,
  );
}

/**
 * PEM with LF line endings. node-forge ends lines with CRLF; Go's PEM parser (govc kms.trust, and so
 * what an operator pastes into vCenter tooling) rejects the stray CR, so everything we write or print
 * goes through this.
 */
export function lfPem(pem: string): string {
  return pem.replace(/\r\n?/g, '\n');
}
