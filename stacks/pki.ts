/**
 * The server TLS material of a stack, read and checked at synth time (node:crypto only). It is issued by
 * `npm run pki` (scripts/pki.ts) into <pkiDir>/<stack>/ and never generated during synth, so a synth is a
 * pure function of the repository, the config and these files.
 *
 *   ca-cert.pem            the stack's CA: vCenter trusts it (output kmip_server_ca_pem)
 *   ca-key.pem             the CA key: only `npm run pki` reads it; keep it offline
 *   <zone>-cert.pem/-key.pem one server certificate per node, naming the node's address
 *   ticket-keys.bin        48 random bytes shared by the nodes so TLS sessions resume on any node
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
    super(`TLS material of ${stack} is not usable:\n${problems.map((p) => `  - ${p}`).join('\n')}\n(issue or renew it with: npm run pki -- --config <config file> --stack ${stack})`);
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
    nodes: out,
    warnings,
  };
}
