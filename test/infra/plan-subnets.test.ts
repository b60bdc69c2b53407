import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PREFIX_SECOND_OCTET,
  cidrContains,
  cidrHost,
  cidrSubnet,
  cidrsOverlap,
  defaultZonePrefix,
  ibmAutoZonePrefix,
  KMIP_PREFIX_SECOND_OCTET,
  parseCidr,
  planSubnets,
} from '../../modules/network/plan-subnets.js';

describe('IPv4 helpers (Terraform cidrsubnet / cidrhost semantics)', () => {
  it('match known Terraform results', () => {
    expect(cidrSubnet('10.240.0.0/18', 6, 0)).toBe('10.240.0.0/24');
    expect(cidrSubnet('10.240.64.0/18', 6, 3)).toBe('10.240.67.0/24');
    expect(cidrSubnet('10.0.0.0/8', 8, 255)).toBe('10.255.0.0/16');
    expect(cidrHost('10.240.0.0/24', 4)).toBe('10.240.0.4');
    expect(cidrHost('10.240.67.0/24', 254)).toBe('10.240.67.254');
  });

  it('reject malformed input', () => {
    expect(() => parseCidr('10.0.0.1/24')).toThrow(/host bits set/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => parseCidr('256.0.0.0/8')).toThrow(/not an IPv4/);
    expect(() => parseCidr('010.0.0.0/8')).toThrow(/not an IPv4/);
    expect(() => cidrSubnet('10.0.0.0/24', 2, 4)).toThrow(/does not fit/);
    expect(() => cidrHost('10.0.0.0/30', 4)).toThrow(/outside/);
  });

  it('containment and overlap', () => {
    expect(cidrContains('10.240.0.0/18', '10.240.63.0/24')).toBe(true);
    expect(cidrContains('10.240.0.0/18', '10.240.64.0/24')).toBe(false);
    expect(cidrsOverlap('10.0.0.0/8', '10.1.0.0/16')).toBe(true);
    expect(cidrsOverlap('10.1.0.0/16', '10.2.0.0/16')).toBe(false);
  });

  it('a subnet always lies inside its prefix, and distinct netnums never overlap (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 24 }), fc.integer({ min: 1, max: 6 }), fc.nat(), fc.nat(), fc.nat(), (len, newbits, a, b, which) => {
        const prefix = cidrSubnet('10.0.0.0/8', len - 8, which % 2 ** (len - 8));
        const n = 2 ** newbits;
        const x = cidrSubnet(prefix, newbits, a % n);
        const y = cidrSubnet(prefix, newbits, b % n);
        expect(cidrContains(prefix, x)).toBe(true);
        expect(cidrsOverlap(x, y)).toBe(a % n === b % n);
      }),
      { numRuns: 300 },
    );
  });
});

describe('planSubnets', () => {
  it('plans one /24 per zone in this project\'s default prefixes, node at .4, keyed by zone name', () => {
    // GIVEN / WHEN
    const plan = planSubnets({ region: 'us-south', zones: [3, 1, 2] });
    // THEN
    expect(plan.zoneNames).toEqual(['us-south-1', 'us-south-2', 'us-south-3']);
    expect(plan.zones['us-south-1']).toMatchObject({ cidr: '10.200.0.0/24', nodeIp: '10.200.0.4', newbits: 6, netnum: 0, zonePrefix: '10.200.0.0/18' });
    expect(plan.zones['us-south-2']).toMatchObject({ cidr: '10.200.64.0/24', nodeIp: '10.200.64.4' });
    expect(plan.zones['us-south-3']).toMatchObject({ cidr: '10.200.128.0/24', nodeIp: '10.200.128.4' });
  });

  it('the default prefixes never overlap IBM\'s automatic ones (every other VPC of any region has those; a Transit Gateway joins them)', () => {
    const ours = Object.keys(KMIP_PREFIX_SECOND_OCTET).flatMap((r) => [1, 2, 3].map((z) => defaultZonePrefix(r, z)!));
    const ibm = Object.keys(DEFAULT_PREFIX_SECOND_OCTET).flatMap((r) => [1, 2, 3].map((z) => ibmAutoZonePrefix(r, z)!));
    expect(Object.keys(KMIP_PREFIX_SECOND_OCTET).sort()).toEqual(Object.keys(DEFAULT_PREFIX_SECOND_OCTET).sort());
    for (const a of ours) for (const b of ibm) expect(cidrsOverlap(a, b), `${a} vs ${b}`).toBe(false);
  });

  it('keys do not move when a zone is removed', () => {
    const three = planSubnets({ region: 'eu-de', zones: [1, 2, 3] });
    const two = planSubnets({ region: 'eu-de', zones: [1, 3] });
    expect(two.zones['eu-de-3']).toEqual(three.zones['eu-de-3']);
    expect(two.zones['eu-de-2']).toBeUndefined();
  });

  it('honours subnet size, index, host index and custom zone prefixes', () => {
    const plan = planSubnets({
      region: 'xx-test',
      zones: [1, 2],
      subnetPrefixLength: 26,
      subnetIndex: 5,
      hostIndex: 10,
      zonePrefixes: { 'xx-test-1': '172.16.0.0/20', 'xx-test-2': '172.16.16.0/20' },
    });
    expect(plan.zones['xx-test-1']).toMatchObject({ cidr: '172.16.1.64/26', nodeIp: '172.16.1.74', newbits: 6, netnum: 5 });
    expect(plan.zones['xx-test-2']).toMatchObject({ cidr: '172.16.17.64/26', nodeIp: '172.16.17.74' });
  });

  it('every known region has non-overlapping default prefixes across regions', () => {
    const prefixes = Object.keys(KMIP_PREFIX_SECOND_OCTET).flatMap((r) => [1, 2, 3].map((z) => defaultZonePrefix(r, z)!));
    for (let i = 0; i < prefixes.length; i++) for (let j = i + 1; j < prefixes.length; j++) expect(cidrsOverlap(prefixes[i]!, prefixes[j]!), `${prefixes[i]} vs ${prefixes[j]}`).toBe(false);
  });

  it('reports every problem of a bad input at once', () => {
    let message = '';
    try {
      planSubnets({ region: 'us-south', zones: [1, 1, 4], subnetPrefixLength: 30, hostIndex: 2 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/zones must not repeat/);
    expect(message).toMatch(/zone numbers are 1-3, got 4/);
    expect(message).toMatch(/subnetPrefixLength must be 16-29/);
    expect(message).toMatch(/hostIndex must be/);
  });

  it('rejects single-zone plans, unknown regions without prefixes, overlapping custom prefixes and reserved host offsets', () => {
    expect(() => planSubnets({ region: 'us-south', zones: [1] })).toThrow(/at least 2 zones/);
    expect(() => planSubnets({ region: 'xx-nowhere', zones: [1, 2] })).toThrow(/no default address prefix is known for region xx-nowhere/);
    expect(() => planSubnets({ region: 'xx-test', zones: [1, 2], zonePrefixes: { 'xx-test-1': '10.0.0.0/16', 'xx-test-2': '10.0.0.0/16' } })).toThrow(/would overlap/);
    expect(() => planSubnets({ region: 'us-south', zones: [1, 2], hostIndex: 3 })).toThrow(/IBM reserves/);
    expect(() => planSubnets({ region: 'us-south', zones: [1, 2], hostIndex: 255 })).toThrow(/hostIndex must be 4-254/);
    expect(() => planSubnets({ region: 'us-south', zones: [1, 2], subnetPrefixLength: 24, subnetIndex: 64 })).toThrow(/past the last \/24/);
  });

  it('node addresses are never IBM-reserved and always inside their subnet (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(DEFAULT_PREFIX_SECOND_OCTET)), fc.integer({ min: 18, max: 28 }), fc.nat(), fc.nat(), (region, len, idx, host) => {
        const size = 2 ** (32 - len);
        const plan = planSubnets({ region, zones: [1, 2, 3], subnetPrefixLength: len, subnetIndex: idx % 2 ** (len - 18), hostIndex: 4 + (host % (size - 5)) });
        for (const z of plan.zoneNames) {
          const p = plan.zones[z]!;
          const offset = Number(p.nodeIp.split('.').reduce((acc, o) => acc * 256n + BigInt(o), 0n) - p.cidr.split('/')[0]!.split('.').reduce((acc, o) => acc * 256n + BigInt(o), 0n));
          expect(offset).toBeGreaterThanOrEqual(4);
          expect(offset).toBeLessThan(size - 1);
          expect(cidrContains(p.zonePrefix, p.cidr)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
