import { createHash, X509Certificate } from 'node:crypto';

/** SHA-256 of the DER certificate as lower-case hex without separators: how certificates are pinned. */
export function certificateFingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Parses one PEM certificate; throws a plain Error with a clear message when it is not one. */
export function parseCertificatePem(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error('not a PEM X.509 certificate', { cause: err });
  }
}
