/**
 * The development PKI of the embedded default: a CA, an RSA 2048 server certificate for 127.0.0.1
 * and localhost (RSA, so vCenter 7's AES128-SHA256 works), and one client certificate. Created once
 * in DIR/pki and reused; private keys are written 0600. Every file has LF line endings (Go's PEM
 * parser, e.g. govc kms.trust, rejects CR); files an older version wrote with CRLF are rewritten.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, lfPem } from './certificates.js';

export interface DevPkiPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export function devPkiPaths(dataDir: string): DevPkiPaths {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    serverCert: join(dir, 'server-cert.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client-cert.pem'),
    clientKey: join(dir, 'client-key.pem'),
  };
}

/** Creates whatever part of the development PKI is missing; returns the paths and whether anything was created. */
export function ensureDevPki(dataDir: string, extraHostnames: readonly string[] = []): { paths: DevPkiPaths; created: boolean } {
  const paths = devPkiPaths(dataDir);
  const all = [paths.caCert, paths.caKey, paths.serverCert, paths.serverKey, paths.clientCert, paths.clientKey];
  if (all.every((p) => existsSync(p))) {
    for (const p of all) rewriteWithLf(p);
    return { paths, created: false };
  }
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  let ca: { certificatePem: string; privateKeyPem: string };
  if (existsSync(paths.caCert) && existsSync(paths.caKey)) {
    rewriteWithLf(paths.caCert);
    rewriteWithLf(paths.caKey);
    ca = { certificatePem: readFileSync(paths.caCert, 'utf8'), privateKeyPem: readFileSync(paths.caKey, 'utf8') };
  } else {
    const years10 = new Date(Date.now() + 3650 * 86_400_000);
    ca = issueCertificate({ commonName: 'kmip-for-vmware development CA', organization: 'kmip-for-vmware', isCa: true, notAfter: years10 });
    writeFileSync(paths.caKey, ca.privateKeyPem, { mode: 0o600 });
    writeFileSync(paths.caCert, ca.certificatePem);
  }
  const server = issueCertificate(
    {
      commonName: 'localhost',
      organization: 'kmip-for-vmware',
      extendedKeyUsage: ['serverAuth'],
      dnsNames: ['localhost', ...extraHostnames],
      ipAddresses: ['127.0.0.1'],
    },
    ca,
  );
  writeFileSync(paths.serverKey, server.privateKeyPem, { mode: 0o600 });
  writeFileSync(paths.serverCert, server.certificatePem + ca.certificatePem);
  const client = issueCertificate({ commonName: 'kmip-dev-client', organization: 'kmip-for-vmware', extendedKeyUsage: ['clientAuth'] }, ca);
  writeFileSync(paths.clientKey, client.privateKeyPem, { mode: 0o600 });
  writeFileSync(paths.clientCert, client.certificatePem);
  return { paths, created: true };
}

/** Rewrites a PEM file written with CRLF (node-forge's line ending, before this was fixed) with LF; its mode stays. */
function rewriteWithLf(file: string): void {
  const text = readFileSync(file, 'utf8');
  if (text.includes('\r')) writeFileSync(file, lfPem(text));
}
