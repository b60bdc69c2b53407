/** A throwaway PKI per test file: a CA, a server certificate for 127.0.0.1, and client certificates on demand. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, type CertificateRequest, type IssuedCertificate } from '../../server/pki/certificates.js';
import { certificateFingerprint } from '../../server/identity/fingerprint.js';
import { notePrivateKeyPem } from './secrets-ledger.js';

export interface TestPki {
  readonly dir: string;
  readonly ca: IssuedCertificate;
  readonly server: IssuedCertificate;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  client(name: string, req?: Partial<CertificateRequest>, issuer?: IssuedCertificate): TestClientCert;
}

export interface TestClientCert extends IssuedCertificate {
  readonly fingerprint: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly subject: string;
}

/** `dir`: an existing folder to issue into (its owner removes it), else a new temporary one. */
export function createTestPki(dir = mkdtempSync(join(tmpdir(), 'kmip-pki-'))): TestPki {
  const ca = issueCertificate({ commonName: 'test CA', isCa: true });
  const server = issueCertificate({ commonName: 'localhost', extendedKeyUsage: ['serverAuth'], dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, ca);
  const caFile = join(dir, 'ca.pem');
  const serverCertFile = join(dir, 'server-cert.pem');
  const serverKeyFile = join(dir, 'server-key.pem');
  writeFileSync(caFile, ca.certificatePem);
  writeFileSync(serverCertFile, server.certificatePem + ca.certificatePem);
  writeFileSync(serverKeyFile, server.privateKeyPem, { mode: 0o600 });
  notePrivateKeyPem('server private key', server.privateKeyPem);
  notePrivateKeyPem('CA private key', ca.privateKeyPem);
  return {
    dir,
    ca,
    server,
    caFile,
    serverCertFile,
    serverKeyFile,
    client(name, req = {}, issuer = ca) {
      const issued = issueCertificate({ commonName: name, extendedKeyUsage: ['clientAuth'], ...req }, issuer);
      const certFile = join(dir, `${name}-cert.pem`);
      const keyFile = join(dir, `${name}-key.pem`);
      writeFileSync(certFile, issued.certificatePem);
      writeFileSync(keyFile, issued.privateKeyPem, { mode: 0o600 });
      notePrivateKeyPem('client private key', issued.privateKeyPem);
      const x509 = new X509Certificate(issued.certificatePem);
      return { ...issued, fingerprint: certificateFingerprint(x509), certFile, keyFile, subject: x509.subject };
    },
  };
}
