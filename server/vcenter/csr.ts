/**
 * Our side of "make the KMS trust vCenter" (CSR flow): check and sign the certificate signing request
 * vCenter generated, with the CA the operator gives (its key stays on the operator's machine; vCenter's
 * key never leaves vCenter). server/pki issues the certificate; node:crypto checks chains.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { parseCertificatePem } from '../identity/fingerprint.js';
import { issueCertificate } from '../pki/certificates.js';
import { VcenterError } from './errors.js';

export interface SigningCa {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly cert: X509Certificate;
}

export function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return parseCertificatePem(pem);
  } catch {
    throw new VcenterError('VC_ERR_INPUT', `${what} is not a PEM X.509 certificate`);
  }
}

/** The CA that signs vCenter's CSR: a CA certificate, valid now, whose key is the one given. */
export function loadSigningCa(certificatePem: string, privateKeyPem: string, now = new Date()): SigningCa {
  const cert = parseCertificate(certificatePem, '--sign-ca-cert');
  if (!cert.ca) throw new VcenterError('VC_ERR_INPUT', `--sign-ca-cert is not a CA certificate (${cert.subject.replace(/\n/g, ', ')})`);
  if (Date.parse(cert.validTo) < now.getTime() || Date.parse(cert.validFrom) > now.getTime()) {
    throw new VcenterError('VC_ERR_INPUT', `--sign-ca-cert is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
  }
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new VcenterError('VC_ERR_INPUT', '--sign-ca-key is not a PEM private key');
  }
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey))) throw new VcenterError('VC_ERR_INPUT', '--sign-ca-key is not the key of --sign-ca-cert');
  if (key.asymmetricKeyType !== 'rsa') throw new VcenterError('VC_ERR_INPUT', `--sign-ca-key must be an RSA key (node-forge signs with RSA only), got ${key.asymmetricKeyType}`);
  // forge reads PKCS#1 and PKCS#8; normalise so either file format works.
  return { certificatePem, privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}

/** Whether `cert` was signed by `ca` (names chain and the signature verifies). */
export function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

export interface SignedCsr {
  readonly certificatePem: string;
  readonly subject: string;
}

/**
 * Signs a CSR: the CSR's own signature must verify (it proves vCenter holds the key); the
 * certificate gets the CSR's subject and key, client-auth usage, and never outlives the CA.
 */
export function signCsr(csrPem: string, ca: SigningCa, options: { days?: number; now?: Date } = {}): SignedCsr {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new VcenterError('VC_ERR_PROTOCOL', `vCenter's certificate signing request cannot be read (${(err as Error).message}); only RSA requests are supported`);
  }
  let valid = false;
  try {
    valid = csr.verify();
  } catch {
    // forge throws ("Encryption block is invalid") for a signature that does not decrypt
  }
  if (!valid) throw new VcenterError('VC_ERR_VERIFY', "vCenter's certificate signing request does not carry a valid signature");
  if (!csr.publicKey) throw new VcenterError('VC_ERR_PROTOCOL', "vCenter's certificate signing request has no public key");
  const bits = (csr.publicKey as forge.pki.rsa.PublicKey).n?.bitLength() ?? 0;
  if (bits < 2048) throw new VcenterError('VC_ERR_VERIFY', `vCenter's request has a ${bits}-bit key; at least 2048 bits are required`);
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const wanted = new Date(notBefore.getTime() + (options.days ?? 730) * 86_400_000);
  const caEnd = new Date(ca.cert.validTo);
  const { certificatePem } = issueCertificate(
    { commonName: 'vCenter', subject: csr.subject.attributes, extendedKeyUsage: ['clientAuth'], notBefore, notAfter: wanted < caEnd ? wanted : caEnd },
    ca,
    forge.pki.publicKeyToPem(csr.publicKey),
  );
  return { certificatePem, subject: new X509Certificate(certificatePem).subject.replace(/\n/g, ', ') };
}
