import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aspects, TerraformStack, Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import { IsVpc } from '../../.gen/providers/ibm/is-vpc/index.js';
import { IbmProvider } from '../../.gen/providers/ibm/provider/index.js';
import { USER_DATA_LIMIT_BYTES, PATHS } from '../../modules/kmip-cluster/plan-boot.js';
import { parseConfig } from '../../server/config/load.js';
import { buildStacks, RequireTags, type KmipRegionStack } from '../../stacks/kmip-stack.js';
import { PkiError, pkiPaths } from '../../stacks/pki.js';
import type { StacksConfig } from '../../stacks/config.js';
import { loadProviderSchema, mergeProviderSchemas, validateAgainstSchema } from '../support/cdktf-schema.js';
import { BUNDLE_FILE, SAMPLE, SCHEMA_FILE, TIME_SCHEMA_FILE, exampleConfig, substituteReferences } from '../support/cdktf-fixtures.js';
import { parse, resourcesOf, type SynthDoc } from '../support/cdktf.js';

const schema = mergeProviderSchemas({ ibm: loadProviderSchema(SCHEMA_FILE), time: loadProviderSchema(TIME_SCHEMA_FILE, 'registry.terraform.io/hashicorp/time') });
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Synthesized {
  readonly outdir: string;
  readonly stacks: KmipRegionStack[];
  readonly docs: Record<string, SynthDoc>;
  readonly texts: Record<string, string>;
  readonly ms: number;
}

function synthApp(config: StacksConfig): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'kmip-synth-'));
  const started = performance.now();
  const app = new App({ outdir });
  const stacks = buildStacks(app, config);
  app.synth();
  const ms = performance.now() - started;
  const texts: Record<string, string> = {};
  const docs: Record<string, SynthDoc> = {};
  for (const s of stacks) {
    texts[s.stackName] = readFileSync(join(outdir, 'stacks', s.stackName, 'cdk.tf.json'), 'utf8');
    docs[s.stackName] = parse(texts[s.stackName]!);
  }
  return { outdir, stacks, docs, texts, ms };
}

describe('stacks from the example config', () => {
  let example: Synthesized;
  let config: StacksConfig;
  beforeAll(() => {
    config = exampleConfig();
    example = synthApp(config);
  });

  it('synthesizes one stack per environment and region, named kmip-<env>-<region>, offline in well under 30 s', () => {
    expect(example.stacks.map((s) => s.stackName)).toEqual(['kmip-prod-us-south', 'kmip-prod-eu-de', 'kmip-dev-us-east']);
    expect(readdirSync(join(example.outdir, 'stacks')).sort()).toEqual(['kmip-dev-us-east', 'kmip-prod-eu-de', 'kmip-prod-us-south']);
    expect(example.ms).toBeLessThan(30_000);
    console.info(`example config: ${example.stacks.length} stacks synthesized in ${Math.round(example.ms)} ms`);
  });

  it('every synthesized resource and data source fits the IBM provider schema (0 problems)', () => {
    for (const [name, text] of Object.entries(example.texts)) {
      expect(validateAgainstSchema(text, schema), name).toEqual([]);
    }
    const types = new Set(Object.values(example.docs).flatMap((d) => Object.keys(d.resource ?? {})));
    expect([...types].sort()).toEqual(
      expect.arrayContaining(['ibm_cos_bucket', 'ibm_cos_bucket_object', 'ibm_database', 'ibm_iam_trusted_profile', 'ibm_iam_trusted_profile_policy', 'ibm_is_instance', 'ibm_is_lb', 'ibm_is_network_acl', 'ibm_is_subnet_reserved_ip', 'ibm_is_vpc_address_prefix', 'time_sleep', 'ibm_is_security_group_rule', 'ibm_is_subnet', 'ibm_is_vpc', 'ibm_kms_key', 'ibm_kms_key_policies', 'ibm_kms_key_rings', 'ibm_resource_instance', 'ibm_resource_key']),
    );
  });

  it('the schema check finds unknown attributes, wrong types, missing required ones, computed-only ones, block counts and dangling references', () => {
    const doc = JSON.parse(example.texts['kmip-prod-us-south']!) as Record<string, any>;
    const vpc = Object.values(doc['resource']['ibm_is_vpc'])[0] as Record<string, unknown>;
    vpc['colour'] = 'blue';
    vpc['no_sg_acl_rules'] = 'yes';
    vpc['crn'] = 'crn:v1:x';
    delete vpc['name'];
    vpc['dns'] = [{}, {}];
    const instance = Object.values(doc['resource']['ibm_is_instance'])[0] as Record<string, any>;
    instance['image'] = '${data.ibm_is_image.Nope.id}';
    instance['primary_network_interface']['port_speed'] = 1000;
    const problems = validateAgainstSchema(doc, schema);
    const has = (re: RegExp) => expect(problems.some((p) => re.test(p)), `${re}\n${problems.join('\n')}`).toBe(true);
    has(/ibm_is_vpc\.[^.]+\.colour: unknown attribute or block/);
    has(/no_sg_acl_rules: expected bool/);
    has(/\.crn: computed-only attribute must not be set/);
    has(/\.name: required attribute missing/);
    has(/\.dns: 2 blocks, at most 1/);
    has(/reference to data\.ibm_is_image\.Nope/);
    has(/port_speed: deprecated attribute/);
    expect(problems).toHaveLength(7);
  });

  it('is plain Terraform JSON: pinned provider, relative state path and asset files inside the stack folder', () => {
    for (const [name, doc] of Object.entries(example.docs)) {
      expect(doc.terraform).toEqual({
        backend: { local: { path: `../../../terraform.${name}.tfstate` } },
        required_providers: { ibm: { source: 'ibm-cloud/ibm', version: '1.89.0' }, time: { source: 'hashicorp/time', version: '0.13.1' } },
        // what the docs say too: the S3 backend settings used for remote state need 1.6.3
        required_version: '>= 1.6.3',
      });
      for (const object of resourcesOf(doc, 'ibm_cos_bucket_object')) {
        const file = String(object['content_file']);
        expect(file.startsWith('assets/')).toBe(true);
        expect(existsSync(join(example.outdir, 'stacks', name, file)), file).toBe(true);
        expect(String(object['key']).split('/')[0]).toBe(sha256(readFileSync(join(example.outdir, 'stacks', name, file))));
      }
      expect(example.texts[name]).not.toMatch(/\/work\/|\/tmp\//);
    }
  });

  it('outputs what vCenter needs; secrets only in sensitive outputs', () => {
    const doc = example.docs['kmip-prod-us-south']!;
    const out = doc.output!;
    expect(Object.keys(out).sort()).toEqual(
      ['admin_endpoints', 'asset_bucket', 'database_ca_base64', 'database_url', 'key_protect_instance_crn', 'kmip_endpoints', 'kmip_server_ca_pem', 'node_releases', 'root_key_id', 'server_bundle_sha256', 'trusted_profile_id', 'vcenter_key_provider'].sort(),
    );
    expect(out['kmip_endpoints']!.value).toEqual(['10.200.0.4:5696', '10.200.64.4:5696', '10.200.128.4:5696']);
    expect(out['admin_endpoints']!.value).toEqual(['https://10.200.0.4:9696', 'https://10.200.64.4:9696', 'https://10.200.128.4:9696']);
    expect(out['admin_endpoints']!.sensitive).toBeUndefined();
    expect(example.docs['kmip-prod-eu-de']!.output!['admin_endpoints']!.value).toEqual(['https://10.203.0.4:9696', 'https://10.203.64.4:9696']);
    expect(out['kmip_server_ca_pem']!.value).toBe(readFileSync(join(config.pkiDir, 'kmip-prod-us-south', 'ca-cert.pem'), 'utf8'));
    expect(String(out['key_protect_instance_crn']!.value)).toMatch(/^\$\{ibm_resource_instance\.[^.]+\.crn\}$/);
    expect(String(out['root_key_id']!.value)).toMatch(/^\$\{ibm_kms_key\.[^.]+\.key_id\}$/);
    expect(String(out['trusted_profile_id']!.value)).toMatch(/^\$\{ibm_iam_trusted_profile\.[^.]+\.id\}$/);
    expect(out['database_url']!.sensitive).toBe(true);
    expect(out['database_ca_base64']!.sensitive).toBe(true);
    for (const [d, docOf] of Object.entries(example.docs)) {
      for (const [name, o] of Object.entries(docOf.output ?? {})) {
        if (/apikey|credentials|payload|var\./.test(JSON.stringify(o.value))) expect(o.sensitive, `${d}.${name}`).toBe(true);
      }
    }
    const kp = JSON.parse(String(out['vcenter_key_provider']!.value)) as Record<string, any>;
    expect(kp['keyProvider']).toBe('kmip-prod-us-south');
    expect(kp['servers']).toEqual([
      { clusterId: { id: 'kmip-prod-us-south' }, info: { name: 'kmip-prod-us-south-us-south-1', address: '10.200.0.4', port: 5696, protocol: 'KMIP1' } },
      { clusterId: { id: 'kmip-prod-us-south' }, info: { name: 'kmip-prod-us-south-us-south-2', address: '10.200.64.4', port: 5696, protocol: 'KMIP1' } },
      { clusterId: { id: 'kmip-prod-us-south' }, info: { name: 'kmip-prod-us-south-us-south-3', address: '10.200.128.4', port: 5696, protocol: 'KMIP1' } },
    ]);
    expect(kp['serverCertificateAuthorityPem']).toBe(out['kmip_server_ca_pem']!.value);
    expect(example.docs['kmip-prod-eu-de']!.output!['kmip_load_balancer']).toBeDefined();
    expect(example.docs['kmip-prod-eu-de']!.output!['root_key_id']!.value).toBe('3f1c2b4a-5d6e-4f70-8192-a3b4c5d6e7f8');
  });

  it('protects the root key, the Key Protect instance and the database from destroy by default', () => {
    const doc = example.docs['kmip-prod-us-south']!;
    expect(Testing.toHaveResourceWithProperties(example.texts['kmip-prod-us-south']!, 'ibm_kms_key', { lifecycle: { prevent_destroy: true } })).toBe(true);
    const kpInstance = resourcesOf(doc, 'ibm_resource_instance').find((r) => r['service'] === 'kms')!;
    expect(kpInstance['lifecycle']).toEqual({ prevent_destroy: true });
    expect(resourcesOf(doc, 'ibm_database')[0]).toMatchObject({ lifecycle: { prevent_destroy: true }, deletion_protection: true });
    // the asset bucket is not protected: it holds only copies
    expect(resourcesOf(doc, 'ibm_cos_bucket')[0]!['lifecycle']).toBeUndefined();
  });

  it('the teardown flag lifts destroy protection everywhere', () => {
    const torn = synthApp(exampleConfig((i) => ((i as any).environments[0].destroyProtection = false)));
    const doc = torn.docs['kmip-prod-us-south']!;
    for (const type of ['ibm_kms_key', 'ibm_resource_instance', 'ibm_database']) {
      for (const r of resourcesOf(doc, type)) expect(r['lifecycle'], type).toBeUndefined();
    }
    expect(resourcesOf(doc, 'ibm_database')[0]!['deletion_protection']).toBe(false);
    // the imported key's secure-import inputs are used once; Key Protect does not return them
    expect(resourcesOf(torn.docs['kmip-dev-us-east']!, 'ibm_kms_key')[0]!['lifecycle']).toEqual({ prevent_destroy: true, ignore_changes: ['payload', 'encrypted_nonce', 'iv_value'] });
  });

  it('the teardown lifts destroy protection of one stack only, not of the other regions of its environment', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'kmip-unprotect-'));
    const app = new App({ outdir });
    buildStacks(app, config, { unprotect: ['kmip-prod-us-south'] });
    app.synth();
    const doc = (name: string) => parse(readFileSync(join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8'));
    const lifted = doc('kmip-prod-us-south');
    for (const r of resourcesOf(lifted, 'ibm_database')) expect(r['lifecycle']).toBeUndefined();
    for (const r of resourcesOf(lifted, 'ibm_resource_instance').filter((x) => x['service'] !== 'kms')) expect(r['lifecycle']).toBeUndefined();
    expect(resourcesOf(lifted, 'ibm_database')[0]!['deletion_protection']).toBe(false);
    // Key Protect is never destroyed by a teardown (the backup needs the root key): it stays protected, and the
    // teardown takes it out of the state instead
    expect(resourcesOf(lifted, 'ibm_kms_key')[0]!['lifecycle']).toEqual({ prevent_destroy: true });
    expect(resourcesOf(lifted, 'ibm_resource_instance').find((x) => x['service'] === 'kms')!['lifecycle']).toEqual({ prevent_destroy: true });
    // same environment, another region: still protected
    expect(resourcesOf(doc('kmip-prod-eu-de'), 'ibm_database')[0]).toMatchObject({ lifecycle: { prevent_destroy: true }, deletion_protection: true });
    expect(readFileSync(join(outdir, 'stacks', 'kmip-prod-eu-de', 'cdk.tf.json'), 'utf8')).toBe(example.texts['kmip-prod-eu-de']);
    expect(readFileSync(join(outdir, 'stacks', 'kmip-dev-us-east', 'cdk.tf.json'), 'utf8')).toBe(example.texts['kmip-dev-us-east']);
  });

  it('imported root key material arrives through a sensitive variable, never a literal', () => {
    const doc = example.docs['kmip-dev-us-east']!;
    expect(doc.variable?.['root_key_material']).toMatchObject({ sensitive: true, type: 'string' });
    expect(resourcesOf(doc, 'ibm_kms_key')[0]!['payload']).toBe('${var.root_key_material}');
    // secure import: the nonce encrypted with the material, and its IV, come the same way
    expect(doc.variable?.['root_key_encrypted_nonce']).toMatchObject({ sensitive: true, type: 'string' });
    expect(doc.variable?.['root_key_iv']).toMatchObject({ sensitive: true, type: 'string' });
    expect(resourcesOf(doc, 'ibm_kms_key')[0]).toMatchObject({ encrypted_nonce: '${var.root_key_encrypted_nonce}', iv_value: '${var.root_key_iv}' });
  });

  it('user data: only known references, under 64 KiB once filled in, and it boots a config the server accepts', async () => {
    const bundleSha = sha256(readFileSync(BUNDLE_FILE));
    for (const [name, doc] of Object.entries(example.docs)) {
      const stack = example.stacks.find((s) => s.stackName === name)!;
      const caFile = stack.pki.caCertFile; // stands in for the database CA the node writes to PATHS.dbCa
      const instances = resourcesOf(doc, 'ibm_is_instance');
      expect(instances).toHaveLength(stack.plan.zoneNames.length);
      for (const instance of instances) {
        const raw = String(instance['user_data']);
        const filled = substituteReferences(raw, stack.pki.caCertPem);
        expect(Buffer.byteLength(filled), name).toBeLessThan(USER_DATA_LIMIT_BYTES);
        expect(filled.startsWith('#cloud-config\n')).toBe(true);
        const cloud = JSON.parse(filled.slice('#cloud-config\n'.length)) as { write_files: { path: string; content: string }[] };
        const file = (p: string) => cloud.write_files.find((f) => f.path === p)!.content;
        const server = parseConfig(JSON.parse(file(PATHS.config)), name);
        expect(server.admin.host).toBe(stack.plan.zones[String(instance['zone'])]!.nodeIp);
        expect(server.wrap).toMatchObject({ kind: 'keyprotect', region: stack.plan.region });
        expect(server.store).toMatchObject({ kind: 'postgres', caFile: PATHS.dbCa, url: expect.stringContaining(`@${SAMPLE.database.host}:${SAMPLE.database.port}/ibmclouddb?sslmode=verify-full&sslrootcert=${encodeURIComponent(PATHS.dbCa)}`) });
        // node-postgres keeps the CA only when the URL names it (it drops ssl options given beside a URL with sslmode)
        const pg = (await import('pg')).default;
        const client = new pg.Client({ connectionString: (server.store as { url: string }).url.replace(encodeURIComponent(PATHS.dbCa), encodeURIComponent(caFile)) });
        expect((client as unknown as { connectionParameters: { ssl: { ca?: string } } }).connectionParameters.ssl.ca).toBe(stack.pki.caCertPem);
        const manifest = JSON.parse(file(PATHS.manifest)) as { bucket: string; assets: { key: string; sha256: string; path: string }[] };
        expect(manifest.assets.find((a) => a.path === PATHS.bundle)!.sha256).toBe(bundleSha);
        expect(manifest.bucket).toBe(doc.output!['asset_bucket']!.value);
        expect(filled).not.toMatch(/apikey/i);
      }
      expect(doc.output!['server_bundle_sha256']!.value).toBe(bundleSha);
    }
    // the existing-key stack pins the literal ids
    const euDe = String(resourcesOf(example.docs['kmip-prod-eu-de']!, 'ibm_is_instance')[0]!['user_data']);
    expect(euDe).toContain('\\"instanceId\\": \\"6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a\\"');
  });

  it('every node serves the admin port over HTTPS with its own certificate (naming its address) and trusts the shipped admin CA, whose key never ships', () => {
    for (const [name, doc] of Object.entries(example.docs)) {
      const stack = example.stacks.find((s) => s.stackName === name)!;
      const p = pkiPaths(config.pkiDir, name);
      const adminCaSha = sha256(readFileSync(p.adminCaCert));
      for (const instance of resourcesOf(doc, 'ibm_is_instance')) {
        const zone = String(instance['zone']);
        const ip = stack.plan.zones[zone]!.nodeIp;
        const cloud = JSON.parse(substituteReferences(String(instance['user_data']), stack.pki.caCertPem).slice('#cloud-config\n'.length)) as { write_files: { path: string; content: string }[] };
        const file = (path: string) => cloud.write_files.find((f) => f.path === path)!.content;
        const server = parseConfig(JSON.parse(file(PATHS.config)), name);
        expect(server.admin, name).toEqual({ enabled: true, host: ip, port: 9696, requestTimeoutMs: 30_000, tls: { certFile: PATHS.cert, keyFile: PATHS.key, clientCaFile: PATHS.adminCa } });
        const assets = (JSON.parse(file(PATHS.manifest)) as { assets: { sha256: string; path: string; mode: string }[] }).assets;
        const at = (path: string) => assets.find((a) => a.path === path)!;
        expect(at(PATHS.adminCa)).toMatchObject({ sha256: adminCaSha, mode: '0644' });
        // the certificate the admin port presents is this node's, and it names the address kmipctl dials
        expect(at(PATHS.cert).sha256).toBe(sha256(readFileSync(p.nodeCert(zone))));
        expect(at(PATHS.key).sha256).toBe(sha256(readFileSync(p.nodeKey(zone))));
        expect(new X509Certificate(readFileSync(p.nodeCert(zone))).checkIP(ip), `${name} ${zone}`).toBe(ip);
        expect(doc.output!['admin_endpoints']!.value).toContain(`https://${ip}:9696`);
      }
      // no private key of a CA, nor the operator's, is among the files uploaded to the nodes' bucket
      const secrets = new Set([p.caKey, p.adminCaKey, p.adminClientKey, p.adminClientCert].map((f) => sha256(readFileSync(f))));
      const uploaded = resourcesOf(doc, 'ibm_cos_bucket_object').map((o) => join(example.outdir, 'stacks', name, String(o['content_file'])));
      expect(uploaded.length).toBeGreaterThan(0);
      for (const f of uploaded) expect(secrets.has(sha256(readFileSync(f))), f).toBe(false);
      const assetFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? assetFiles(join(dir, e.name)) : [join(dir, e.name)]));
      for (const f of assetFiles(join(example.outdir, 'stacks', name, 'assets'))) expect(secrets.has(sha256(readFileSync(f))), f).toBe(false);
      expect(uploaded.some((f) => sha256(readFileSync(f)) === adminCaSha)).toBe(true);
    }
  });

  it('the admin port is open to the node subnets and the configured operator networks only; the load balancer health check is HTTPS', () => {
    const rules = resourcesOf(example.docs['kmip-prod-us-south']!, 'ibm_is_security_group_rule');
    expect(rules.filter((r) => r['port_min'] === 9696).map((r) => r['remote']).sort()).toEqual(['10.200.0.0/24', '10.200.128.0/24', '10.200.64.0/24', '10.50.16.0/28']);
    const euDe = resourcesOf(example.docs['kmip-prod-eu-de']!, 'ibm_is_security_group_rule');
    // eu-de has a load balancer: its health checks come from its own security group, which reaches only the nodes' group
    const isGroup = (r: Record<string, unknown>) => String(r['remote']).startsWith('${ibm_is_security_group.');
    expect(euDe.filter((r) => r['port_min'] === 9696 && !isGroup(r)).map((r) => r['remote']).sort()).toEqual(['10.203.0.0/24', '10.203.64.0/24']);
    expect(euDe.filter((r) => r['port_min'] === 9696 && isGroup(r)).map((r) => r['direction']).sort()).toEqual(['inbound', 'outbound']);
    expect(resourcesOf(example.docs['kmip-prod-eu-de']!, 'ibm_is_lb_pool')[0]).toMatchObject({ health_type: 'https', health_monitor_port: 9696, health_monitor_url: '/readyz' });
  });

  it('KMIP is reachable only from the configured vCenter/ESXi networks; SSH stays closed', () => {
    const doc = example.docs['kmip-prod-us-south']!;
    const rules = resourcesOf(doc, 'ibm_is_security_group_rule');
    expect(rules.filter((r) => r['port_min'] === 5696).map((r) => r['remote']).sort()).toEqual(['10.50.0.0/24', '10.50.8.0/22']);
    expect(rules.filter((r) => r['port_min'] === 22)).toEqual([]);
    for (const i of resourcesOf(doc, 'ibm_is_instance')) expect(i['keys']).toEqual([]);
  });

  it('every taggable resource carries the stack tags, and the tag check catches one that does not', () => {
    for (const r of resourcesOf(example.docs['kmip-prod-us-south']!, 'ibm_is_instance')) expect(r['tags']).toEqual(expect.arrayContaining(['kmip-env:prod', 'kmip-stack:kmip-prod-us-south', 'env:prod']));
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'kmip-tags-')) });
    const stack = new TerraformStack(app, 'untagged');
    new IbmProvider(stack, 'ibm', { region: 'us-south' });
    new IsVpc(stack, 'Vpc', { name: 'v' });
    new IsVpc(stack, 'Tagged', { name: 't', tags: ['kmip-env:test'] });
    Aspects.of(stack).add(new RequireTags(['kmip-env:test']));
    let message = '';
    try {
      app.synth();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/\[untagged\/Vpc\] ibm_is_vpc lacks tags: kmip-env:test/);
    expect(message).not.toMatch(/untagged\/Tagged/);
  });
});

describe('stack inputs that cannot work', () => {
  it('a node certificate that does not name the node address stops the synth with the reason and the fix', () => {
    const config = exampleConfig((i) => ((i as any).environments[0].regions[0].network = { hostIndex: 9 }));
    let error: unknown;
    try {
      buildStacks(Testing.app(), config, { only: ['kmip-prod-us-south'] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PkiError);
    expect((error as PkiError).problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/us-south-1-cert\.pem does not name 10\.200\.0\.9, the address of the us-south-1 node/), expect.stringMatching(/us-south-3-cert\.pem does not name 10\.200\.128\.9/)]),
    );
    expect((error as Error).message).toMatch(/npm run pki -- --config <config file> --stack kmip-prod-us-south/);
  });

  it('a COS remote-state backend is written as an S3 backend with IBM endpoints', () => {
    const config = exampleConfig((i) => ((i as any).backend = { kind: 'cos', bucket: 'acme-tfstate', region: 'us-south' }));
    const [stack] = buildStacks(Testing.app(), config, { only: ['kmip-prod-eu-de'] });
    const doc = JSON.parse(Testing.synth(stack!)) as { terraform: { backend: Record<string, unknown> } };
    expect(doc.terraform.backend['s3']).toMatchObject({
      bucket: 'acme-tfstate',
      key: 'kmip-for-vmware/kmip-prod-eu-de.tfstate',
      endpoints: { s3: 'https://s3.us-south.cloud-object-storage.appdomain.cloud' },
      skip_credentials_validation: true,
      use_path_style: true,
    });
    expect(doc.terraform.backend['local']).toBeUndefined();
  });
});
