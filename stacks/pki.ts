/**
 * The server TLS material of a stack, read and checked at synth time (node:crypto only). It is issued by
 * `npm run pki` (scripts/pki.ts) into <pkiDir>/<stack>/ and never generated during synth, so a synth is a
 * pure function of the repository, the config and these files.
 *
 *   ca-cert.pem            the stack's CA: vCenter trusts it (output kmip_server_ca_pem)
 *   ca-key.pem             the CA key: only `npm run pki` reads it; keep it offline
 *   <zone>-cert.pem/-key.pem one server certificate per node, naming the node's address
 *   ticket-keys.bin        48 random bytes shared by the nodes so TLS sessions resume on any node
 *   admin-ca.pem           the stack's admin CA, a CA of its own: the nodes accept client certificates it
 *                          issued on the admin port (management API); it is shipped to the nodes
 *   admin-ca-key.pem       its key: stays on the operator's machine, never shipped
 *   admin-client-cert.pem/-key.pem  the operator's client certificate (kmipctl --client-cert/--client-key)
 */
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const RENEW_WARNING_DAYS = 30;

export function pkiPaths(pkiDir: string, stack: string) {
  const dir = join(pkiDir, stack);
  return {
    dir,
    caCert: join(dir, 'ca-cert.pem'),
    caKey: join(dir, 'ca-key.pem'),
    ticketKeys: join(dir, 'ticket-keys.bin'),
    adminCaCert: join(dir, 'admin-ca.pem'),
    adminCaKey: join(dir, 'admin-ca-key.pem'),
    adminClientCert: join(dir, 'admin-client-cert.pem'),
    adminClientKey: join(dir, 'admin-client-key.pem'),
    nodeCert: (zone: string) => join(dir, `${zone}-cert.pem`),
    nodeKey: (zone: string) => join(dir, `${zone}-key.pem`),
  };
}

export interface PkiNode {
  readonly zone: string;
  readonly ip: string;
}

export interface StackPki {
  readonly dir: string;
  readonly caCertFile: string;
  readonly caCertPem: string;
  /** SHA-256 of the CA certificate (DER), lower-case hex. */
  readonly caFingerprint: string;
  readonly ticketKeysFile: string;
  /** The admin CA certificate the nodes trust for management API clients (its key is not read). */
  readonly adminCaCertFile: string;
  readonly nodes: Readonly<Record<string, { readonly certFile: string; readonly keyFile: string; readonly notAfter: Date }>>;
  /** Certificates that expire within RENEW_WARNING_DAYS. */
  readonly warnings: readonly string[];
}

export class PkiError extends Error {
  override readonly name = 'PkiError';
  readonly code = 'STACKS_ERR_PKI';
  constructor(
    readonly problems: readonly string[],
    stack: string,
  ) {
    super(`TLS material of ${stack} is not usable:\n${problems.map((p) => `  - ${p}`).join('\n')}\n(issue what is missing with: npm run pki -- --config <config file> --stack ${stack}; replace what exists but does not fit with --renew)`);
  }
}

/** Reads and checks a stack's TLS material; throws PkiError listing every problem. */
export function loadStackPki(pkiDir: string, stack: string, nodes: readonly PkiNode[], now: Date = new Date()): StackPki {
  const p = pkiPaths(pkiDir, stack);
  const problems: string[] = [];
  const warnings: string[] = [];
  const read = (file: string): string | undefined => {
    if (!existsSync(file)) {
      problems.push(`missing ${file}`);
      return undefined;
    }
    return readFileSync(file, 'utf8');
  };
  const caPem = read(p.caCert);
  let ca: X509Certificate | undefined;
  if (caPem) {
    try {
      ca = new X509Certificate(caPem);
      if (!ca.ca) problems.push(`${p.caCert} is not a CA certificate`);
      if (new Date(ca.validTo) <= now) problems.push(`${p.caCert} expired on ${ca.validTo}`);
    } catch (err) {
      problems.push(`${p.caCert}: ${(err as Error).message}`);
    }
  }
  // The admin CA must be a CA of its own: with the server CA, every node's server key (on the nodes)
  // could sign in as an administrator of every other node.
  const adminCaPem = read(p.adminCaCert);
  if (adminCaPem) {
    try {
      const adminCa = new X509Certificate(adminCaPem);
      if (!adminCa.ca) problems.push(`${p.adminCaCert} is not a CA certificate`);
      if (new Date(adminCa.validTo) <= now) problems.push(`${p.adminCaCert} expired on ${adminCa.validTo}`);
      if (ca && adminCa.fingerprint256 === ca.fingerprint256) problems.push(`${p.adminCaCert} must be a CA of its own, not the server CA ${p.caCert}`);
      warnings.push(...adminClientWarnings(p.adminClientCert, p.adminClientKey, adminCa, now));
    } catch (err) {
      problems.push(`${p.adminCaCert}: ${(err as Error).message}`);
    }
  }
  if (existsSync(p.ticketKeys)) {
    if (statSync(p.ticketKeys).size < 48) problems.push(`${p.ticketKeys} must hold at least 48 bytes`);
  } else problems.push(`missing ${p.ticketKeys}`);

  const out: Record<string, { certFile: string; keyFile: string; notAfter: Date }> = {};
  for (const node of nodes) {
    const certFile = p.nodeCert(node.zone);
    const keyFile = p.nodeKey(node.zone);
    const certPem = read(certFile);
    const keyPem = read(keyFile);
    if (!certPem || !keyPem) continue;
    try {
      const cert = new X509Certificate(certPem);
      const notAfter = new Date(cert.validTo);
      if (ca && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) problems.push(`${certFile} is not signed by ${p.caCert}`);
      if (!cert.checkIP(node.ip)) problems.push(`${certFile} does not name ${node.ip}, the address of the ${node.zone} node`);
      if (!cert.checkPrivateKey(createPrivateKey(keyPem))) problems.push(`${keyFile} does not belong to ${certFile}`);
      if (notAfter <= now) problems.push(`${certFile} expired on ${cert.validTo}`);
      else if (notAfter.getTime() - now.getTime() < RENEW_WARNING_DAYS * 86_400_000) warnings.push(`${certFile} expires on ${cert.validTo}: renew it (npm run pki -- --renew)`);
      out[node.zone] = { certFile, keyFile, notAfter };
    } catch (err) {
      problems.push(`${certFile}: ${(err as Error).message}`);
    }
  }
  if (problems.length || !caPem || !ca) throw new PkiError(problems, stack);
  return {
    dir: p.dir,
    caCertFile: p.caCert,
    caCertPem: caPem,
    caFingerprint: createHash('sha256').update(ca.raw).digest('hex'),
    ticketKeysFile: p.ticketKeys,
    adminCaCertFile: p.adminCaCert,
    nodes: out,
    warnings,
  };
}

/**
 * The operator's admin client certificate is not shipped, so it never stops a synth; but an operator who
 * cannot reach the management API cannot run the teardown preflight, so say so early.
 */
function adminClientWarnings(certFile: string, keyFile: string, adminCa: X509Certificate, now: Date): string[] {
  if (!existsSync(certFile) || !existsSync(keyFile)) return [`missing ${certFile} or ${keyFile}: kmipctl cannot reach the admin port (npm run pki)`];
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (!(cert.checkIssued(adminCa) && cert.verify(adminCa.publicKey))) return [`${certFile} is not signed by the admin CA: the nodes will refuse it (npm run pki -- --renew)`];
    const left = new Date(cert.validTo).getTime() - now.getTime();
    if (left <= 0) return [`${certFile} expired on ${cert.validTo} (npm run pki -- --renew)`];
    if (left < RENEW_WARNING_DAYS * 86_400_000) return [`${certFile} expires on ${cert.validTo}: renew it (npm run pki -- --renew)`];
  } catch (err) {
    return [`${certFile}: ${(err as Error).message}`];
  }
  return [];
}
