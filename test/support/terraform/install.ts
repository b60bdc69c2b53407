/**
 * Installs the fake providers where Terraform finds them: a filesystem mirror with one launcher
 * script per provider, and a CLI config that points `ibm-cloud/ibm` and `hashicorp/time` at it.
 *
 * Layout, under node_modules/.cache/kmip-fake-tf/:
 *   tls/{cert.pem,key.pem}     P-256 localhost certificate for AutoMTLS, made once with openssl
 *   <hash>/provider.mjs        the bundle; <hash> names the provider sources (build.ts)
 *   <hash>/proto/              the proto files the bundle loads
 *   <hash>/mirror/registry.terraform.io/<ns>/<type>/<version>/<os_arch>/terraform-provider-<type>_v<version>
 *   <hash>/terraformrc         the CLI config
 * The package directory holds only the launcher, so the lock file's h1: hash changes only when the
 * launcher does (new sources → new <hash> → new launcher; every workspace runs its own init).
 * A build goes to a temporary folder renamed into place, so parallel vitest workers race safely.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleProvider, PROTO_DIR, providerSourceHash, REPO_ROOT } from './build.js';

export const CACHE_ROOT = join(REPO_ROOT, 'node_modules/.cache/kmip-fake-tf');

export interface FakeProviderSpec {
  readonly hostname: string;
  readonly namespace: string;
  readonly type: string;
  readonly version: string;
  /** The --provider argument of the program. */
  readonly program: 'ibm' | 'time';
}

export const FAKE_PROVIDERS: readonly FakeProviderSpec[] = [
  { hostname: 'registry.terraform.io', namespace: 'ibm-cloud', type: 'ibm', version: '1.89.0', program: 'ibm' },
  { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'time', version: '0.13.1', program: 'time' },
];

export interface FakeProviderInstall {
  readonly dir: string;
  readonly cliConfigFile: string;
  readonly mirrorDir: string;
  readonly bundleFile: string;
  readonly tlsDir: string;
  /** For every terraform process: the CLI config, no prompts, no checkpoint calls. */
  readonly env: Record<string, string>;
}

/** Terraform's name for this machine's platform (linux_amd64). */
export function terraformPlatform(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return `${process.platform}_${arch}`;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Moves a finished temporary folder into place; when another worker got there first, keeps theirs. */
function publish(temp: string, final: string): void {
  try {
    renameSync(temp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    rmSync(temp, { recursive: true, force: true });
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EPERM') throw e;
  }
}

const tempNear = (path: string) => `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

function ensureTls(): string {
  const dir = join(CACHE_ROOT, 'tls');
  if (existsSync(join(dir, 'cert.pem')) && existsSync(join(dir, 'key.pem'))) return dir;
  const temp = tempNear(dir);
  mkdirSync(temp, { recursive: true });
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(temp, 'key.pem'), '-out', join(temp, 'cert.pem')],
    { stdio: 'ignore', timeout: 30_000 },
  );
  publish(temp, dir);
  return dir;
}

function launcherScript(bundle: string, program: string, tlsDir: string): string {
  return [
    '#!/bin/sh',
    '# Fake Terraform provider for the test suite (test/support/terraform). Not a real provider.',
    `exec ${shellQuote(process.execPath)} ${shellQuote(bundle)} --provider ${program} --root ${shellQuote(REPO_ROOT)} --tls-dir ${shellQuote(tlsDir)} "$@"`,
    '',
  ].join('\n');
}

function cliConfig(mirrorDir: string): string {
  const sources = FAKE_PROVIDERS.map((p) => JSON.stringify(`${p.hostname}/${p.namespace}/${p.type}`)).join(', ');
  return `disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirrorDir)}
    include = [${sources}]
  }
  direct {
    exclude = [${sources}]
  }
}
`;
}

async function buildInstall(dir: string, tlsDir: string): Promise<void> {
  const temp = tempNear(dir);
  mkdirSync(temp, { recursive: true });
  try {
    await bundleProvider(join(temp, 'provider.mjs'));
    cpSync(PROTO_DIR, join(temp, 'proto'), { recursive: true });
    for (const p of FAKE_PROVIDERS) {
      const packageDir = join(temp, 'mirror', p.hostname, p.namespace, p.type, p.version, terraformPlatform());
      mkdirSync(packageDir, { recursive: true });
      const launcher = join(packageDir, `terraform-provider-${p.type}_v${p.version}`);
      writeFileSync(launcher, launcherScript(join(dir, 'provider.mjs'), p.program, tlsDir));
      chmodSync(launcher, 0o755);
    }
    writeFileSync(join(temp, 'terraformrc'), cliConfig(join(dir, 'mirror')));
    writeFileSync(join(temp, 'ready'), new Date().toISOString());
  } catch (e) {
    rmSync(temp, { recursive: true, force: true });
    throw e;
  }
  publish(temp, dir);
}

/** Builds of older sources, left by earlier runs: removed once they are an hour old (no worker of this run uses them). */
function pruneOldBuilds(current: string): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const entry of readdirSync(CACHE_ROOT, { withFileTypes: true })) {
    const path = join(CACHE_ROOT, entry.name);
    if (!entry.isDirectory() || entry.name === 'tls' || path === current) continue;
    if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true });
  }
}

let installing: Promise<FakeProviderInstall> | undefined;

/** Builds (once per source version) and returns the fake provider install. Idempotent and safe across workers. */
export function installFakeProviders(): Promise<FakeProviderInstall> {
  installing ??= (async () => {
    mkdirSync(CACHE_ROOT, { recursive: true });
    const tlsDir = ensureTls();
    const dir = join(CACHE_ROOT, providerSourceHash());
    if (!existsSync(join(dir, 'ready'))) {
      await buildInstall(dir, tlsDir);
      pruneOldBuilds(dir);
    }
    const cliConfigFile = join(dir, 'terraformrc');
    return {
      dir,
      cliConfigFile,
      mirrorDir: join(dir, 'mirror'),
      bundleFile: join(dir, 'provider.mjs'),
      tlsDir,
      env: { TF_CLI_CONFIG_FILE: cliConfigFile, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_INPUT: '0' },
    };
  })();
  installing.catch(() => (installing = undefined));
  return installing;
}
