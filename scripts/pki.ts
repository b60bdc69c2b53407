/**
 * Issues the server TLS material the stacks deploy (stacks/pki.ts describes the layout):
 *
 *   npm run pki -- --config kmip.config.json [--stack kmip-prod-us-south] [--renew] [--dns-suffix kmip.example.com]
 *
 * Creates what is missing: a CA per stack (RSA 3072, 10 years), one server certificate per node (RSA 2048,
 * 825 days, the node's fixed address as IP SAN — plus `<zone>.<dns-suffix>` when given), the shared TLS
 * ticket keys, and for the management API a separate admin CA (RSA 3072, 10 years; only its certificate goes
 * to the nodes) with one operator client certificate (RSA 2048, 397 days, EKU clientAuth) for kmipctl.
 * Existing files are kept; `--renew` re-issues node certificates that no longer match their node or expire
 * within 30 days, and the operator certificate on the same terms. CAs are never replaced: remove their files
 * yourself if you mean to (vCenter must then trust the new server CA; the nodes must get the new admin CA).
 * Writes keys with mode 0600.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import forge from 'node-forge';
import { planSubnets } from '../modules/network/plan-subnets.js';
import { stackName } from '../modules/shared/plan-names.js';
import { StacksConfigError, loadStacksConfig } from '../stacks/config.js';
import { parseArgsMessage } from '../server/util/parse-args-message.js';
import { RENEW_WARNING_DAYS, pkiPaths, type PkiNode } from '../stacks/pki.js';

interface KeyPair {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

function rsa(bits: number): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

/** forge writes CRLF line ends; PEM files (and the CA in the outputs) use LF. */
function pem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function writeSecret(file: string, data: string | Buffer): void {
  writeFileSync(file, data, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface IssueOptions {
  readonly pkiDir: string;
  readonly stack: string;
  readonly nodes: readonly PkiNode[];
  readonly dnsSuffix?: string;
  readonly renew?: boolean;
  readonly now?: Date;
  /** @default 825 */
  readonly nodeDays?: number;
  /** Lifetime of the operator's admin client certificate. @default 397 */
  readonly operatorDays?: number;
}

/**
 * Every file of the stack's PKI lands in exactly one list, counted the same way (a certificate and its key
 * are two files), so one run's summary adds up to the stack's files whatever was there before.
 */
export interface IssueResult {
  /** Files that did not exist. */
  readonly created: readonly string[];
  /** Files that existed and were replaced (--renew). */
  readonly renewed: readonly string[];
  /** Files left as they were. */
  readonly kept: readonly string[];
  /** Kept certificates that no longer fit their node or CA, or expire soon: --renew replaces them. */
  readonly stale: readonly string[];
}

/** Creates what is missing (and, with `renew`, replaces node certificates that no longer fit). */
export function issueStackPki(o: IssueOptions): IssueResult {
  const p = pkiPaths(o.pkiDir, o.stack);
  const now = o.now ?? new Date();
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const renewed: string[] = [];
  const kept: string[] = [];
  const stale: string[] = [];
  const wrote = (...files: string[]) => {
    for (const f of files) (existsSync(f) ? renewed : created).push(f);
  };

  ensureCa(p.caCert, p.caKey, `${o.stack} KMIP server CA`, now, created, kept);

  if (!existsSync(p.ticketKeys)) {
    writeSecret(p.ticketKeys, randomBytes(48));
    created.push(p.ticketKeys);
  } else kept.push(p.ticketKeys);

  const caCert = forge.pki.certificateFromPem(readFileSync(p.caCert, 'utf8'));
  const caKey = forge.pki.privateKeyFromPem(readFileSync(p.caKey, 'utf8'));
  const caX509 = new X509Certificate(readFileSync(p.caCert));
  for (const node of o.nodes) {
    const certFile = p.nodeCert(node.zone);
    const keyFile = p.nodeKey(node.zone);
    if (existsSync(certFile) && existsSync(keyFile)) {
      const current = new X509Certificate(readFileSync(certFile));
      const fits =
        current.checkIP(node.ip) !== undefined &&
        // Names alone do not tell a replaced CA from the old one (same subject): the signature does.
        current.checkIssued(caX509) &&
        current.verify(caX509.publicKey) &&
        current.checkPrivateKey(createPrivateKey(readFileSync(keyFile))) &&
        new Date(current.validTo).getTime() - now.getTime() > RENEW_WARNING_DAYS * 86_400_000;
      if (fits || !o.renew) {
        kept.push(certFile, keyFile);
        if (!fits) stale.push(certFile);
        continue;
      }
    }
    const keys = rsa(2048);
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(now.getTime() - 60_000);
    cert.validity.notAfter = new Date(now.getTime() + (o.nodeDays ?? 825) * 86_400_000);
    cert.setSubject([
      { name: 'commonName', value: o.dnsSuffix ? `${node.zone}.${o.dnsSuffix}` : node.ip },
      { name: 'organizationName', value: 'kmip-for-vmware' },
    ]);
    cert.setIssuer(caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: node.ip }, ...(o.dnsSuffix ? [{ type: 2, value: `${node.zone}.${o.dnsSuffix}` }] : [])] },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(caKey, forge.md.sha256.create());
    wrote(certFile, keyFile);
    writeSecret(keyFile, keys.privateKeyPem);
    writeFileSync(certFile, pem(cert));
  }

  // The management API's own CA: a node's server key cannot sign in as an administrator.
  ensureCa(p.adminCaCert, p.adminCaKey, `${o.stack} KMIP admin CA`, now, created, kept);
  const adminCaX509 = new X509Certificate(readFileSync(p.adminCaCert));
  let keepClient = false;
  if (existsSync(p.adminClientCert) && existsSync(p.adminClientKey)) {
    const current = new X509Certificate(readFileSync(p.adminClientCert));
    const fits =
      current.checkIssued(adminCaX509) &&
      current.verify(adminCaX509.publicKey) &&
      current.checkPrivateKey(createPrivateKey(readFileSync(p.adminClientKey))) &&
      new Date(current.validTo).getTime() - now.getTime() > RENEW_WARNING_DAYS * 86_400_000;
    keepClient = fits || !o.renew;
    if (!fits && !o.renew) stale.push(p.adminClientCert);
  }
  if (keepClient) kept.push(p.adminClientCert, p.adminClientKey);
  else {
    const keys = rsa(2048);
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(now.getTime() - 60_000);
    cert.validity.notAfter = new Date(now.getTime() + (o.operatorDays ?? 397) * 86_400_000);
    cert.setSubject([
      { name: 'commonName', value: `${o.stack} operator` },
      { name: 'organizationName', value: 'kmip-for-vmware' },
    ]);
    cert.setIssuer(forge.pki.certificateFromPem(readFileSync(p.adminCaCert, 'utf8')).subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(forge.pki.privateKeyFromPem(readFileSync(p.adminCaKey, 'utf8')), forge.md.sha256.create());
    wrote(p.adminClientCert, p.adminClientKey);
    writeSecret(p.adminClientKey, keys.privateKeyPem);
    writeFileSync(p.adminClientCert, pem(cert));
  }
  return { created, renewed, kept, stale };
}

/** One stack's summary: the counts add up to the stack's files; each file created or replaced is listed. */
export function summary(stack: string, dir: string, r: IssueResult): string {
  const total = r.created.length + r.renewed.length + r.kept.length;
  return [
    `${stack}: ${total} file(s) in ${dir}: ${r.created.length} created, ${r.renewed.length} renewed, ${r.kept.length} kept as they were`,
    ...r.created.map((f) => `  + ${f}`),
    ...r.renewed.map((f) => `  ~ ${f} (renewed)`),
    ...r.stale.map((f) => `  ! ${f} no longer fits its node or CA, or expires within ${RENEW_WARNING_DAYS} days: npm run pki -- --renew`),
  ].join('\n');
}

/** Creates a self-signed CA (RSA 3072, 10 years) unless both files exist; half a CA is an error. */
function ensureCa(certFile: string, keyFile: string, commonName: string, now: Date, created: string[], kept: string[]): void {
  if (existsSync(certFile) !== existsSync(keyFile)) {
    throw new PkiScriptError(`${certFile} and ${keyFile} must both exist or both be absent: restore the missing one, or remove both to make a new CA (everything it signed must then be issued again)`);
  }
  if (existsSync(certFile)) {
    kept.push(certFile, keyFile);
    return;
  }
  const keys = rsa(3072);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + 3650 * 86_400_000);
  const subject = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'kmip-for-vmware' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  writeSecret(keyFile, keys.privateKeyPem);
  writeFileSync(certFile, pem(cert));
  created.push(certFile, keyFile);
}

/** A problem the operator fixes (exit 1 with the message, no stack trace). */
class PkiScriptError extends Error {}
class PkiUsageError extends Error {}

const USAGE = 'usage: npm run pki -- --config FILE [--stack NAME] [--renew] [--dns-suffix DOMAIN]';

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string', default: 'kmip.config.json' },
        stack: { type: 'string' },
        renew: { type: 'boolean', default: false },
        'dns-suffix': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new PkiUsageError(parseArgsMessage(err));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cfg = loadStacksConfig(values.config!);
  let matched = 0;
  for (const env of cfg.environments) {
    for (const r of env.regions) {
      const stack = stackName(env.name, r.region);
      if (values.stack && values.stack !== stack) continue;
      matched++;
      const plan = planSubnets({ region: r.region, zones: r.zones, subnetPrefixLength: r.network.subnetPrefixLength, subnetIndex: r.network.subnetIndex, hostIndex: r.network.hostIndex, ...(r.network.zonePrefixes ? { zonePrefixes: r.network.zonePrefixes } : {}) });
      const nodes = plan.zoneNames.map((z) => ({ zone: z, ip: plan.zones[z]!.nodeIp }));
      const result = issueStackPki({ pkiDir: resolve(cfg.pkiDir), stack, nodes, renew: values.renew!, ...(values['dns-suffix'] ? { dnsSuffix: values['dns-suffix'] } : {}) });
      process.stdout.write(`${summary(stack, pkiPaths(resolve(cfg.pkiDir), stack).dir, result)}\n`);
    }
  }
  if (values.stack && matched === 0) {
    process.stderr.write(`pki: no stack ${values.stack} in ${values.config}\n`);
    process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    const usage = err instanceof StacksConfigError || err instanceof PkiUsageError;
    const known = usage || err instanceof PkiScriptError;
    process.stderr.write(`pki: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
    if (err instanceof PkiUsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(usage ? 2 : 1);
  }
}
