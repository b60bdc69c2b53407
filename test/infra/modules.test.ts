import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { IbmProvider } from '../../.gen/providers/ibm/provider/index.js';
import { AssetBucket } from '../../modules/assets/asset-bucket.js';
import { PostgresDatabase } from '../../modules/database/database.js';
import { ServiceIdentity } from '../../modules/identity/service-identity.js';
import { KeyProtect } from '../../modules/key-protect/key-protect.js';
import { keyProtectInstanceGuid, parseCrn } from '../../modules/key-protect/plan-crn.js';
import { KmipCluster } from '../../modules/kmip-cluster/kmip-cluster.js';
import { KmipNetwork } from '../../modules/network/network.js';
import { PrivateEndpoints, serviceEndpointCrns } from '../../modules/network/private-endpoints.js';
import { ContextRestrictions } from '../../modules/restrictions/context-restrictions.js';
import { cidrsOverlap, ibmAutoZonePrefix, planSubnets } from '../../modules/network/plan-subnets.js';
import { ModuleValidationError } from '../../modules/shared/errors.js';
import { resourceName } from '../../modules/shared/plan-names.js';
import { loadProviderSchema, mergeProviderSchemas, validateAgainstSchema } from '../support/cdktf-schema.js';
import { BUNDLE_FILE, SCHEMA_FILE, TIME_SCHEMA_FILE } from '../support/cdktf-fixtures.js';
import { parse, resourcesOf } from '../support/cdktf.js';

const schema = mergeProviderSchemas({ ibm: loadProviderSchema(SCHEMA_FILE), time: loadProviderSchema(TIME_SCHEMA_FILE, 'registry.terraform.io/hashicorp/time') });
const EXISTING_CRN = 'crn:v1:bluemix:public:kms:us-south:a/0123456789abcdef:6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a::';
const KEY_ID = '3f1c2b4a-5d6e-4f70-8192-a3b4c5d6e7f8';

/** Synthesizes `build` in a stack with the IBM provider and checks it against the provider schema. */
function synthWith(build: (scope: Construct) => void): string {
  const out = Testing.synthScope((scope) => {
    new IbmProvider(scope, 'ibm', { region: 'us-south' });
    build(scope);
  });
  expect(validateAgainstSchema(out, schema)).toEqual([]);
  return out;
}

function errorOf(build: (scope: Construct) => void): ModuleValidationError {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  try {
    build(stack);
  } catch (err) {
    if (ModuleValidationError.isModuleValidationError(err)) return err;
    throw err;
  }
  throw new Error('expected a ModuleValidationError');
}

describe('ServiceIdentity', () => {
  it('a trusted profile with platform Viewer and Key Protect Reader on the root key only, Object Reader on the bucket, and no API key', () => {
    const out = synthWith((s) => new ServiceIdentity(s, 'Identity', { name: 'kmip-prod-us-south', keyProtectInstanceGuid: 'guid-1', rootKeyId: KEY_ID, assetBucket: { cosInstanceGuid: 'cos-1', bucketName: 'b1' } }));
    expect(out).toHaveResourceWithProperties('ibm_iam_trusted_profile', { name: 'kmip-prod-us-south' });
    expect(out).toHaveResourceWithProperties('ibm_iam_trusted_profile_policy', { roles: ['Viewer', 'Reader'], resources: { service: 'kms', resource_instance_id: 'guid-1', resource_type: 'key', resource: KEY_ID } });
    expect(out).toHaveResourceWithProperties('ibm_iam_trusted_profile_policy', { roles: ['Object Reader'], resources: { service: 'cloud-object-storage', resource_type: 'bucket', resource: 'b1' } });
    expect(out).not.toHaveResource('ibm_iam_service_api_key');
    expect(out).not.toHaveResource('ibm_iam_service_id');
    expect(out).not.toHaveResourceWithProperties('ibm_iam_trusted_profile_policy', { roles: ['Viewer', 'Writer'] });
    const policies = resourcesOf(parse(out), 'ibm_iam_trusted_profile_policy');
    for (const p of policies) expect(String(p['iam_id'])).toMatch(/^\$\{ibm_iam_trusted_profile\.[^.]+\.iam_id\}$/);
  });

  it('the role and scope are configurable (key ring, instance)', () => {
    const ring = synthWith((s) => new ServiceIdentity(s, 'I', { name: 'kmip-a', keyProtectInstanceGuid: 'g', keyProtectRole: 'Writer', scope: 'key-ring', keyRingId: 'ring-1' }));
    expect(ring).toHaveResourceWithProperties('ibm_iam_trusted_profile_policy', { roles: ['Viewer', 'Writer'], resources: { service: 'kms', attributes: { keyRing: 'ring-1' } } });
    const whole = parse(synthWith((s) => new ServiceIdentity(s, 'I', { name: 'kmip-a', keyProtectInstanceGuid: 'g', scope: 'instance' })));
    expect(resourcesOf(whole, 'ibm_iam_trusted_profile_policy')[0]!['resources']).toEqual({ service: 'kms', resource_instance_id: 'g' });
  });

  it('rejects a key scope without a key and unknown roles, naming the construct path', () => {
    const e = errorOf((s) => new ServiceIdentity(s, 'Identity', { name: 'kmip-a', keyProtectInstanceGuid: 'g' }));
    expect(e.message).toBe('test/Identity: scope "key" needs rootKeyId');
    expect(e.constructPath).toBe('test/Identity');
    expect(errorOf((s) => new ServiceIdentity(s, 'I', { name: 'kmip-a', keyProtectInstanceGuid: 'g', keyProtectRole: 'Administrator' as never, rootKeyId: KEY_ID })).message).toMatch(/keyProtectRole must be one of Reader, ReaderPlus, Writer, Manager, got "Administrator"/);
  });
});

describe('KeyProtect', () => {
  it('new instance: key ring, generated root key, rotation and dual-auth policies, destroy protection by default', () => {
    const out = synthWith((s) =>
      new KeyProtect(s, 'KP', { region: 'us-south', resourceGroupId: 'rg', name: 'kmip-kp', instance: { create: true, allowedNetwork: 'public-and-private' }, keyRing: { id: 'kmip-prod' }, rootKey: { source: 'generate', name: 'crk' }, rotationMonths: 3, dualAuthDelete: true }),
    );
    expect(out).toHaveResourceWithProperties('ibm_resource_instance', { service: 'kms', plan: 'tiered-pricing', location: 'us-south', parameters: { allowed_network: 'public-and-private' }, lifecycle: { prevent_destroy: true } });
    expect(out).toHaveResourceWithProperties('ibm_kms_key_rings', { key_ring_id: 'kmip-prod' });
    expect(out).toHaveResourceWithProperties('ibm_kms_key', { key_name: 'crk', standard_key: false, force_delete: false, lifecycle: { prevent_destroy: true } });
    expect(out).toHaveResourceWithProperties('ibm_kms_key_policies', { rotation: [{ enabled: true, interval_month: 3 }], dual_auth_delete: [{ enabled: true }] });
    const key = resourcesOf(parse(out), 'ibm_kms_key')[0]!;
    expect(String(key['key_ring_id'])).toMatch(/ibm_kms_key_rings\..*\.key_ring_id/);
  });

  it('imported material comes from the given (sensitive) value and existing keys are referenced, not created', () => {
    const imported = synthWith((s) => {
      const v = (id: string) => new TerraformVariable(s, id, { type: 'string', sensitive: true }).stringValue;
      new KeyProtect(s, 'KP', { region: 'us-south', resourceGroupId: 'rg', name: 'kmip-kp', instance: { create: true }, rootKey: { source: 'import', name: 'crk', payload: v('material'), encryptedNonce: v('nonce'), iv: v('iv') } });
    });
    // secure import: the wrapped material, the encrypted nonce and its IV; never plaintext material
    expect(imported).toHaveResourceWithProperties('ibm_kms_key', { payload: '${var.material}', encrypted_nonce: '${var.nonce}', iv_value: '${var.iv}', standard_key: false });
    const existing = parse(synthWith((s) => new KeyProtect(s, 'KP', { region: 'us-south', resourceGroupId: 'rg', name: 'kmip-kp', instance: { existingCrn: EXISTING_CRN }, rootKey: { source: 'existing', id: KEY_ID }, rotationMonths: 6 })));
    expect(resourcesOf(existing, 'ibm_kms_key')).toEqual([]);
    expect(resourcesOf(existing, 'ibm_resource_instance')).toEqual([]);
    expect(resourcesOf(existing, 'ibm_kms_key_policies')[0]).toMatchObject({ instance_id: '6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a', key_id: KEY_ID });
  });

  it('destroy protection can be lifted (teardown flow)', () => {
    const out = parse(synthWith((s) => new KeyProtect(s, 'KP', { region: 'us-south', resourceGroupId: 'rg', name: 'kmip-kp', instance: { create: true }, rootKey: { source: 'generate', name: 'crk' }, preventDestroy: false })));
    expect(resourcesOf(out, 'ibm_kms_key')[0]!['lifecycle']).toBeUndefined();
    expect(resourcesOf(out, 'ibm_resource_instance')[0]!['lifecycle']).toBeUndefined();
  });

  it('rejects impossible combinations with the construct path', () => {
    const base = { region: 'us-south', resourceGroupId: 'rg', name: 'kmip-kp' } as const;
    expect(errorOf((s) => new KeyProtect(s, 'KP', { ...base, instance: { create: true }, rootKey: { source: 'existing', id: KEY_ID } })).message).toMatch(/^test\/KP: an existing root key lives in an existing instance/);
    expect(errorOf((s) => new KeyProtect(s, 'KP', { ...base, instance: { create: true }, rootKey: { source: 'import', name: 'crk', payload: 'x', encryptedNonce: 'n', iv: 'i' }, rotationMonths: 2 })).message).toMatch(/rotates only keys it generated/);
    expect(errorOf((s) => new KeyProtect(s, 'KP', { ...base, instance: { create: true }, rootKey: { source: 'generate', name: 'crk' }, rotationMonths: 13 })).message).toMatch(/rotationMonths must be an integer from 1 to 12, got 13/);
    expect(errorOf((s) => new KeyProtect(s, 'KP', { ...base, instance: { create: true, allowedNetwork: 'private-only' }, rootKey: { source: 'generate', name: 'crk' } })).message).toMatch(/private-only instance can only be managed over the private endpoint/);
    expect(errorOf((s) => new KeyProtect(s, 'KP', { ...base, instance: { existingCrn: EXISTING_CRN.replace('us-south', 'eu-de') }, rootKey: { source: 'existing', id: KEY_ID } })).message).toMatch(/the stack is in "us-south"/);
  });

  it('parses Key Protect CRNs', () => {
    expect(parseCrn(EXISTING_CRN)).toMatchObject({ serviceName: 'kms', location: 'us-south', serviceInstance: '6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a' });
    expect(keyProtectInstanceGuid(EXISTING_CRN, 'us-south')).toBe('6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a');
    expect(() => keyProtectInstanceGuid(EXISTING_CRN.replace(':kms:', ':hs-crypto:'), 'us-south')).toThrow(/not "kms"/);
    expect(() => keyProtectInstanceGuid(`${EXISTING_CRN.slice(0, -2)}:key:${KEY_ID}`, 'us-south')).toThrow(/not the instance itself/);
    expect(() => parseCrn('crn:v1:bluemix')).toThrow(/not a CRN/);
  });
});

describe('KmipNetwork', () => {
  const plan = planSubnets({ region: 'us-south', zones: [1, 2, 3] });
  const props = { name: 'kmip-net', resourceGroupId: 'rg', plan, kmipClientCidrs: ['10.50.0.0/24'], kmipPort: 5696, adminPort: 9696 };

  it('manual address prefixes outside IBM\'s automatic ones, one subnet per zone inside them, each node address reserved', () => {
    const out = synthWith((s) => new KmipNetwork(s, 'Network', props));
    const doc = parse(out);
    expect(out).toHaveResourceWithProperties('ibm_is_vpc', { name: 'kmip-net', address_prefix_management: 'manual', no_sg_acl_rules: true });
    const prefixes = resourcesOf(doc, 'ibm_is_vpc_address_prefix').map((r) => [r['zone'], r['cidr'], r['is_default']]);
    expect(prefixes).toEqual([
      ['us-south-1', '10.200.0.0/18', true],
      ['us-south-2', '10.200.64.0/18', true],
      ['us-south-3', '10.200.128.0/18', true],
    ]);
    // none of them is IBM's automatic prefix of the zone, which every other VPC of the region gets
    for (const [zone, cidr] of prefixes) expect(cidrsOverlap(String(cidr), ibmAutoZonePrefix('us-south', Number(String(zone).slice(-1)))!)).toBe(false);
    const subnets = resourcesOf(doc, 'ibm_is_subnet');
    expect(subnets.map((r) => [r['zone'], r['ipv4_cidr_block']])).toEqual([
      ['us-south-1', '10.200.0.0/24'],
      ['us-south-2', '10.200.64.0/24'],
      ['us-south-3', '10.200.128.0/24'],
    ]);
    for (const sn of subnets) {
      expect((sn['depends_on'] as string[])[0]).toMatch(/^ibm_is_vpc_address_prefix\./);
      expect(String(sn['network_acl'])).toMatch(/^\$\{ibm_is_network_acl\.[^.]+\.id\}$/);
    }
    expect(resourcesOf(doc, 'ibm_is_subnet_reserved_ip').map((r) => [r['address'], r['auto_delete']])).toEqual([
      ['10.200.0.4', false],
      ['10.200.64.4', false],
      ['10.200.128.4', false],
    ]);
  });

  it('KMIP only from the client networks, admin only from inside, SSH closed, egress to IBM service networks with a protocol the provider accepts', () => {
    const doc = parse(synthWith((s) => new KmipNetwork(s, 'Network', props)));
    const rules = resourcesOf(doc, 'ibm_is_security_group_rule').map((r) => ({ direction: r['direction'], remote: r['remote'], protocol: r['protocol'], port: r['port_min'] }));
    expect(rules.filter((r) => r.port === 5696)).toEqual([{ direction: 'inbound', remote: '10.50.0.0/24', protocol: 'tcp', port: 5696 }]);
    expect(rules.filter((r) => r.port === 9696).map((r) => r.remote).sort()).toEqual(['10.200.0.0/24', '10.200.128.0/24', '10.200.64.0/24']);
    expect(rules.some((r) => r.port === 22)).toBe(false);
    const egress = rules.filter((r) => r.direction === 'outbound');
    expect(egress.map((r) => r.remote).sort()).toEqual(['161.26.0.0/16', '166.8.0.0/14']);
    expect(egress.every((r) => r.protocol === 'icmp_tcp_udp')).toBe(true);
    expect(rules.filter((r) => r.direction === 'inbound').every((r) => r.protocol === 'tcp')).toBe(true);
  });

  it('the subnets use an explicit ACL that lets KMIP, its answers and the IBM services through and denies the rest', () => {
    const doc = parse(synthWith((s) => new KmipNetwork(s, 'Network', props)));
    const [acl] = resourcesOf(doc, 'ibm_is_network_acl');
    const rules = acl!['rules'] as { name: string; action: string; direction: string; source: string; destination: string; protocol: string }[];
    expect(rules.find((r) => r.name === 'kmip-in-10-50-0-0-24')).toMatchObject({ action: 'allow', direction: 'inbound', source: '10.50.0.0/24', protocol: 'tcp', port_min: 5696, port_max: 5696 });
    expect(rules.find((r) => r.name === 'kmip-out-10-50-0-0-24')).toMatchObject({ action: 'allow', direction: 'outbound', destination: '10.50.0.0/24', protocol: 'tcp', source_port_min: 5696, source_port_max: 5696 });
    expect(rules.find((r) => r.name === 'deny-other-in')).toMatchObject({ protocol: 'icmp_tcp_udp' });
    expect(rules.filter((r) => r.name.startsWith('services-')).map((r) => `${r.direction} ${r.source}>${r.destination}`).sort()).toEqual([
      'inbound 161.26.0.0/16>0.0.0.0/0',
      'inbound 166.8.0.0/14>0.0.0.0/0',
      'outbound 0.0.0.0/0>161.26.0.0/16',
      'outbound 0.0.0.0/0>166.8.0.0/14',
    ]);
    expect(rules.slice(-2).map((r) => [r.action, r.direction, r.source, r.destination])).toEqual([
      ['deny', 'inbound', '0.0.0.0/0', '0.0.0.0/0'],
      ['deny', 'outbound', '0.0.0.0/0', '0.0.0.0/0'],
    ]);
  });

  it('opens SSH only to the given networks; a load balancer gets its own group that reaches only the nodes', () => {
    const doc = parse(synthWith((s) => new KmipNetwork(s, 'Network', { ...props, sshCidrs: ['192.168.7.0/24'], loadBalancer: true })));
    const rules = resourcesOf(doc, 'ibm_is_security_group_rule');
    expect(rules.filter((r) => r['port_min'] === 22).map((r) => r['remote'])).toEqual(['192.168.7.0/24']);
    const groups = doc.resource!['ibm_is_security_group']!;
    const lbName = Object.keys(groups).find((n) => String(groups[n]!['name']).endsWith('-lb'))!;
    const nodesName = Object.keys(groups).find((n) => String(groups[n]!['name']).endsWith('-nodes'))!;
    const ref = (n: string) => `\${ibm_is_security_group.${n}.id}`;
    const lbRules = rules.filter((r) => r['group'] === ref(lbName)).map((r) => `${r['direction']} ${r['remote'] === ref(nodesName) ? 'nodes' : r['remote']} ${r['port_min']}`);
    expect(lbRules.sort()).toEqual(['inbound 10.50.0.0/24 5696', 'outbound nodes 5696', 'outbound nodes 9696']);
    const fromLb = rules.filter((r) => r['group'] === ref(nodesName) && r['remote'] === ref(lbName)).map((r) => r['port_min']);
    expect(fromLb.sort()).toEqual([5696, 9696]);
  });

  it('the admin port is open to the subnets (health checks) and to the operator networks, never to the world', () => {
    const doc = parse(synthWith((s) => new KmipNetwork(s, 'Network', { ...props, operatorCidrs: ['192.168.50.0/28', '10.200.0.0/24'] })));
    const admin = resourcesOf(doc, 'ibm_is_security_group_rule').filter((r) => r['port_min'] === 9696);
    // 10.200.0.0/24 is also a subnet: one rule, not two
    expect(admin.map((r) => r['remote']).sort()).toEqual(['10.200.0.0/24', '10.200.128.0/24', '10.200.64.0/24', '192.168.50.0/28']);
    expect(admin.every((r) => r['direction'] === 'inbound' && r['protocol'] === 'tcp' && r['port_max'] === 9696)).toBe(true);
    expect(errorOf((s) => new KmipNetwork(s, 'Network', { ...props, operatorCidrs: ['0.0.0.0/0'] })).message).toMatch(/operatorCidrs: 0.0.0.0\/0 opens the port to every address/);
  });

  it('refuses a KMIP port open to the world or no client network at all', () => {
    expect(errorOf((s) => new KmipNetwork(s, 'Network', { ...props, kmipClientCidrs: ['0.0.0.0/0'] })).message).toMatch(/^test\/Network: kmipClientCidrs: 0.0.0.0\/0 opens the port to every address/);
    expect(errorOf((s) => new KmipNetwork(s, 'Network', { ...props, kmipClientCidrs: [] })).message).toMatch(/kmipClientCidrs must list/);
  });
});

describe('PostgresDatabase', () => {
  it('multi-zone PostgreSQL on private endpoints, allow-listed, encrypted with the root key, protected from destroy', () => {
    const out = synthWith((s) => new PostgresDatabase(s, 'Db', { name: 'kmip-db', region: 'us-south', resourceGroupId: 'rg', allowlist: [{ address: '10.240.0.0/24', description: 'KMIP nodes in us-south-1' }], rootKey: { keyProtectInstanceGuid: 'g', rootKeyCrn: 'crn:v1:bluemix:public:kms:us-south:a/1:g:key:k' } }));
    expect(out).toHaveResourceWithProperties('ibm_database', {
      service: 'databases-for-postgresql',
      service_endpoints: 'private',
      plan: 'standard',
      version: '16',
      deletion_protection: true,
      key_protect_key: 'crn:v1:bluemix:public:kms:us-south:a/1:g:key:k',
      backup_encryption_key_crn: 'crn:v1:bluemix:public:kms:us-south:a/1:g:key:k',
      lifecycle: { prevent_destroy: true },
      allowlist: [{ address: '10.240.0.0/24', description: 'KMIP nodes in us-south-1' }],
    });
    // the database waits for the authorization to settle (IAM propagation), not only for it to exist
    const doc = parse(out);
    const [sleep] = Object.entries(doc.resource!['time_sleep']!);
    expect(sleep![1]).toMatchObject({ create_duration: '30s' });
    expect(resourcesOf(doc, 'ibm_database')[0]!['depends_on']).toEqual([`time_sleep.${sleep![0]}`]);
    expect((sleep![1]['depends_on'] as string[])[0]).toMatch(/^ibm_iam_authorization_policy\./);
    expect(out).toHaveResourceWithProperties('ibm_iam_authorization_policy', { source_service_name: 'databases-for-postgresql', target_service_name: 'kms', roles: ['Reader'] });
    expect(out).toHaveResourceWithProperties('ibm_resource_key', { parameters: { 'service-endpoints': 'private' } });
  });

  it('rejects an empty allow-list and odd sizes', () => {
    expect(errorOf((s) => new PostgresDatabase(s, 'Db', { name: 'kmip-db', region: 'us-south', resourceGroupId: 'rg', allowlist: [] })).message).toMatch(/^test\/Db: allowlist/);
    // the provider allows 1-32 characters of description: refused here, at synth, with the entry named
    expect(errorOf((s) => new PostgresDatabase(s, 'Db', { name: 'kmip-db', region: 'us-south', resourceGroupId: 'rg', allowlist: [{ address: '10.0.0.0/24', description: 'x'.repeat(33) }] })).message).toMatch(/allowlist\[10\.0\.0\.0\/24\]\.description/);
    expect(errorOf((s) => new PostgresDatabase(s, 'Db', { name: 'kmip-db', region: 'us-south', resourceGroupId: 'rg', allowlist: [{ address: '10.0.0.0/24', description: 'x' }], memoryMb: 12 })).message).toMatch(/memoryMb must be an integer/);
  });
});

describe('AssetBucket', () => {
  it('uploads each file under a content-addressed key from the stack asset folder, into a bucket encrypted with the root key', () => {
    const out = synthWith((s) => new AssetBucket(s, 'Assets', { region: 'us-south', resourceGroupId: 'rg', bucketName: 'kmip-assets-1', instanceName: 'kmip-cos', files: [{ file: BUNDLE_FILE }, { file: BUNDLE_FILE }], rootKey: { keyProtectInstanceGuid: 'g', rootKeyCrn: 'crn-k' } }));
    const doc = parse(out);
    // the same content listed twice is one object
    expect(resourcesOf(doc, 'ibm_cos_bucket_object')).toHaveLength(1);
    const object = resourcesOf(doc, 'ibm_cos_bucket_object')[0]!;
    const [objectName] = Object.keys(doc.resource!['ibm_cos_bucket_object']!);
    // the Terraform address follows the content, not the role
    expect(objectName).toContain(String(object['key']).slice(0, 16));
    expect(object['key']).toMatch(/^[0-9a-f]{64}\/kmip-server\.mjs$/);
    expect(object['content_file']).toMatch(/^assets\//);
    expect(object['content']).toBeUndefined();
    expect(out).toHaveResourceWithProperties('ibm_cos_bucket', { bucket_name: 'kmip-assets-1', kms_key_crn: 'crn-k', region_location: 'us-south' });
    expect(out).toHaveResourceWithProperties('ibm_iam_authorization_policy', { source_service_name: 'cloud-object-storage', target_service_name: 'kms' });
  });

  it('names the asset that cannot be read', () => {
    expect(errorOf((s) => new AssetBucket(s, 'Assets', { region: 'us-south', resourceGroupId: 'rg', bucketName: 'kmip-assets-1', instanceName: 'c', files: [{ file: '/nonexistent/bundle.mjs' }] })).message).toMatch(/cannot read asset \/nonexistent\/bundle.mjs/);
  });
});

describe('KmipCluster', () => {
  const nodes = ['us-south-1', 'us-south-2'].map((zone, i) => ({ zone, subnetId: `subnet-${i}`, ip: `10.200.${i * 64}.4`, reservedIpId: `rip-${i}`, profile: 'bx2-2x8', bootVolumeGb: 100, userData: '#cloud-config\n{}\n' }));
  const props = { name: 'kmip-c', vpcId: 'vpc', resourceGroupId: 'rg', imageId: 'img', trustedProfileId: 'Profile-1', securityGroupIds: ['sg'], nodes };

  it('one instance per zone on its reserved address, running as the trusted profile, metadata service reachable only from the node', () => {
    const out = synthWith((s) => new KmipCluster(s, 'Cluster', props));
    expect(out).toHaveResourceWithProperties('ibm_is_instance', {
      name: 'kmip-c-us-south-2',
      zone: 'us-south-2',
      profile: 'bx2-2x8',
      primary_network_interface: { subnet: 'subnet-1', primary_ip: { reserved_ip: 'rip-1' } },
      default_trusted_profile_target: 'Profile-1',
      default_trusted_profile_auto_link: true,
      metadata_service: { enabled: true, protocol: 'http', response_hop_limit: 1 },
      // nothing but an explicit replacement (npm run roll) replaces a node: not a newer image, not new user data
      lifecycle: { ignore_changes: ['image', 'user_data'] },
    });
    expect(parse(out).resource?.['ibm_is_lb']).toBeUndefined();
  });

  it('an optional application load balancer with its own security group, created after the address reservations, health-checking /readyz over HTTPS', () => {
    const out = synthWith((s) => {
      const reservation = new TerraformVariable(s, 'reservation', { type: 'string' });
      new KmipCluster(s, 'Cluster', { ...props, loadBalancer: true, loadBalancerSecurityGroupId: 'sg-lb', addressReservations: [reservation] });
    });
    expect(out).toHaveResourceWithProperties('ibm_is_lb', { type: 'private', security_groups: ['sg-lb'], depends_on: ['var.reservation'] });
    // The admin port speaks only HTTPS (admin client certificates); a plain-http health check would mark every node down.
    expect(out).toHaveResourceWithProperties('ibm_is_lb_pool', { health_type: 'https', health_monitor_url: '/readyz', health_monitor_port: 9696, protocol: 'tcp' });
    expect(out).not.toHaveResourceWithProperties('ibm_is_lb_pool', { health_type: 'http' });
    expect(out).toHaveResourceWithProperties('ibm_is_lb_pool_member', { port: 5696, target_address: '10.200.0.4' });
    expect(out).toHaveResourceWithProperties('ibm_is_lb_listener', { port: 5696, protocol: 'tcp' });
    expect(errorOf((s) => new KmipCluster(s, 'Cluster', { ...props, loadBalancer: true })).message).toMatch(/needs its own security group/);
  });

  it('refuses user data over the 64 KiB limit and clusters of one', () => {
    const big = nodes.map((n) => ({ ...n, userData: 'x'.repeat(62 * 1024) }));
    expect(errorOf((s) => new KmipCluster(s, 'Cluster', { ...props, nodes: big })).message).toMatch(/user data for us-south-1 would be about \d+ bytes; IBM VPC accepts at most 65536/);
    expect(errorOf((s) => new KmipCluster(s, 'Cluster', { ...props, nodes: nodes.slice(0, 1) })).message).toMatch(/at least 2 nodes/);
  });
});

describe('naming', () => {
  it('builds IBM-compatible names and refuses what IBM would', () => {
    expect(resourceName('kmip', 'prod', 'us-south', 'db')).toBe('kmip-prod-us-south-db');
    expect(resourceName('Kmip__X', '', 'y')).toBe('kmip-x-y');
    expect(() => resourceName('1abc')).toThrow(/start with a letter/);
    expect(() => resourceName('a'.repeat(64))).toThrow(/longer than 63/);
  });
});

describe('ContextRestrictions', () => {
  const props = { name: 'kmip-prod-us-south', accountId: '0123456789abcdef0123456789abcdef', vpcCrn: 'crn:v1:bluemix:public:is:us-south:a/0123456789abcdef0123456789abcdef::vpc:r006-1', deployerCidrs: ['10.50.32.0/27'], operatorCidrs: ['10.50.16.0/28', '10.50.32.0/27', '192.168.1.9/32'], services: [{ label: 'Key Protect', serviceName: 'kms', serviceInstance: 'guid-kp' }] };

  it('one network zone (the VPC, deployer and operator networks) and a rule per owned service instance, in the given mode', () => {
    const doc = parse(synthWith((s) => new ContextRestrictions(s, 'R', { ...props, enforcement: 'enabled', serviceCallers: ['cloud-object-storage', 'databases-for-postgresql'] })));
    const [zone] = resourcesOf(doc, 'ibm_cbr_zone');
    expect(zone!['addresses']).toEqual([
      { type: 'vpc', value: props.vpcCrn },
      { type: 'subnet', value: '10.50.32.0/27' },
      { type: 'subnet', value: '10.50.16.0/28' },
      { type: 'ipAddress', value: '192.168.1.9' },
      // the services that encrypt with the root key must still reach Key Protect once the rule is enforced
      { type: 'serviceRef', ref: { account_id: props.accountId, service_name: 'cloud-object-storage' } },
      { type: 'serviceRef', ref: { account_id: props.accountId, service_name: 'databases-for-postgresql' } },
    ]);
    const [rule] = resourcesOf(doc, 'ibm_cbr_rule');
    expect(rule).toMatchObject({ enforcement_mode: 'enabled', contexts: [{ attributes: [{ name: 'networkZoneId', value: expect.stringMatching(/^\$\{ibm_cbr_zone\.[^.]+\.id\}$/) }] }] });
    expect((rule!['resources'] as { attributes: unknown[] }[])[0]!.attributes).toEqual([
      { name: 'accountId', value: props.accountId },
      { name: 'serviceName', value: 'kms' },
      { name: 'serviceInstance', value: 'guid-kp' },
    ]);
  });

  it('refuses to enforce without the deployer networks (Terraform would lock itself out)', () => {
    expect(errorOf((s) => new ContextRestrictions(s, 'R', { ...props, deployerCidrs: [], enforcement: 'enabled' })).message).toMatch(/needs the deployer networks/);
    expect(() => synthWith((s) => new ContextRestrictions(s, 'R', { ...props, deployerCidrs: [], enforcement: 'report' }))).not.toThrow();
  });
});

describe('PrivateEndpoints', () => {
  it('a gateway per service with an address in every subnet, reachable only from the nodes', () => {
    const crns = serviceEndpointCrns('us-south');
    const doc = parse(
      synthWith((s) => new PrivateEndpoints(s, 'E', { name: 'kmip-x', vpcId: 'vpc', resourceGroupId: 'rg', subnetIds: ['s1', 's2'], nodeSecurityGroupId: 'sg-nodes', targets: [{ id: 'kms', crn: crns.kms }, { id: 'cos', crn: crns.cos }] })),
    );
    const gateways = resourcesOf(doc, 'ibm_is_virtual_endpoint_gateway');
    expect(gateways.map((g) => (g['target'] as { crn: string }).crn).sort()).toEqual(['crn:v1:bluemix:public:cloud-object-storage:global:::endpoint:s3.direct.us-south.cloud-object-storage.appdomain.cloud', 'crn:v1:bluemix:public:kms:us-south:::endpoint:private.us-south.kms.cloud.ibm.com']);
    for (const g of gateways) expect((g['ips'] as { subnet: string }[]).map((i) => i.subnet)).toEqual(['s1', 's2']);
    const rules = resourcesOf(doc, 'ibm_is_security_group_rule').map((r) => `${r['direction']} ${r['remote']} ${r['protocol']}`);
    expect(rules.sort()).toEqual([expect.stringMatching(/^inbound sg-nodes tcp$/), expect.stringMatching(/^outbound \$\{ibm_is_security_group\.[^.]+\.id\} tcp$/)].sort());
  });
});
