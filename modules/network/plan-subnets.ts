/**
 * Pure subnet planning (no cdktf, no provider): which subnet each zone of a region gets, and the fixed
 * address of the KMIP node in it. The landing-zone-vpc idea of a resource-free "dynamic values" step,
 * as a plain function with its own tests.
 *
 * The VPC gets one manual address prefix per zone: `zonePrefixes` when given, else this project's defaults
 * (KMIP_PREFIX_SECOND_OCTET, outside IBM's automatic ones). The plan carves one subnet per zone out of that zone's prefix — the same
 * `subnetIndex`-th block of `subnetPrefixLength` in every zone — and pins the node at `hostIndex` in it.
 * Knowing the addresses at synth time lets the stack issue server certificates naming them and print the
 * endpoints vCenter needs before anything exists. Results are keyed by zone name ("us-south-1"), never
 * by list position, so adding or removing a zone never renames the others.
 */

/** IBM Cloud VPC default address prefixes, zone n of a region at 10.<second>.<64·(n-1)>.0/18. */
export const DEFAULT_PREFIX_SECOND_OCTET: Readonly<Record<string, number>> = Object.freeze({
  'us-south': 240,
  'us-east': 241,
  'eu-gb': 242,
  'eu-de': 243,
  'jp-tok': 244,
  'au-syd': 245,
  'jp-osa': 248,
  'ca-tor': 249,
  'br-sao': 250,
  'eu-es': 251,
  'ca-mon': 253,
  'in-che': 254,
  'in-mum': 255,
});

/**
 * This project's default address space: zone n of a region at 10.<second>.<64·(n-1)>.0/18, the second octet
 * 200-212 — outside IBM's automatic prefixes (10.240-10.255), which every other VPC of the region gets by
 * default. vCenter reaches the nodes through a Transit Gateway that joins this VPC to the VMware one; two
 * joined VPCs must not overlap, so the defaults must not be IBM's. Created as manual address prefixes.
 */
export const KMIP_PREFIX_SECOND_OCTET: Readonly<Record<string, number>> = Object.freeze({
  'us-south': 200,
  'us-east': 201,
  'eu-gb': 202,
  'eu-de': 203,
  'jp-tok': 204,
  'au-syd': 205,
  'jp-osa': 206,
  'ca-tor': 207,
  'br-sao': 208,
  'eu-es': 209,
  'ca-mon': 210,
  'in-che': 211,
  'in-mum': 212,
});

/** IBM reserves the network address, the next three (gateway and two for internal use) and the broadcast. */
export const RESERVED_LOW = 4;

export interface Ipv4Cidr {
  readonly network: number;
  readonly prefixLength: number;
}

export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  const octets = m.slice(1).map(Number);
  if (octets.some((o, i) => o > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((s) => (value >>> s) & 255).join('.');
}

/** Parses "a.b.c.d/n"; the address must be the network address (no host bits set). */
export function parseCidr(text: string): Ipv4Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m) throw new Error(`not an IPv4 CIDR block: ${JSON.stringify(text)}`);
  const prefixLength = Number(m[2]);
  if (prefixLength > 32) throw new Error(`prefix length must be 0-32: ${JSON.stringify(text)}`);
  const network = parseIpv4(m[1]!);
  if ((network & ~mask(prefixLength)) >>> 0 !== 0) throw new Error(`${text} has host bits set (network address is ${formatIpv4((network & mask(prefixLength)) >>> 0)}/${prefixLength})`);
  return { network, prefixLength };
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefixLength}`;
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function cidrSize(c: Ipv4Cidr): number {
  return 2 ** (32 - c.prefixLength);
}

/** Terraform's cidrsubnet(prefix, newbits, netnum) for IPv4. */
export function cidrSubnet(prefix: string, newbits: number, netnum: number): string {
  const p = parseCidr(prefix);
  const length = p.prefixLength + newbits;
  if (!Number.isInteger(newbits) || newbits < 0 || length > 32) throw new Error(`cannot extend /${p.prefixLength} by ${newbits} bits`);
  if (!Number.isInteger(netnum) || netnum < 0 || netnum >= 2 ** newbits) throw new Error(`netnum ${netnum} does not fit in ${newbits} bits`);
  return formatCidr({ network: (p.network + netnum * 2 ** (32 - length)) >>> 0, prefixLength: length });
}

/** Terraform's cidrhost(prefix, hostnum) for IPv4 (non-negative host numbers). */
export function cidrHost(prefix: string, hostnum: number): string {
  const p = parseCidr(prefix);
  if (!Number.isInteger(hostnum) || hostnum < 0 || hostnum >= cidrSize(p)) throw new Error(`host number ${hostnum} is outside ${prefix}`);
  return formatIpv4((p.network + hostnum) >>> 0);
}

export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  return i.prefixLength >= o.prefixLength && (i.network & mask(o.prefixLength)) >>> 0 === o.network;
}

export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** IBM's automatic address prefix of a zone (what a VPC with address_prefix_management "auto" gets). */
export function ibmAutoZonePrefix(region: string, zone: number): string | undefined {
  const second = DEFAULT_PREFIX_SECOND_OCTET[region];
  if (second === undefined || zone < 1 || zone > 3) return undefined;
  return `10.${second}.${(zone - 1) * 64}.0/18`;
}

/** This project's default prefix of a zone (KMIP_PREFIX_SECOND_OCTET). */
export function defaultZonePrefix(region: string, zone: number): string | undefined {
  const second = KMIP_PREFIX_SECOND_OCTET[region];
  if (second === undefined || zone < 1 || zone > 3) return undefined;
  return `10.${second}.${(zone - 1) * 64}.0/18`;
}

export interface SubnetPlanInput {
  readonly region: string;
  /** Zone numbers (1-3), at least two, no repeats. */
  readonly zones: readonly number[];
  /** @default 24 */
  readonly subnetPrefixLength?: number;
  /** Which block of that size inside each zone prefix. @default 0 */
  readonly subnetIndex?: number;
  /** Offset of the node inside its subnet; IBM reserves offsets 0-3 and the last address. @default 4 */
  readonly hostIndex?: number;
  /** Zone prefixes when they are not this project's defaults. */
  readonly zonePrefixes?: Readonly<Record<string, string>>;
}

export interface ZoneSubnetPlan {
  /** Stable key and IBM zone name, e.g. "us-south-1". */
  readonly zone: string;
  readonly zoneNumber: number;
  readonly zonePrefix: string;
  readonly cidr: string;
  /** Arguments of Terraform's cidrsubnet(zonePrefix, newbits, netnum) that give `cidr`. */
  readonly newbits: number;
  readonly netnum: number;
  readonly nodeIp: string;
}

export interface SubnetPlan {
  readonly region: string;
  readonly zones: Readonly<Record<string, ZoneSubnetPlan>>;
  /** Zone names in zone order. */
  readonly zoneNames: readonly string[];
}

/** Plans one subnet per zone; throws with every problem listed when the input cannot work. */
export function planSubnets(input: SubnetPlanInput): SubnetPlan {
  const subnetPrefixLength = input.subnetPrefixLength ?? 24;
  const subnetIndex = input.subnetIndex ?? 0;
  const hostIndex = input.hostIndex ?? RESERVED_LOW;
  const problems: string[] = [];
  if (!/^[a-z]{2}-[a-z]+$/.test(input.region)) problems.push(`region must look like us-south, got ${JSON.stringify(input.region)}`);
  if (input.zones.length < 2) problems.push(`at least 2 zones are needed for a highly available key provider, got ${input.zones.length}`);
  if (new Set(input.zones).size !== input.zones.length) problems.push(`zones must not repeat: ${input.zones.join(', ')}`);
  for (const z of input.zones) if (!Number.isInteger(z) || z < 1 || z > 3) problems.push(`zone numbers are 1-3, got ${z}`);
  if (!Number.isInteger(subnetPrefixLength) || subnetPrefixLength < 16 || subnetPrefixLength > 29) problems.push(`subnetPrefixLength must be 16-29, got ${subnetPrefixLength}`);
  const subnetSize = 2 ** (32 - subnetPrefixLength);
  if (!Number.isInteger(hostIndex) || hostIndex < RESERVED_LOW || hostIndex > subnetSize - 2) {
    problems.push(`hostIndex must be ${RESERVED_LOW}-${subnetSize - 2} (IBM reserves the first ${RESERVED_LOW} addresses and the last of a subnet), got ${hostIndex}`);
  }
  if (!Number.isInteger(subnetIndex) || subnetIndex < 0) problems.push(`subnetIndex must be a non-negative integer, got ${subnetIndex}`);
  if (problems.length) throw new Error(`subnet plan for ${input.region}: ${problems.join('; ')}`);

  const zones: Record<string, ZoneSubnetPlan> = {};
  const ordered = [...input.zones].sort((a, b) => a - b);
  for (const zoneNumber of ordered) {
    const zone = `${input.region}-${zoneNumber}`;
    const zonePrefix = input.zonePrefixes?.[zone] ?? defaultZonePrefix(input.region, zoneNumber);
    if (!zonePrefix) {
      problems.push(`${zone}: no default address prefix is known for region ${input.region}; give network.zonePrefixes`);
      continue;
    }
    let prefix: Ipv4Cidr;
    try {
      prefix = parseCidr(zonePrefix);
    } catch (err) {
      problems.push(`${zone}: ${(err as Error).message}`);
      continue;
    }
    const newbits = subnetPrefixLength - prefix.prefixLength;
    if (newbits < 0) {
      problems.push(`${zone}: a /${subnetPrefixLength} subnet does not fit in the zone prefix ${zonePrefix}`);
      continue;
    }
    if (subnetIndex >= 2 ** newbits) {
      problems.push(`${zone}: subnetIndex ${subnetIndex} is past the last /${subnetPrefixLength} of ${zonePrefix} (${2 ** newbits} blocks)`);
      continue;
    }
    const cidr = cidrSubnet(zonePrefix, newbits, subnetIndex);
    zones[zone] = { zone, zoneNumber, zonePrefix, cidr, newbits, netnum: subnetIndex, nodeIp: cidrHost(cidr, hostIndex) };
  }
  const names = Object.keys(zones);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = zones[names[i]!]!;
      const b = zones[names[j]!]!;
      if (cidrsOverlap(a.cidr, b.cidr)) problems.push(`${a.zone} and ${b.zone} would overlap (${a.cidr}, ${b.cidr})`);
    }
  }
  if (problems.length) throw new Error(`subnet plan for ${input.region}: ${problems.join('; ')}`);
  return { region: input.region, zones, zoneNames: names };
}
