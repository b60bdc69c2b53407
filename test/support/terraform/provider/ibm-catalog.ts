/**
 * What IBM Cloud would hand back: id and CRN formats per resource type, and the few computed
 * attributes whose shape matters to configurations that use them (resource key credentials, a
 * VPC's default security group, an API key, a load balancer's hostname...).
 */
import type { FakeCatalog, FakeContext } from './fake-values.js';
import type { Value } from './values.js';

const str = (v: Value | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The guid of the service instance an object belongs to, from whichever attribute names it (a CRN or a bare guid). */
function instanceGuid(ctx: FakeContext): string {
  for (const attr of ['instance_id', 'resource_instance_id', 'instance_crn', 'service_instance', 'instance_guid']) {
    const v = str(ctx.object[attr]);
    if (!v) continue;
    if (v.startsWith('crn:')) return v.split(':')[7] || ctx.rng.uuid();
    return v;
  }
  return ctx.rng.uuid();
}

/** The service name inside the CRN of the instance an object belongs to. */
function instanceService(ctx: FakeContext): string | undefined {
  const crn = str(ctx.object['resource_instance_id']) ?? str(ctx.object['instance_crn']);
  return crn?.startsWith('crn:') ? crn.split(':')[4] : undefined;
}

/** VPC resource type names inside CRNs and hrefs. */
const VPC_KINDS: Record<string, string> = {
  ibm_is_lb: 'load-balancer',
  ibm_is_lb_listener: 'load-balancer-listener',
  ibm_is_lb_pool: 'load-balancer-pool',
  ibm_is_lb_pool_member: 'load-balancer-pool-member',
  ibm_is_ssh_key: 'key',
};
const vpcKind = (type: string) => VPC_KINDS[type] ?? type.replace(/^ibm_is_/, '').replace(/_/g, '-');

const vpcCrn = (ctx: FakeContext, kind: string, id: string, zoned = false) => `crn:v1:bluemix:public:is:${zoned ? `${ctx.region}-1` : ctx.region}:a/${ctx.account}::${kind}:${id}`;
const instanceCrn = (ctx: FakeContext, service: string, guid: string) => `crn:v1:bluemix:public:${service}:${ctx.region}:a/${ctx.account}:${guid}::`;

/** Which VPC objects live in a zone (their ids start with the zone code, as real ones do). */
const ZONED = new Set(['ibm_is_subnet', 'ibm_is_instance', 'ibm_is_floating_ip', 'ibm_is_public_gateway', 'ibm_is_volume']);

function newId(ctx: FakeContext): string {
  const { type, rng } = ctx;
  switch (type) {
    case 'ibm_resource_instance':
      return instanceCrn(ctx, str(ctx.object['service']) ?? 'resource-controller', rng.uuid());
    case 'ibm_database':
      return instanceCrn(ctx, str(ctx.object['service']) ?? 'databases-for-postgresql', rng.uuid());
    case 'ibm_resource_key':
      return `crn:v1:bluemix:public:${instanceService(ctx) ?? 'resource-controller'}:${ctx.region}:a/${ctx.account}:${instanceGuid(ctx)}:resource-key:${rng.uuid()}`;
    case 'ibm_kms_key':
      return `crn:v1:bluemix:public:kms:${ctx.region}:a/${ctx.account}:${instanceGuid(ctx)}:key:${rng.uuid()}`;
    case 'ibm_kms_key_rings':
      return str(ctx.object['key_ring_id']) ?? `ring-${rng.hex(8)}`;
    case 'ibm_kms_key_policies':
      return `${str(ctx.object['key_id']) ?? rng.uuid()}:policies`;
    case 'ibm_iam_service_id':
      return `ServiceId-${rng.uuid()}`;
    case 'ibm_iam_trusted_profile':
      return `Profile-${rng.uuid()}`;
    case 'ibm_iam_trusted_profile_policy':
      return `${str(ctx.object['iam_id']) ?? 'iam-Profile'}/${rng.uuid()}`;
    case 'ibm_iam_service_api_key':
      return `ApiKey-${rng.uuid()}`;
    case 'ibm_iam_service_policy':
      return `${str(ctx.object['iam_service_id']) ?? 'ServiceId'}/${rng.uuid()}`;
    case 'ibm_cos_bucket':
      return `crn:v1:bluemix:public:cloud-object-storage:global:a/${ctx.account}:${instanceGuid(ctx)}:bucket:${str(ctx.object['bucket_name']) ?? rng.hex(8)}:meta:rl:${str(ctx.object['region_location']) ?? ctx.region}:${str(ctx.object['endpoint_type']) ?? 'public'}`;
    case 'ibm_cos_bucket_object':
      return `${str(ctx.object['bucket_crn']) ?? 'bucket'}:object:${str(ctx.object['key']) ?? rng.hex(8)}`;
    case 'ibm_is_security_group_rule':
      return `${str(ctx.object['group']) ?? `r006-${rng.uuid()}`}.r006-${rng.uuid()}`;
    case 'ibm_resource_group':
      return rng.hex(32);
    default:
      if (type.startsWith('ibm_is_')) return ZONED.has(type) ? `0717-${rng.uuid()}` : `r006-${rng.uuid()}`;
      return rng.uuid();
  }
}

function crnFor(ctx: FakeContext, attr: string): string {
  const { type } = ctx;
  if (attr !== 'crn') {
    // `default_security_group_crn` names the object in `default_security_group`.
    const base = attr.replace(/_crn$/, '');
    const id = str(ctx.object[base]);
    if (type.startsWith('ibm_is_') && id) return vpcCrn(ctx, base.replace(/^default_/, '').replace(/_/g, '-'), id);
    if (attr === 'instance_crn' || attr === 'resource_crn') return instanceCrn(ctx, type.startsWith('ibm_kms') ? 'kms' : 'resource-controller', instanceGuid(ctx));
    if (attr === 'related_crn' && str(ctx.object['group'])) return vpcCrn(ctx, 'security-group', str(ctx.object['group']) as string);
    return instanceCrn(ctx, 'resource-controller', ctx.rng.uuid());
  }
  if (ctx.id.startsWith('crn:')) return ctx.id.replace(/:meta:rl:.*$/, '');
  switch (type) {
    case 'ibm_iam_service_id':
      return `crn:v1:bluemix:public:iam-identity::a/${ctx.account}::serviceid:${ctx.id}`;
    case 'ibm_iam_trusted_profile':
      return `crn:v1:bluemix:public:iam-identity::a/${ctx.account}::profile:${ctx.id}`;
    case 'ibm_iam_service_api_key':
      return `crn:v1:bluemix:public:iam-identity::a/${ctx.account}::apikey:${ctx.id}`;
    case 'ibm_kms_key_rings':
      return `crn:v1:bluemix:public:kms:${ctx.region}:a/${ctx.account}:${instanceGuid(ctx)}:key-ring:${ctx.id}`;
    case 'ibm_resource_group':
      return `crn:v1:bluemix:public:resource-controller::a/${ctx.account}::resource-group:${ctx.id}`;
    default:
      if (type.startsWith('ibm_is_')) return vpcCrn(ctx, vpcKind(type), ctx.id, ZONED.has(type));
      return instanceCrn(ctx, type.replace(/^ibm_/, '').replace(/_/g, '-'), ctx.rng.uuid());
  }
}

/** The credentials of a resource key, flattened the way the provider flattens them, for the service the key belongs to. */
function resourceKeyCredentials(ctx: FakeContext): Record<string, string> {
  const { rng, region } = ctx;
  const service = instanceService(ctx) ?? 'databases-for-postgresql';
  const instance = str(ctx.object['resource_instance_id']) ?? instanceCrn(ctx, service, instanceGuid(ctx));
  const role = str(ctx.object['role']) ?? 'Manager';
  const iam = {
    apikey: rng.token(44),
    iam_apikey_description: `Auto-generated for key ${ctx.id}`,
    iam_apikey_id: `ApiKey-${rng.uuid()}`,
    iam_apikey_name: str(ctx.object['name']) ?? 'key',
    iam_role_crn: `crn:v1:bluemix:public:iam::::serviceRole:${role}`,
    iam_serviceid_crn: `crn:v1:bluemix:public:iam-identity::a/${ctx.account}::serviceid:ServiceId-${rng.uuid()}`,
  };
  if (service === 'cloud-object-storage') {
    return {
      ...iam,
      'cos_hmac_keys.access_key_id': rng.hex(32),
      'cos_hmac_keys.secret_access_key': rng.hex(48),
      endpoints: 'https://control.cloud-object-storage.cloud.ibm.com/v2/endpoints',
      resource_instance_id: instance,
    };
  }
  if (!service.startsWith('databases-for-')) return { ...iam, url: `https://${region}.${service}.cloud.ibm.com`, instance_id: instanceGuid(ctx) };
  const user = `ibm_cloud_${rng.hex(8)}_${rng.hex(4)}_${rng.hex(4)}_${rng.hex(4)}_${rng.hex(12)}`;
  const password = rng.hex(64);
  const host = `${rng.uuid()}.${rng.hex(20)}.databases.appdomain.cloud`;
  const port = String(rng.int(30000, 32767));
  return {
    ...iam,
    'connection.postgres.authentication.method': 'direct',
    'connection.postgres.authentication.password': password,
    'connection.postgres.authentication.username': user,
    'connection.postgres.certificate.certificate_base64': Buffer.from(ctx.caCertPem).toString('base64'),
    'connection.postgres.certificate.name': rng.uuid(),
    'connection.postgres.composed.0': `postgres://${user}:${password}@${host}:${port}/ibmclouddb?sslmode=verify-full`,
    'connection.postgres.database': 'ibmclouddb',
    'connection.postgres.hosts.0.hostname': host,
    'connection.postgres.hosts.0.port': port,
    'connection.postgres.path': '/ibmclouddb',
    'connection.postgres.query_options.sslmode': 'verify-full',
    'connection.postgres.scheme': 'postgres',
    'connection.postgres.type': 'uri',
    'instance_administration_api.deployment_id': instance,
    'instance_administration_api.instance_id': instance,
    'instance_administration_api.root': `https://api.${region}.databases.cloud.ibm.com/v5/ibm`,
  };
}

/** Turns flat `a.b.0.c` keys back into the nested JSON the provider puts in credentials_json. */
function nestCredentials(flat: Record<string, string>): string {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let at: Record<string, unknown> = root;
    parts.slice(0, -1).forEach((part) => {
      at[part] = (at[part] as Record<string, unknown> | undefined) ?? {};
      at = at[part] as Record<string, unknown>;
    });
    at[parts[parts.length - 1] as string] = value;
  }
  return JSON.stringify(root);
}

const zones = (ctx: FakeContext) => [1, 2, 3].map((n) => `${ctx.region}-${n}`);

export const ibmCatalog: FakeCatalog = {
  id: newId,
  crn: crnFor,
  childId: (ctx) => (ctx.type.startsWith('ibm_is_') ? `0717-${ctx.rng.uuid()}` : ctx.rng.uuid()),
  attributes: {
    ibm_is_vpc: {
      default_security_group: (ctx) => `r006-${ctx.rng.uuid()}`,
      default_network_acl: (ctx) => `r006-${ctx.rng.uuid()}`,
      default_routing_table: (ctx) => `r006-${ctx.rng.uuid()}`,
      default_address_prefixes: (ctx) => Object.fromEntries(zones(ctx).map((z, i) => [z, `10.240.${i * 64}.0/18`])),
      cse_source_addresses: (ctx) => zones(ctx).map((z, i) => ({ address: `10.249.${i * 16}.${ctx.rng.int(4, 250)}`, zone_name: z })),
    },
    ibm_is_security_group_rule: {
      // The deprecated protocol blocks name it; left out altogether, the rule covers every protocol.
      protocol: (ctx) => ['tcp', 'udp', 'icmp'].find((p) => Array.isArray(ctx.object[p]) && (ctx.object[p] as unknown[]).length > 0) ?? 'icmp_tcp_udp',
      rule_id: (ctx) => ctx.id.split('.')[1] ?? `r006-${ctx.rng.uuid()}`,
      remote: () => '0.0.0.0/0',
      local: () => '0.0.0.0/0',
      ip_version: () => 'ipv4',
    },
    ibm_is_lb: {
      private_ips: (ctx) => [`10.240.0.${ctx.rng.int(4, 250)}`, `10.240.64.${ctx.rng.int(4, 250)}`],
      public_ips: (ctx) => (ctx.object['type'] === 'private' ? [] : [`169.48.${ctx.rng.int(0, 255)}.${ctx.rng.int(1, 254)}`]),
    },
    ibm_resource_key: {
      credentials: (ctx) => resourceKeyCredentials(ctx),
      credentials_json: (ctx) => {
        const creds = ctx.object['credentials'];
        return nestCredentials(typeof creds === 'object' && creds !== null && !Array.isArray(creds) ? (creds as Record<string, string>) : resourceKeyCredentials(ctx));
      },
      role: () => 'Manager',
      guid: (ctx) => ctx.id.split(':')[9] ?? ctx.rng.uuid(),
    },
    ibm_resource_instance: {
      guid: (ctx) => ctx.id.split(':')[7] ?? ctx.rng.uuid(),
    },
    ibm_database: {
      guid: (ctx) => ctx.id.split(':')[7] ?? ctx.rng.uuid(),
      adminuser: () => 'admin',
      version: () => '16',
    },
    ibm_kms_key: {
      key_id: (ctx) => ctx.id.split(':')[9] ?? ctx.rng.uuid(),
      type: () => 'kms',
      endpoint_type: () => 'public',
    },
    ibm_iam_service_id: {
      iam_id: (ctx) => `iam-${ctx.id}`,
    },
    ibm_iam_trusted_profile: {
      profile_id: (ctx) => ctx.id,
      iam_id: (ctx) => `iam-${ctx.id}`,
    },
    ibm_iam_service_api_key: {
      apikey: (ctx) => ctx.rng.token(44),
    },
  },
};

/** Objects a VPC brings with it, so they can be imported or looked up like the real ones. */
export function vpcCompanions(vpc: Record<string, Value>): { type: string; id: string; name: string | undefined }[] {
  const out: { type: string; id: string; name: string | undefined }[] = [];
  const add = (type: string, idAttr: string, nameAttr: string) => {
    const id = str(vpc[idAttr]);
    if (id) out.push({ type, id, name: str(vpc[nameAttr]) });
  };
  add('ibm_is_security_group', 'default_security_group', 'default_security_group_name');
  add('ibm_is_network_acl', 'default_network_acl', 'default_network_acl_name');
  add('ibm_is_vpc_routing_table', 'default_routing_table', 'default_routing_table_name');
  return out;
}
