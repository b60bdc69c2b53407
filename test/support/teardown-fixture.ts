/**
 * A throwaway project for the teardown test: a stack config with two stacks of one environment,
 * their TLS material from the real `npm run pki` code, a synthesized cdktf.out, KMIP servers on 127.0.0.1
 * that present certificates from the stack's CA and take the stack's admin client certificate, and fake
 * terraform/cdktf executables (plus a kmipctl wrapper running the real kmipctl) that append every call to
 * one log, so the test reads the order of everything the teardown ran. Nothing here reaches past 127.0.0.1
 * and no real terraform ever runs: the fakes are on PATH first and passed by absolute path.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { planSubnets } from '../../modules/network/plan-subnets.js';
import { stackName } from '../../modules/shared/plan-names.js';
import { issueStackPki } from '../../scripts/pki.js';
import { issueCertificate } from '../../server/pki/certificates.js';
import { parseStacksConfig, type StacksConfig } from '../../stacks/config.js';
import { buildStacks } from '../../stacks/kmip-stack.js';
import { pkiPaths } from '../../stacks/pki.js';
import { KMIPCTL } from './kmipctl.js';
import { createTestPki } from './pki.js';
import { noteOutput, noteSecret } from './secrets-ledger.js';
import { startTestServer, type TestServer } from './server.js';

export const STACK = 'kmip-t-us-south';
/** Another region of STACK's environment: the hard case, since destroyProtection is set per environment. */
export const OTHER_STACKS = ['kmip-t-eu-de'] as const;
export const ZONES = ['us-south-1', 'us-south-2'] as const;

const region = (name: string) => ({
  region: name,
  zones: [1, 2],
  kmipClientCidrs: ['10.50.0.0/24'],
  keyProtect: { instance: { create: true }, rootKey: { source: 'generate', name: `${name}-crk` } },
});

export interface CallLog {
  /** One line per call, in order: "kmipctl <args> [protected]", "terraform <args> [unprotected]", … */
  lines(): string[];
  clear(): void;
}

export interface TeardownProject {
  readonly root: string;
  readonly configFile: string;
  readonly config: StacksConfig;
  readonly pkiDir: string;
  /** The synthesized output as `npm run synth` left it (copy it with freshOutDir before a run). */
  readonly pristineOutDir: string;
  readonly passphraseFile: string;
  readonly bin: string;
  readonly terraform: string;
  readonly cdktf: string;
  readonly kmipctlWrapper: string;
  readonly log: CallLog;
  freshOutDir(): string;
  freshBackupDir(): string;
  /** A KMIP server on 127.0.0.1 serving the admin port the way a node of STACK does (stack CA, admin CA). */
  startNode(): Promise<TestServer>;
  endpointsFile(map: Record<string, string>): string;
  /** The environment a teardown runs with: PATH starts with the fakes and has no /usr/local/bin. */
  env(outDir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The real kmipctl against a node, with the stack's admin client certificate. */
  kmipctl(node: TestServer, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

const sh = (body: string) => `#!/bin/sh\n# fake written by test/support/teardown-fixture.ts\n${body}\n`;

/**
 * Appends "<state of the watched cdk.tf.json>" so the log shows when the protection was lifted (the database's
 * deletion protection; Key Protect keeps prevent_destroy even then, since a teardown retains it).
 */
const STATE = `state=-
if [ -n "$TEARDOWN_WATCH" ] && [ -f "$TEARDOWN_WATCH" ]; then
  if grep -q '"deletion_protection": true' "$TEARDOWN_WATCH"; then state=protected; else state=unprotected; fi
fi`;

export function createTeardownProject(): TeardownProject {
  const root = mkdtempSync(join(tmpdir(), 'kmip-teardown-project-'));
  const pkiDir = join(root, '.kmip-pki');
  const bundle = join(root, 'kmip-server.mjs');
  writeFileSync(bundle, '// stands in for the server bundle: the stacks only hash it\n');
  const input = {
    serverBundle: bundle,
    pkiDir,
    environments: [{ name: 't', regions: [region('us-south'), region('eu-de')] }],
  };
  const configFile = join(root, 'kmip.config.json');
  writeFileSync(configFile, `${JSON.stringify(input, null, 2)}\n`);
  const config = parseStacksConfig(input, configFile);
  for (const env of config.environments) {
    for (const r of env.regions) {
      const plan = planSubnets({ region: r.region, zones: r.zones });
      issueStackPki({ pkiDir, stack: stackName(env.name, r.region), nodes: plan.zoneNames.map((z) => ({ zone: z, ip: plan.zones[z]!.nodeIp })) });
    }
  }

  const pristineOutDir = join(root, 'cdktf.out.pristine');
  const app = new App({ outdir: pristineOutDir });
  buildStacks(app, config);
  app.synth();

  const passphraseFile = join(root, 'passphrase');
  const passphrase = 'correct horse battery staple';
  writeFileSync(passphraseFile, `${passphrase}\n`, { mode: 0o600 });
  noteSecret('teardown backup passphrase', passphrase);

  const bin = join(root, 'bin');
  mkdirSync(bin);
  const logFile = join(root, 'calls.log');
  writeFileSync(logFile, '');
  const write = (name: string, body: string) => {
    const file = join(bin, name);
    writeFileSync(file, sh(body));
    chmodSync(file, 0o755);
    return file;
  };
  // Records argv and fails when asked to (FAKE_TERRAFORM_FAIL=apply makes `terraform … apply …` exit 1).
  const terraform = write(
    'terraform',
    `${STATE}
echo "terraform $* [$state]" >> "$TEARDOWN_LOG"
if [ -n "$FAKE_TERRAFORM_FAIL" ]; then
  for a in "$@"; do [ "$a" = "$FAKE_TERRAFORM_FAIL" ] && { echo "fake terraform: $a fails" >&2; exit 1; }; done
fi
exit 0`,
  );
  const cdktf = write('cdktf-fake', `${STATE}\necho "cdktf $* [$state] TERRAFORM_BINARY_NAME=$TERRAFORM_BINARY_NAME" >> "$TEARDOWN_LOG"\nexit 0`);
  const kmipctlWrapper = write('kmipctl', `${STATE}\necho "kmipctl $* [$state]" >> "$TEARDOWN_LOG"\nexec "${process.execPath}" "${KMIPCTL}" "$@"`);

  const p = pkiPaths(pkiDir, STACK);
  const stackCa = { certificatePem: readFileSync(p.caCert, 'utf8'), privateKeyPem: readFileSync(p.caKey, 'utf8') };
  let n = 0;

  return {
    root,
    configFile,
    config,
    pkiDir,
    pristineOutDir,
    passphraseFile,
    bin,
    terraform,
    cdktf,
    kmipctlWrapper,
    log: {
      lines: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean),
      clear: () => writeFileSync(logFile, ''),
    },
    freshOutDir() {
      const dir = join(root, `cdktf.out.${++n}`);
      cpSync(pristineOutDir, dir, { recursive: true });
      return dir;
    },
    freshBackupDir: () => join(root, `backups.${++n}`),
    async startNode() {
      // The node's server certificate comes from the stack's CA, as on a real node; here it names 127.0.0.1.
      const base = createTestPki();
      const server = issueCertificate({ commonName: '127.0.0.1', extendedKeyUsage: ['serverAuth'], ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] }, stackCa);
      const serverCertFile = join(base.dir, 'node-cert.pem');
      const serverKeyFile = join(base.dir, 'node-key.pem');
      writeFileSync(serverCertFile, server.certificatePem);
      writeFileSync(serverKeyFile, server.privateKeyPem, { mode: 0o600 });
      const pki = { ...base, ca: { ...stackCa, publicKeyPem: '' }, server, caFile: p.caCert, serverCertFile, serverKeyFile };
      return startTestServer({
        pki,
        config: { admin: { enabled: true, host: '127.0.0.1', port: 0, tls: { certFile: serverCertFile, keyFile: serverKeyFile, clientCaFile: p.adminCaCert } } },
      });
    },
    endpointsFile(map) {
      const file = join(root, `endpoints.${++n}.json`);
      writeFileSync(file, JSON.stringify(map));
      return file;
    },
    env(outDir, extra = {}) {
      return {
        HOME: process.env['HOME'] ?? root,
        PATH: [bin, '/usr/bin', '/bin'].join(':'),
        TEARDOWN_LOG: logFile,
        TEARDOWN_WATCH: join(outDir, 'stacks', STACK, 'cdk.tf.json'),
        KMIPCTL_BINARY: kmipctlWrapper,
        ...extra,
      };
    },
    kmipctl(node, ...args) {
      return new Promise((resolve) =>
        execFile(
          process.execPath,
          [KMIPCTL, '--admin-url', `https://127.0.0.1:${node.adminPort}`, '--client-cert', p.adminClientCert, '--client-key', p.adminClientKey, '--server-ca', p.caCert, ...args],
          { timeout: 30_000 },
          (err, stdout, stderr) => {
            noteOutput(`teardown fixture kmipctl ${args.join(' ')}`, `${stdout}${stderr}`);
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
          },
        ),
      );
    },
  };
}

/** SHA-256 of every file under `dir`, by relative path: "untouched" means equal maps. */
export function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? join(rel, e.name) : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = createHash('sha256').update(readFileSync(join(dir, r))).digest('hex');
    }
  };
  walk('');
  return out;
}
