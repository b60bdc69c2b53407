/**
 * Shared fixtures of the infrastructure tests: the example config with its TLS material issued into a
 * temporary folder (once per test file), the built server bundle, and sample values for the token
 * references Terraform fills in at apply time (resolved through the boot test's one table of references).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planSubnets } from '../../modules/network/plan-subnets.js';
import { stackName } from '../../modules/shared/plan-names.js';
import { issueStackPki } from '../../scripts/pki.js';
import { parseStacksConfig, type StacksConfig, type StacksConfigInput } from '../../stacks/config.js';
import { resolveReferences, type ApplyTimeValues } from './boot/node-seed.js';

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

let sharedPkiDir: string | undefined;

/**
 * Issues TLS material for every stack of `config` into `dir`, or else into one temporary folder shared by the
 * whole process (made once, never removed by a test: others in the process may still read it).
 */
export function pkiFor(config: StacksConfig, dir?: string): string {
  const pkiDir = dir ?? (sharedPkiDir ??= mkdtempSync(join(tmpdir(), 'kmip-pki-test-')));
  for (const env of config.environments) {
    for (const r of env.regions) {
      const plan = planSubnets({ region: r.region, zones: r.zones, subnetPrefixLength: r.network.subnetPrefixLength, subnetIndex: r.network.subnetIndex, hostIndex: r.network.hostIndex, ...(r.network.zonePrefixes ? { zonePrefixes: r.network.zonePrefixes } : {}) });
      issueStackPki({ pkiDir, stack: stackName(env.name, r.region), nodes: plan.zoneNames.map((z) => ({ zone: z, ip: plan.zones[z]!.nodeIp })) });
    }
  }
  return pkiDir;
}

/** The example config (optionally changed), pointing at the built bundle and a temporary PKI (`pkiDir`, else the shared one). */
export function exampleConfig(change: (input: StacksConfigInput) => void = () => {}, pkiDir?: string): StacksConfig {
  const input = exampleInput();
  change(input);
  const parsed = parseStacksConfig({ ...input, serverBundle: requireBundle(), pkiDir: 'unused' });
  return { ...parsed, pkiDir: pkiFor(parsed, pkiDir) };
}

/** Realistic values for what Terraform fills in at apply time (the database CA aside: each test has its own). */
export const SAMPLE: Omit<ApplyTimeValues, 'database'> & { readonly database: Omit<ApplyTimeValues['database'], 'caPem'> } = Object.freeze({
  keyProtectInstanceId: '6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a',
  rootKeyId: '12345678-90ab-4cde-8f01-234567890abc',
  trustedProfileId: 'Profile-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
  database: Object.freeze({
    user: 'ibm_cloud_5e5a2b1c_4d3e_4f2a_9b8c_7d6e5f4a3b2c',
    password: 'c2VjcmV0LXBhc3N3b3JkLTEyMzQ1Njc4OTAxMjM0NTY3ODkw',
    host: '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.c7e0lq3d0hi8b8fq6pbg.private.databases.appdomain.cloud',
    port: 31864,
    name: 'ibmclouddb',
  }),
});

/**
 * Replaces each Terraform reference `${…}` of a synthesized string with the SAMPLE value of what it names,
 * through the boot test's table (node-seed.ts REFERENCES), so both tests know the same references; throws on
 * one it does not know (so a new, unexpected input to the user data shows up).
 */
export function substituteReferences(text: string, caPem: string): string {
  return resolveReferences(text, { ...SAMPLE, database: { ...SAMPLE.database, caPem } });
}
