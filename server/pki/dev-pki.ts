/**
 * The development PKI of the embedded default: a CA, an RSA 2048 server certificate (RSA, so vCenter
 * 7's AES128-SHA256 works) for 127.0.0.1, localhost and the names the start asks for (server-names.ts),
 * and one client certificate. Created once in DIR/pki and reused; private keys are written 0600. Every file has LF line endings (Go's PEM
 * parser, e.g. govc kms.trust, rejects CR); files an older version wrote with CRLF are rewritten.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, issueServerCertificate, lfPem } from './certificates.js';
import { certificateNames, sameNames, serverNames, type ServerNames } from './server-names.js';

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

export interface DevPkiResult {
  readonly paths: DevPkiPaths;
  /** Something was missing and has been created. */
  readonly created: boolean;
  /** The server certificate was issued again (its names changed, or it did not match its key); the CA and client stayed. */
  readonly serverReissued: boolean;
  /** The names the server certificate carries now. */
  readonly names: ServerNames;
}

const DEFAULT_NAMES = serverNames('127.0.0.1');

/**
 * Creates whatever part of the development PKI is missing. With `names`, a server certificate that
 * carries other names is issued again by the same CA (registered clients keep working; the CA and the
 * client certificate are never touched); without, an existing server certificate is kept as it is.
 */
export function ensureDevPki(dataDir: string, names?: ServerNames): DevPkiResult {
  const paths = devPkiPaths(dataDir);
  const all = [paths.caCert, paths.caKey, paths.serverCert, paths.serverKey, paths.clientCert, paths.clientKey];
  if (all.every((p) => existsSync(p))) {
    for (const p of all) rewriteWithLf(p);
    const current = serverCertificateState(paths);
    if (current && (!names || sameNames(current, names))) return { paths, created: false, serverReissued: false, names: current };
    const ca = { certificatePem: readFileSync(paths.caCert, 'utf8'), privateKeyPem: readFileSync(paths.caKey, 'utf8') };
    return { paths, created: false, serverReissued: true, names: writeServerCertificate(paths, ca, names ?? current ?? DEFAULT_NAMES) };
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
  const written = writeServerCertificate(paths, ca, names ?? DEFAULT_NAMES);
  const client = issueCertificate({ commonName: 'kmip-dev-client', organization: 'kmip-for-vmware', extendedKeyUsage: ['clientAuth'] }, ca);
  writeFileSync(paths.clientKey, client.privateKeyPem, { mode: 0o600 });
  writeFileSync(paths.clientCert, client.certificatePem);
  return { paths, created: true, serverReissued: false, names: written };
}

/** The names of the current server certificate, or undefined when it cannot be read or does not match its key (a start cut short). */
function serverCertificateState(paths: DevPkiPaths): ServerNames | undefined {
  try {
    const cert = new X509Certificate(readFileSync(paths.serverCert));
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(paths.serverKey)))) return undefined;
    return certificateNames(cert.subjectAltName);
  } catch {
    return undefined;
  }
}

/**
 * Writes the server certificate with the CA appended, each file written aside and renamed: a reader
 * never sees half a file, and a start cut between the two renames leaves a pair that does not match,
 * which the next start issues again.
 */
function writeServerCertificate(paths: DevPkiPaths, ca: { certificatePem: string; privateKeyPem: string }, names: ServerNames): ServerNames {
  const server = issueServerCertificate(ca, names, 'localhost');
  const keyTmp = `${paths.serverKey}.tmp-${process.pid}`;
  const certTmp = `${paths.serverCert}.tmp-${process.pid}`;
  writeFileSync(keyTmp, server.privateKeyPem, { mode: 0o600 });
  writeFileSync(certTmp, server.certificatePem + ca.certificatePem);
  renameSync(keyTmp, paths.serverKey);
  renameSync(certTmp, paths.serverCert);
  return certificateNames(new X509Certificate(server.certificatePem).subjectAltName);
}

/** Rewrites a PEM file written with CRLF (node-forge's line ending, before this was fixed) with LF; its mode stays. */
function rewriteWithLf(file: string): void {
  const text = readFileSync(file, 'utf8');
  if (text.includes('\r')) writeFileSync(file, lfPem(text));
}
