/**
 * What a booted node is given, taken from the synthesized stack and nothing else: each instance's `user_data`
 * exactly as cdk.tf.json hands it to Terraform, with every Terraform reference resolved from one table (the
 * values the cloud would fill in: here the local fakes' ids and the test database), and the two IBM endpoints
 * that cannot be reached from this machine pointed at their loopback stand-ins. The assets the node fetches
 * are the stack's own bucket objects (their content files in the synthesized folder), under the bucket name
 * the stack creates. A reference or literal this table does not know fails loudly: the user data grew a new
 * input that the boot test must learn about.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, cosDirectEndpoint } from '../../../modules/kmip-cluster/plan-boot.js';

/** The values Terraform would fill in at apply time. */
export interface ApplyTimeValues {
  readonly trustedProfileId: string;
  readonly keyProtectInstanceId: string;
  readonly rootKeyId: string;
  readonly database: { readonly user: string; readonly password: string; readonly host: string; readonly port: number; readonly name: string; readonly caPem: string };
}

/** Where the node reaches the services it would reach inside IBM Cloud. */
export interface LocalEndpoints {
  /** Key Protect (the server's wrap.endpoint). */
  readonly keyProtect: string;
  /** Cloud Object Storage's direct endpoint (the asset manifest's endpoint). */
  readonly objectStorage: string;
}

interface Reference {
  readonly pattern: RegExp;
  readonly value: (v: ApplyTimeValues) => string;
}

/**
 * Every reference the user data may hold, and what resolves it: the one table, also behind the stacks test's
 * sample values (substituteReferences in cdktf-fixtures.ts).
 */
const REFERENCES: readonly Reference[] = [
  { pattern: /^ibm_iam_trusted_profile\.[\w-]+\.id$/, value: (v) => v.trustedProfileId },
  { pattern: /^urlencode\(ibm_resource_key\.[\w-]+\.credentials\["connection\.postgres\.authentication\.username"\]\)$/, value: (v) => encodeURIComponent(v.database.user) },
  { pattern: /^urlencode\(ibm_resource_key\.[\w-]+\.credentials\["connection\.postgres\.authentication\.password"\]\)$/, value: (v) => encodeURIComponent(v.database.password) },
  { pattern: /^ibm_resource_key\.[\w-]+\.credentials\["connection\.postgres\.hosts\.0\.hostname"\]$/, value: (v) => v.database.host },
  { pattern: /^ibm_resource_key\.[\w-]+\.credentials\["connection\.postgres\.hosts\.0\.port"\]$/, value: (v) => String(v.database.port) },
  { pattern: /^ibm_resource_key\.[\w-]+\.credentials\["connection\.postgres\.database"\]$/, value: (v) => v.database.name },
  { pattern: /^ibm_resource_key\.[\w-]+\.credentials\["connection\.postgres\.certificate\.certificate_base64"\]$/, value: (v) => Buffer.from(v.database.caPem).toString('base64') },
  { pattern: /^ibm_resource_instance\.[\w-]+\.guid$/, value: (v) => v.keyProtectInstanceId },
  { pattern: /^ibm_kms_key\.[\w-]+\.key_id$/, value: (v) => v.rootKeyId },
];

/** The literal IBM endpoints in the node's files, and their stand-ins (the node has no route to IBM Cloud). */
const ENDPOINTS: ReadonlyArray<{ readonly file: string; readonly field: readonly string[]; readonly expect: (region: string) => string; readonly local: (e: LocalEndpoints) => string }> = [
  { file: PATHS.config, field: ['wrap', 'endpoint'], expect: () => 'private', local: (e) => e.keyProtect },
  { file: PATHS.manifest, field: ['endpoint'], expect: (region) => cosDirectEndpoint(region), local: (e) => e.objectStorage },
];

export interface SynthesizedNode {
  /** The zone, e.g. us-east-1. */
  readonly zone: string;
  /** Its VPC address (the reserved IP the instance takes). */
  readonly ip: string;
  /** The user data exactly as synthesized (Terraform references unresolved). */
  readonly userData: string;
}

export interface SynthesizedAsset {
  readonly key: string;
  readonly bytes: Buffer;
}

export interface SynthesizedStack {
  readonly name: string;
  readonly region: string;
  readonly bucket: string;
  readonly nodes: readonly SynthesizedNode[];
  readonly assets: readonly SynthesizedAsset[];
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;

/** Reads one synthesized stack folder (cdk.tf.json and its assets). */
export function readSynthesizedStack(stackDir: string, name: string): SynthesizedStack {
  const doc = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as { resource: Resources };
  const r = doc.resource;
  const buckets = Object.values(r['ibm_cos_bucket'] ?? {});
  if (buckets.length !== 1) throw new Error(`${name}: expected one asset bucket, found ${buckets.length}`);
  const bucket = buckets[0]!;
  const reservedIps = r['ibm_is_subnet_reserved_ip'] ?? {};
  const nodes = Object.values(r['ibm_is_instance'] ?? {}).map((inst) => {
    const ref = String((inst['primary_network_interface'] as { primary_ip?: { reserved_ip?: string } } | undefined)?.primary_ip?.reserved_ip ?? '');
    const id = /^\$\{ibm_is_subnet_reserved_ip\.([\w-]+)\.reserved_ip\}$/.exec(ref)?.[1];
    const address = id ? reservedIps[id]?.['address'] : undefined;
    if (typeof address !== 'string') throw new Error(`${name}: instance in ${String(inst['zone'])} has no reserved address (${ref})`);
    return { zone: String(inst['zone']), ip: address, userData: String(inst['user_data']) };
  });
  const assets = Object.values(r['ibm_cos_bucket_object'] ?? {}).map((o) => ({ key: String(o['key']), bytes: readFileSync(join(stackDir, String(o['content_file']))) }));
  return { name, region: String(bucket['region_location']), bucket: String(bucket['bucket_name']), nodes: nodes.sort((a, b) => a.zone.localeCompare(b.zone)), assets };
}

/** Resolves every `${…}` reference of the synthesized user data as Terraform would, from the table; throws on one it does not know. */
export function resolveReferences(userData: string, values: ApplyTimeValues): string {
  return userData.replace(/\$\{([^}]*)\}/g, (whole, expr: string) => {
    const ref = REFERENCES.find((r) => r.pattern.test(expr));
    if (!ref) throw new Error(`unknown Terraform reference ${whole} in the user data: add it to REFERENCES in test/support/boot/node-seed.ts`);
    return ref.value(values);
  });
}

interface CloudConfig {
  write_files: Array<{ path: string; content: string; encoding?: string }>;
  [key: string]: unknown;
}

/** The node's user data with references resolved and the IBM endpoints replaced; every other byte as synthesized. */
export function nodeUserData(stack: SynthesizedStack, node: SynthesizedNode, values: ApplyTimeValues, endpoints: LocalEndpoints): string {
  const resolved = resolveReferences(node.userData, values);
  const header = '#cloud-config\n';
  if (!resolved.startsWith(header)) throw new Error(`${node.zone}: user data does not start with ${JSON.stringify(header)}`);
  const doc = JSON.parse(resolved.slice(header.length)) as CloudConfig;
  for (const e of ENDPOINTS) {
    const file = doc.write_files.find((f) => f.path === e.file);
    if (!file) throw new Error(`${node.zone}: user data writes no ${e.file}`);
    const json = JSON.parse(file.content) as Record<string, unknown>;
    let holder = json;
    for (const k of e.field.slice(0, -1)) holder = holder[k] as Record<string, unknown>;
    const last = e.field.at(-1)!;
    if (holder[last] !== e.expect(stack.region)) throw new Error(`${node.zone}: ${e.file} ${e.field.join('.')} is ${JSON.stringify(holder[last])}, not ${JSON.stringify(e.expect(stack.region))}`);
    holder[last] = e.local(endpoints);
    file.content = `${JSON.stringify(json, null, 2)}\n`;
  }
  return `${header}${JSON.stringify(doc, null, 1)}\n`;
}
