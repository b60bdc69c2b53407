/**
 * The certificates and secrets `kmip-server init` makes: a self-contained server CA and the leaves it
 * signs, client CAs, random secrets. Every file is created with O_EXCL ('wx'): an existing file is
 * never replaced, even one that appeared while init ran.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { issueCertificate, issueServerCertificate, type IssuedCertificate } from '../pki/certificates.js';
import type { ServerNames } from '../pki/server-names.js';

export const SECRET_MODE = 0o600;
export const PUBLIC_MODE = 0o644;
export const FOLDER_MODE = 0o700;

const TEN_YEARS_MS = 3650 * 86_400_000;

/** What init did with one file, for its report. */
export interface Made {
  readonly file: string;
  readonly what: string;
  readonly mode: number;
}

export class Writer {
  readonly made: Made[] = [];
  readonly folders: string[] = [];

  /** Creates the folder (and missing parents) 0700, remembering the ones that did not exist. */
  folder(dir: string): void {
    const missing: string[] = [];
    for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
      missing.unshift(d);
      if (dirname(d) === d) break;
    }
    if (missing.length === 0) return;
    mkdirSync(dir, { recursive: true, mode: FOLDER_MODE });
    this.folders.push(...missing);
  }

  /** Writes a new file; fails (EEXIST) rather than replace one. */
  file(file: string, data: string | Uint8Array, mode: number, what: string): void {
    this.folder(dirname(file));
    writeFileSync(file, data, { flag: 'wx', mode });
    this.made.push({ file, what, mode });
  }
}

/** The files of the server CA init makes beside the KMIP server certificate. */
export function serverCaPaths(serverCertFile: string): { cert: string; key: string } {
  const dir = dirname(serverCertFile);
  return { cert: join(dir, 'server-ca.pem'), key: join(dir, 'server-ca-key.pem') };
}

/** The private key kept beside a CA certificate init makes: ca.pem → ca-key.pem. */
export function caKeyPath(caCertFile: string): string {
  return caCertFile.endsWith('.pem') ? `${caCertFile.slice(0, -4)}-key.pem` : `${caCertFile}.key.pem`;
}

/** The administrator's client certificate init issues with a new admin client CA. */
export function adminClientPaths(adminCaFile: string): { cert: string; key: string } {
  const dir = dirname(adminCaFile);
  return { cert: join(dir, 'admin-client-cert.pem'), key: join(dir, 'admin-client-key.pem') };
}

export function newCa(commonName: string): IssuedCertificate {
  return issueCertificate({ commonName, organization: 'kmip-for-vmware', isCa: true, notAfter: new Date(Date.now() + TEN_YEARS_MS) });
}

/** A CA's certificate and key files (key 0600). */
export function writeCa(w: Writer, ca: IssuedCertificate, certFile: string, keyFile: string, what: string): void {
  w.file(keyFile, ca.privateKeyPem, SECRET_MODE, `${what} private key`);
  w.file(certFile, ca.certificatePem, PUBLIC_MODE, what);
}

/** A server certificate for `names` (its common name the first one other than localhost), with the CA appended. */
export function writeServerLeaf(
  w: Writer,
  ca: { certificatePem: string; privateKeyPem: string },
  names: ServerNames,
  files: { cert: string; key: string },
  what: string,
): void {
  const leaf = issueServerCertificate(ca, names, names.dnsNames.find((n) => n !== 'localhost') ?? 'localhost');
  w.file(files.key, leaf.privateKeyPem, SECRET_MODE, `${what} private key`);
  w.file(files.cert, leaf.certificatePem + ca.certificatePem, PUBLIC_MODE, what);
}

export function writeClientLeaf(w: Writer, ca: IssuedCertificate, commonName: string, files: { cert: string; key: string }, what: string): void {
  const leaf = issueCertificate({ commonName, organization: 'kmip-for-vmware', extendedKeyUsage: ['clientAuth'] }, ca);
  w.file(files.key, leaf.privateKeyPem, SECRET_MODE, `${what} private key`);
  w.file(files.cert, leaf.certificatePem, PUBLIC_MODE, what);
}

/** 32 random bytes as base64url text on one line: the management token. */
export function newToken(): string {
  return `${randomBytes(32).toString('base64url')}\n`;
}

/** 48 random bytes: TLS session ticket keys (copy the file to every node of a cluster). */
export function newTicketKeys(): Buffer {
  return randomBytes(48);
}
