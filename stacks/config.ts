/**
 * The stacks' configuration file: one per repository, several environments, each in one or more regions.
 * Every problem is reported at once with its path ("environments[0].regions[1].zones: …"); defaults are the
 * safe choice (destroy protection on, Reader role on the root key only, SSH closed, private endpoints).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KEY_PROTECT_ROLES, POLICY_SCOPES } from '../modules/identity/service-identity.js';
import { keyProtectInstanceGuid } from '../modules/key-protect/plan-crn.js';
import { cidrsOverlap, parseCidr, planSubnets } from '../modules/network/plan-subnets.js';
import { normalizeTags, stackName } from '../modules/shared/plan-names.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const cidr = z.string().superRefine((value, ctx) => {
  try {
    const c = parseCidr(value);
    if (c.prefixLength === 0) ctx.addIssue({ code: 'custom', message: `${value} would open the port to every address` });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** A CIDR its own field accepts (bad ones are reported there, once). */
function validCidr(value: string): boolean {
  try {
    return parseCidr(value).prefixLength > 0;
  } catch {
    return false;
  }
}

const tags = z.array(z.string().regex(/^[A-Za-z0-9 _.:-]{1,128}$/, 'tags are letters, digits, space, _ . - : (at most 128)')).default([]);

/**
 * The operating system of the stock image the nodes boot, as IBM names it (`os` of an image). Debian 13
 * packages Node.js 20.19 (the server needs 20.18+); Ubuntu 24.04 and Debian 12 package Node 18.
 */
export const DEFAULT_IMAGE_OS = 'debian-13-amd64';

const keyName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9 _.-]{1,89}$/, 'a key name: 2-90 letters, digits, space, _ . - (no personal data)');

const KeyProtectSchema = z
  .object({
    instance: z.union([
      z
        .object({
          create: z.literal(true),
          plan: z.enum(['tiered-pricing', 'cross-region-resiliency']).default('tiered-pricing'),
          allowedNetwork: z.enum(['public-and-private', 'private-only']).default('public-and-private'),
        })
        .strict(),
      z.object({ existingCrn: z.string().startsWith('crn:v1:', 'a CRN starts with crn:v1:') }).strict(),
    ]),
    /** Endpoint Terraform uses to manage keys; "private" needs a deployer inside IBM Cloud's private network. */
    managementEndpoint: z.enum(['public', 'private']).default('public'),
    keyRing: z
      .object({ id: z.string().regex(/^[a-zA-Z0-9-]{2,100}$/, 'letters, digits and dashes (2-100)'), create: z.boolean().default(true) })
      .strict()
      .optional(),
    rootKey: z.discriminatedUnion('source', [
      z.object({ source: z.literal('generate'), name: keyName }).strict(),
      z
        .object({
          source: z.literal('import'),
          name: keyName,
          /**
           * Terraform variables (sensitive) that carry the secure-import values at apply time (TF_VAR_<name>):
           * the material wrapped under a Key Protect import token, the encrypted nonce and its IV, as
           * `kmipctl keyprotect import-prepare` writes them. The plaintext material never reaches Terraform.
           */
          materialVariable: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/).default('root_key_material'),
          encryptedNonceVariable: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/).default('root_key_encrypted_nonce'),
          ivVariable: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/).default('root_key_iv'),
        })
        .strict(),
      z.object({ source: z.literal('existing'), id: z.string().regex(UUID, 'a Key Protect key id (UUID)') }).strict(),
    ]),
    rotationMonths: z.number().int().min(1).max(12).optional(),
    dualAuthDelete: z.boolean().optional(),
  })
  .strict();

const RegionSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}-[a-z]+$/, 'a region such as us-south'),
    /** Name of the resource group everything goes in. */
    resourceGroup: z.string().min(1).default('Default'),
    zones: z.array(z.number().int().min(1).max(3)).min(2, 'at least 2 zones: vCenter needs a second server to fail over to').max(3).default([1, 2, 3]),
    /** vCenter and ESXi networks: the only sources that reach KMIP (5696). */
    kmipClientCidrs: z.array(cidr).min(1, 'name the vCenter/ESXi networks that may reach KMIP'),
    /**
     * Operator networks that may reach the admin port (9696, HTTPS): kmipctl with the stack's admin client
     * certificate. The cluster's own subnets always may (load balancer health checks). Default: none.
     */
    operatorNetworks: z.array(cidr).default([]),
    /** Replaced by operatorNetworks (kept only to say so instead of "unrecognized key"). */
    adminCidrs: z.array(z.unknown()).optional(),
    ssh: z
      .object({ keyIds: z.array(z.string().min(1)).default([]), allowedCidrs: z.array(cidr).default([]) })
      .strict()
      .default({ keyIds: [], allowedCidrs: [] }),
    network: z
      .object({
        subnetPrefixLength: z.number().int().min(16).max(29).default(24),
        subnetIndex: z.number().int().min(0).default(0),
        hostIndex: z.number().int().min(4).default(4),
        zonePrefixes: z.record(z.string(), cidr).optional(),
        /**
         * Virtual private endpoint gateways for Key Protect, Object Storage and the database inside the VPC.
         * Off by default: the nodes already reach those services privately over IBM's service network.
         */
        privateEndpoints: z.boolean().default(false),
      })
      .strict()
      .default({ subnetPrefixLength: 24, subnetIndex: 0, hostIndex: 4, privateEndpoints: false }),
    /**
     * Context-based restrictions on the service instances the stack owns (Key Protect, database, Object
     * Storage): only the VPC, the deployer networks and the operator networks. "report" (default) logs calls
     * from elsewhere without refusing them; "enabled" refuses them (needs deployerNetworks); "off" creates none.
     */
    contextRestrictions: z
      .object({ enforcement: z.enum(['report', 'enabled', 'off']).default('report'), deployerNetworks: z.array(cidr).default([]) })
      .strict()
      .default({ enforcement: 'report', deployerNetworks: [] }),
    keyProtect: KeyProtectSchema,
    identity: z
      .object({ keyProtectRole: z.enum(KEY_PROTECT_ROLES).default('Reader'), policyScope: z.enum(POLICY_SCOPES).default('key') })
      .strict()
      .default({ keyProtectRole: 'Reader', policyScope: 'key' }),
    instance: z
      .object({
        profile: z.string().regex(/^[a-z0-9]+-[0-9]+x[0-9]+$/, 'a VPC instance profile such as bx2-2x8').default('bx2-2x8'),
        /** The region's public stock image of this operating system, available ones first (resolved at plan time). */
        imageOs: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'an IBM operating system name such as debian-13-amd64').default(DEFAULT_IMAGE_OS),
        /** Pins one image by name instead (IBM deprecates stock image names by point release: prefer imageOs). */
        image: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'an image name').optional(),
        bootVolumeGb: z.number().int().min(100).max(250).default(100),
      })
      .strict()
      .default({ profile: 'bx2-2x8', imageOs: DEFAULT_IMAGE_OS, bootVolumeGb: 100 }),
    database: z
      .object({
        plan: z.enum(['standard', 'enterprise']).default('standard'),
        version: z.string().regex(/^(1[3-9]|2[0-9])$/, 'a PostgreSQL major version').default('16'),
        memoryMb: z.number().int().min(1024).default(4096),
        diskMb: z.number().int().min(5120).default(10240),
        cpuCount: z.number().int().min(0).max(64).default(0),
        encryptWithRootKey: z.boolean().default(true),
      })
      .strict()
      .default({ plan: 'standard', version: '16', memoryMb: 4096, diskMb: 10240, cpuCount: 0, encryptWithRootKey: true }),
    assets: z
      .object({
        existingCosInstanceCrn: z.string().startsWith('crn:v1:').optional(),
        encryptWithRootKey: z.boolean().default(true),
      })
      .strict()
      .default({ encryptWithRootKey: true }),
    loadBalancer: z.object({ enabled: z.boolean().default(false) }).strict().default({ enabled: false }),
    server: z
      .object({
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        keyProtectCacheSeconds: z.number().int().min(0).max(3600).default(60),
        identityCacheSeconds: z.number().min(0).max(300).default(2),
        databasePoolSize: z.number().int().min(1).max(200).default(10),
        maxConnections: z.number().int().min(1).max(100_000).default(2048),
      })
      .strict()
      .default({ logLevel: 'info', keyProtectCacheSeconds: 60, identityCacheSeconds: 2, databasePoolSize: 10, maxConnections: 2048 }),
    tags,
  })
  .strict();

const EnvironmentSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9]{0,11}$/, '1-12 lower-case letters and digits, starting with a letter'),
    /**
     * Terraform `prevent_destroy` on the root key, the Key Protect instance and the database (and the
     * database's own deletion protection). Leave it on: `npm run teardown -- <stack>` lifts it for that one
     * stack (never for the whole environment, never in this file) after proving on every node that no key
     * is in use and taking a verified backup.
     */
    destroyProtection: z.boolean().default(true),
    tags,
    regions: z.array(RegionSchema).min(1),
  })
  .strict();

const BackendSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }).strict(),
  z
    .object({
      /** IBM Cloud Object Storage through Terraform's S3 backend (HMAC credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). */
      kind: z.literal('cos'),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'a bucket name'),
      region: z.string().regex(/^[a-z]{2}-[a-z]+$/, 'the bucket region, e.g. us-south'),
      keyPrefix: z.string().regex(/^[a-zA-Z0-9_.\/-]{1,200}$/).default('kmip-for-vmware'),
      /** @default https://s3.<region>.cloud-object-storage.appdomain.cloud (use s3.direct.… from inside IBM Cloud) */
      endpoint: z.string().url().optional(),
    })
    .strict(),
]);

export const StacksConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** The built server bundle (npm run bundle:server). Relative paths are relative to the project root. */
    serverBundle: z.string().min(1).default('dist/kmip-server.mjs'),
    /** TLS material per stack (npm run pki); keep it out of git, the CA key offline. */
    pkiDir: z.string().min(1).default('.kmip-pki'),
    backend: BackendSchema.default({ kind: 'local' }),
    tags,
    environments: z.array(EnvironmentSchema).min(1),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    /** Zone prefixes of every stack so far: VPCs joined by a Transit Gateway must not overlap. */
    const prefixesSeen: { stack: string; zone: string; prefix: string }[] = [];
    const seenEnv = new Map<string, number>();
    const seenStack = new Map<string, string>();
    cfg.environments.forEach((env, e) => {
      if (seenEnv.has(env.name)) issue(['environments', e, 'name'], `environment ${env.name} is already defined at environments[${seenEnv.get(env.name)}]`);
      seenEnv.set(env.name, e);
      env.regions.forEach((r, i) => {
        const at = (...rest: (string | number)[]) => ['environments', e, 'regions', i, ...rest];
        const name = stackName(env.name, r.region);
        if (seenStack.has(name)) issue(at('region'), `stack ${name} is already defined at ${seenStack.get(name)}`);
        seenStack.set(name, `environments[${e}].regions[${i}]`);
        if (name.length > 40) issue(at('region'), `stack name ${name} is longer than 40 characters (resource names are built from it)`);
        try {
          normalizeTags([...cfg.tags, ...env.tags, ...r.tags]);
        } catch (err) {
          issue(at('tags'), (err as Error).message);
        }
        try {
          const plan = planSubnets({ region: r.region, zones: r.zones, subnetPrefixLength: r.network.subnetPrefixLength, subnetIndex: r.network.subnetIndex, hostIndex: r.network.hostIndex, ...(r.network.zonePrefixes ? { zonePrefixes: r.network.zonePrefixes } : {}) });
          for (const zone of plan.zoneNames) {
            const prefix = plan.zones[zone]!.zonePrefix;
            for (const other of prefixesSeen) {
              if (cidrsOverlap(prefix, other.prefix)) issue(at('network', 'zonePrefixes'), `${zone} ${prefix} overlaps ${other.stack} ${other.zone} ${other.prefix}: VPCs joined by a Transit Gateway must not overlap; give one of them network.zonePrefixes`);
            }
            for (const [field, list] of [['kmipClientCidrs', r.kmipClientCidrs], ['operatorNetworks', r.operatorNetworks]] as const) {
              for (const c of list) if (validCidr(c) && cidrsOverlap(prefix, c)) issue(at(field), `${c} overlaps the VPC's address prefix ${prefix} of ${zone}: vCenter and operator networks lie outside the VPC; give network.zonePrefixes`);
            }
            prefixesSeen.push({ stack: name, zone, prefix });
          }
        } catch (err) {
          issue(at('network'), (err as Error).message.replace(/^subnet plan for [a-z-]+: /, ''));
        }
        const kp = r.keyProtect;
        if ('existingCrn' in kp.instance) {
          try {
            keyProtectInstanceGuid(kp.instance.existingCrn, r.region);
          } catch (err) {
            issue(at('keyProtect', 'instance', 'existingCrn'), (err as Error).message);
          }
        } else {
          if (kp.rootKey.source === 'existing') issue(at('keyProtect', 'rootKey'), 'an existing root key needs the existing instance it lives in (keyProtect.instance.existingCrn)');
          if (kp.instance.allowedNetwork === 'private-only' && kp.managementEndpoint !== 'private') {
            issue(at('keyProtect', 'managementEndpoint'), 'a private-only instance can only be managed over the private endpoint: set "private" (and run Terraform inside IBM Cloud)');
          }
        }
        if (kp.rootKey.source === 'import' && kp.rotationMonths !== undefined) {
          issue(at('keyProtect', 'rotationMonths'), 'Key Protect rotates only keys it generated; rotate an imported root key by importing new material');
        }
        if (r.identity.policyScope === 'key-ring' && !kp.keyRing) issue(at('identity', 'policyScope'), 'scope "key-ring" needs keyProtect.keyRing');
        if (r.adminCidrs !== undefined) {
          issue(at('adminCidrs'), 'renamed to operatorNetworks: list only the operator networks; the node subnets now always reach the admin port (HTTPS health checks)');
        }
        if (r.contextRestrictions.enforcement === 'enabled' && r.contextRestrictions.deployerNetworks.length === 0) {
          issue(at('contextRestrictions', 'deployerNetworks'), 'enforcing context-based restrictions needs the networks Terraform runs from, or the apply locks Terraform out of the keys it manages');
        }
        if (r.ssh.allowedCidrs.length > 0 && r.ssh.keyIds.length === 0) issue(at('ssh', 'keyIds'), 'SSH is opened (ssh.allowedCidrs) but no key is given');
        if (r.assets.existingCosInstanceCrn && r.assets.existingCosInstanceCrn.split(':')[4] !== 'cloud-object-storage') {
          issue(at('assets', 'existingCosInstanceCrn'), 'not a cloud-object-storage instance CRN');
        }
      });
    });
  });

export type StacksConfig = z.output<typeof StacksConfigSchema>;
export type StacksConfigInput = z.input<typeof StacksConfigSchema>;
export type EnvironmentConfig = StacksConfig['environments'][number];
export type RegionConfig = EnvironmentConfig['regions'][number];

export class StacksConfigError extends Error {
  override readonly name = 'StacksConfigError';
  readonly code = 'STACKS_ERR_CONFIG';
  constructor(
    readonly problems: readonly string[],
    readonly source: string,
  ) {
    super(`${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** "environments.0.regions.1.zones" → "environments[0].regions[1].zones" */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Validates a parsed document; throws StacksConfigError listing every problem. */
export function parseStacksConfig(input: unknown, source = '(inline)'): StacksConfig {
  const result = StacksConfigSchema.safeParse(input);
  if (!result.success) {
    throw new StacksConfigError(
      result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
      source,
    );
  }
  return result.data;
}

export function loadStacksConfig(file: string): StacksConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StacksConfigError([`cannot read: ${(err as Error).message}`], file);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StacksConfigError([`not valid JSON: ${(err as Error).message}`], file);
  }
  return parseStacksConfig(doc, file);
}
