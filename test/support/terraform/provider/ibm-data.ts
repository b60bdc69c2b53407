/**
 * Canned answers of the IBM data sources a configuration looks things up with: resource groups and
 * access groups by name, stock images, a region's zones. Only attributes the data source's schema
 * has are kept (normalizeBlock drops the rest), so the tables can be generous.
 */
import type { FakeContext } from './fake-values.js';
import { stableHex, stableUuid } from './rng.js';
import type { Value, ValueRecord } from './values.js';

interface StockImage {
  readonly name: string;
  readonly os: string;
  readonly family: string;
  readonly vendor: string;
  readonly version: string;
  readonly status: 'available' | 'deprecated';
}

/**
 * A handful of IBM's public stock images, in no particular order (the API promises none): two Debian 13 images
 * available at once and an older deprecated one, as happens while IBM rolls a point release out (13-9 and 13-10:
 * names compare by their numbers, not as text).
 */
export const STOCK_IMAGES: readonly StockImage[] = [
  { name: 'ibm-debian-13-10-minimal-amd64-1', os: 'debian-13-amd64', family: 'Debian GNU/Linux', vendor: 'Debian', version: '13.x Trixie/Stable - Minimal Install', status: 'available' },
  { name: 'ibm-debian-13-0-minimal-amd64-3', os: 'debian-13-amd64', family: 'Debian GNU/Linux', vendor: 'Debian', version: '13.x Trixie/Stable - Minimal Install', status: 'deprecated' },
  { name: 'ibm-debian-13-9-minimal-amd64-1', os: 'debian-13-amd64', family: 'Debian GNU/Linux', vendor: 'Debian', version: '13.x Trixie/Stable - Minimal Install', status: 'available' },
  { name: 'ibm-debian-12-12-minimal-amd64-1', os: 'debian-12-amd64', family: 'Debian GNU/Linux', vendor: 'Debian', version: '12.x Bookworm/Stable - Minimal Install', status: 'available' },
  { name: 'ibm-debian-12-8-minimal-amd64-2', os: 'debian-12-amd64', family: 'Debian GNU/Linux', vendor: 'Debian', version: '12.x Bookworm/Stable - Minimal Install', status: 'deprecated' },
  { name: 'ibm-ubuntu-24-04-3-minimal-amd64-2', os: 'ubuntu-24-04-amd64', family: 'Ubuntu Linux', vendor: 'Canonical', version: '24.04 LTS Noble Numbat Minimal Install', status: 'available' },
  { name: 'ibm-ubuntu-22-04-5-minimal-amd64-6', os: 'ubuntu-22-04-amd64', family: 'Ubuntu Linux', vendor: 'Canonical', version: '22.04 LTS Jammy Jellyfish Minimal Install', status: 'available' },
  { name: 'ibm-rocky-linux-9-6-minimal-amd64-1', os: 'rocky-linux-9-amd64', family: 'Rocky Linux', vendor: 'Rocky Enterprise Software Foundation', version: '9.x - Minimal Install', status: 'available' },
];

/** An image by name: from the table, or one made up from the name (the provider would look it up in the account). */
function imageRecord(ctx: FakeContext, name: string, visibility: string): ValueRecord {
  const stock = STOCK_IMAGES.find((i) => i.name === name);
  const os = stock?.os ?? (/(debian|ubuntu|rocky|rhel|centos|windows)[-a-z]*?-(\d+)(?:-(\d+))?/.exec(name)?.slice(1, 4).filter(Boolean).join('-') ?? 'debian-13') + '-amd64';
  const id = `r006-${stableUuid('image', name)}`;
  const operatingSystem: ValueRecord = {
    name: os,
    family: stock?.family ?? 'Linux',
    vendor: stock?.vendor ?? 'Unknown',
    version: stock?.version ?? 'Minimal Install',
    architecture: 'amd64',
    display_name: `${stock?.family ?? 'Linux'} ${stock?.version ?? ''} (amd64)`.replace(/\s+/g, ' '),
    dedicated_host_only: false,
    allow_user_image_creation: true,
    user_data_format: 'cloud_init',
    href: `https://${ctx.region}.iaas.cloud.ibm.com/v1/operating_systems/${os}`,
  };
  return {
    id,
    name,
    identifier: id,
    visibility,
    status: stock?.status ?? 'available',
    os,
    architecture: 'amd64',
    encryption: 'none',
    encryption_key: '',
    checksum: stableHex(64, 'image-checksum', name),
    created_at: '2025-09-01T00:00:00Z',
    crn: `crn:v1:bluemix:public:is:${ctx.region}:a/811f8abfbd32425597dc7ba40da98fa6::image:${id}`,
    href: `https://${ctx.region}.iaas.cloud.ibm.com/v1/images/${id}`,
    user_data_format: 'cloud_init',
    operating_system: [operatingSystem],
    resource_group: [{ id: stableHex(32, 'rg', 'stock-images'), name: 'Default', href: '' }],
    status_reasons: [],
    access_tags: [],
    catalog_offering: [{ managed: false, version: [] }],
    allowed_use: [{ api_version: '', bare_metal_server: 'true', instance: 'true' }],
    deprecation_at: stock?.status === 'deprecated' ? '2025-06-01T00:00:00Z' : '',
    obsolescence_at: '',
  };
}

const text = (v: Value | undefined, fallback: string) => (typeof v === 'string' && v !== '' ? v : fallback);

/** Values to lay over the data source's configuration, before the generic fill of what is still null. */
export function ibmDataAnswer(ctx: FakeContext, type: string, config: ValueRecord): ValueRecord {
  switch (type) {
    case 'ibm_resource_group': {
      const name = config['is_default'] === true ? 'Default' : text(config['name'], 'Default');
      const id = typeof config['id'] === 'string' ? config['id'] : stableHex(32, 'resource-group', name);
      return { id, name, is_default: name === 'Default', state: 'ACTIVE', account_id: ctx.account, crn: `crn:v1:bluemix:public:resource-controller::a/${ctx.account}::resource-group:${id}`, resource_linkages: [] };
    }
    case 'ibm_is_image':
      return imageRecord(ctx, text(config['name'], STOCK_IMAGES[0]?.name ?? 'ibm-debian-13'), text(config['visibility'], 'public'));
    case 'ibm_is_images': {
      const wanted = (image: StockImage) =>
        (typeof config['status'] !== 'string' || config['status'] === image.status) && (typeof config['name'] !== 'string' || config['name'] === image.name);
      return { id: `images-${ctx.region}`, images: STOCK_IMAGES.filter(wanted).map((i) => imageRecord(ctx, i.name, 'public')) };
    }
    case 'ibm_is_zones': {
      const region = text(config['region'], ctx.region);
      const names = [1, 2, 3].map((n) => `${region}-${n}`);
      return { id: stableHex(16, 'zones', region), zones: names, zone_info: names.map((z, i) => ({ name: z, status: 'available', data_center: `DAL${10 + i * 2}`, universal_name: `${region}-${String.fromCharCode(97 + i)}` })) };
    }
    case 'ibm_iam_access_group': {
      const name = text(config['access_group_name'], 'Public Access');
      const id = `AccessGroupId-${stableUuid('access-group', name)}`;
      return { id: stableHex(16, 'access-groups', name), groups: [{ id, name, description: '', crn: `crn:v1:bluemix:public:iam-access-management::a/${ctx.account}::access-group:${id}`, ibm_ids: [], iam_service_ids: [], iam_profile_ids: [], rules: [] }] };
    }
    default:
      return {};
  }
}
