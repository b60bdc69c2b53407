/**
 * Shared fixtures of the infrastructure tests: the example config with its TLS material issued into a
 * temporary folder (once per test file), the built server bundle, and sample values for the token
 * references Terraform fills in at apply time.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planSubnets } from '../../modules/network/plan-subnets.js';
import { stackName } from '../../modules/shared/plan-names.js';
import { issueStackPki } from '../../scripts/pki.js';
import { parseStacksConfig, type StacksConfig, type StacksConfigInput } from '../../stacks/config.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLE_CONFIG_FILE = join(ROOT, 'stacks', 'config', 'example.json');
export const SCHEMA_FILE = join(ROOT, 'scripts', 'schema', 'ibm-provider-schema-1.89.0.json');
export const TIME_SCHEMA_FILE = join(ROOT, 'scripts', 'schema', 'time-provider-schema-0.13.1.json');
export const BUNDLE_FILE = join(ROOT, 'dist', 'kmip-server.mjs');

export function requireBundle(): string {
  if (!existsSync(BUNDLE_FILE)) throw new Error(`${BUNDLE_FILE} is missing: run npm run bundle:server (npm test does)`);
  return BUNDLE_FILE;
}

export function exampleInput(): StacksConfigInput {
  return JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as StacksConfigInput;
}

let pkiDir: string | undefined;

/** Issues TLS material for every stack of `config` into one temporary folder (once per process). */
export function pkiFor(config: StacksConfig): string {
  pkiDir ??= mkdtempSync(join(tmpdir(), 'kmip-pki-test-'));
  for (const env of config.environments) {
    for (const r of env.regions) {
      const plan = planSubnets({ region: r.region, zones: r.zones, subnetPrefixLength: r.network.subnetPrefixLength, subnetIndex: r.network.subnetIndex, hostIndex: r.network.hostIndex, ...(r.network.zonePrefixes ? { zonePrefixes: r.network.zonePrefixes } : {}) });
      issueStackPki({ pkiDir, stack: stackName(env.name, r.region), nodes: plan.zoneNames.map((z) => ({ zone: z, ip: plan.zones[z]!.nodeIp })) });
    }
  }
  return pkiDir;
}

/** The example config (optionally changed), pointing at the built bundle and a temporary PKI. */
export function exampleConfig(change: (input: StacksConfigInput) => void = () => {}): StacksConfig {
  const input = exampleInput();
  change(input);
  const parsed = parseStacksConfig({ ...input, serverBundle: requireBundle(), pkiDir: 'unused' });
  return { ...parsed, pkiDir: pkiFor(parsed) };
}

export const SAMPLE = {
  uuid: '6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a',
  rootKeyId: '12345678-90ab-4cde-8f01-234567890abc',
  trustedProfileId: 'Profile-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
  dbUser: 'ibm_cloud_5e5a2b1c_4d3e_4f2a_9b8c_7d6e5f4a3b2c',
  dbPassword: 'c2VjcmV0LXBhc3N3b3JkLTEyMzQ1Njc4OTAxMjM0NTY3ODkw',
  dbHost: '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.c7e0lq3d0hi8b8fq6pbg.private.databases.appdomain.cloud',
  dbPort: '31864',
  dbName: 'ibmclouddb',
};

/**
 * Replaces each Terraform reference `${…}` of a synthesized string with a realistic value of what it
 * names; throws on a reference it does not know (so a new, unexpected input to the user data shows up).
 */
export function substituteReferences(text: string, caPem: string): string {
  return text.replace(/\$\{([^}]*)\}/g, (whole, expr: string) => {
    if (/^ibm_iam_trusted_profile\.[A-Za-z0-9_-]+\.id$/.test(expr)) return SAMPLE.trustedProfileId;
    if (/^urlencode\(.*authentication\.username"\]\)$/.test(expr)) return encodeURIComponent(SAMPLE.dbUser);
    if (/^urlencode\(.*authentication\.password"\]\)$/.test(expr)) return encodeURIComponent(SAMPLE.dbPassword);
    if (/hosts\.0\.hostname"\]$/.test(expr)) return SAMPLE.dbHost;
    if (/hosts\.0\.port"\]$/.test(expr)) return SAMPLE.dbPort;
    if (/postgres\.database"\]$/.test(expr)) return SAMPLE.dbName;
    if (/certificate_base64"\]$/.test(expr)) return Buffer.from(caPem).toString('base64');
    if (/^ibm_resource_instance\.[A-Za-z0-9_-]+\.guid$/.test(expr)) return SAMPLE.uuid;
    if (/^ibm_kms_key\.[A-Za-z0-9_-]+\.key_id$/.test(expr)) return SAMPLE.rootKeyId;
    throw new Error(`unexpected reference ${whole}`);
  });
}
