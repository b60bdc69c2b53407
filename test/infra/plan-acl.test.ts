import { describe, expect, it } from 'vitest';
import { ACL_RULE_LIMIT, planAcl, type AclInput } from '../../modules/network/plan-acl.js';
import { cidrContains } from '../../modules/network/plan-subnets.js';

const input: AclInput = {
  subnetCidrs: ['10.200.0.0/24', '10.200.64.0/24'],
  kmipClientCidrs: ['10.50.0.0/24'],
  operatorCidrs: ['192.168.50.0/28'],
  sshCidrs: [],
  serviceNetworks: ['166.8.0.0/14', '161.26.0.0/16'],
  kmipPort: 5696,
  adminPort: 9696,
};

/** Evaluates the rules as IBM does: first match decides; no match denies. */
function decide(rules: ReturnType<typeof planAcl>, p: { direction: 'inbound' | 'outbound'; src: string; dst: string; srcPort: number; dstPort: number }): 'allow' | 'deny' {
  const inside = (cidr: string, ip: string) => cidrContains(cidr, `${ip}/32`);
  for (const r of rules) {
    if (r.direction !== p.direction || !inside(r.source, p.src) || !inside(r.destination, p.dst)) continue;
    if (r.tcp && !(p.dstPort >= r.tcp.portMin && p.dstPort <= r.tcp.portMax && p.srcPort >= r.tcp.sourcePortMin && p.srcPort <= r.tcp.sourcePortMax)) continue;
    return r.action;
  }
  return 'deny';
}

describe('the subnets network ACL (stateless: each flow and its answer)', () => {
  const rules = planAcl(input);
  const node = '10.200.0.4';

  it('lets a vCenter connection to KMIP in and its answers out, and nothing else from that network', () => {
    expect(decide(rules, { direction: 'inbound', src: '10.50.0.7', dst: node, srcPort: 40000, dstPort: 5696 })).toBe('allow');
    expect(decide(rules, { direction: 'outbound', src: node, dst: '10.50.0.7', srcPort: 5696, dstPort: 40000 })).toBe('allow');
    expect(decide(rules, { direction: 'inbound', src: '10.50.0.7', dst: node, srcPort: 40000, dstPort: 22 })).toBe('deny');
    expect(decide(rules, { direction: 'inbound', src: '10.50.0.7', dst: node, srcPort: 40000, dstPort: 9696 })).toBe('deny');
    // the node cannot open connections to vCenter's network on other ports
    expect(decide(rules, { direction: 'outbound', src: node, dst: '10.50.0.7', srcPort: 40000, dstPort: 443 })).toBe('deny');
  });

  it('lets the node reach IBM Cloud private services (Key Protect, Object Storage, DNS, databases) and get the answers', () => {
    for (const service of ['166.9.1.2', '161.26.0.10']) {
      expect(decide(rules, { direction: 'outbound', src: node, dst: service, srcPort: 50000, dstPort: 443 })).toBe('allow');
      expect(decide(rules, { direction: 'inbound', src: service, dst: node, srcPort: 443, dstPort: 50000 })).toBe('allow');
    }
  });

  it('admin port from the operator network; inside the cluster everything; the internet never', () => {
    expect(decide(rules, { direction: 'inbound', src: '192.168.50.3', dst: node, srcPort: 51000, dstPort: 9696 })).toBe('allow');
    expect(decide(rules, { direction: 'outbound', src: node, dst: '192.168.50.3', srcPort: 9696, dstPort: 51000 })).toBe('allow');
    expect(decide(rules, { direction: 'inbound', src: '10.200.64.9', dst: node, srcPort: 1234, dstPort: 9696 })).toBe('allow');
    expect(decide(rules, { direction: 'inbound', src: '8.8.8.8', dst: node, srcPort: 53, dstPort: 5696 })).toBe('deny');
    expect(decide(rules, { direction: 'outbound', src: node, dst: '8.8.8.8', srcPort: 50000, dstPort: 443 })).toBe('deny');
    expect(rules.at(-1)).toMatchObject({ action: 'deny', direction: 'outbound' });
  });

  it('refuses what IBM would: duplicate rule names, too many rules', () => {
    expect(() => planAcl({ ...input, kmipClientCidrs: ['10.50.0.0/24', '10.50.0.0/24'] })).toThrow(/appears twice/);
    const many = Array.from({ length: 120 }, (_, i) => `10.${60 + Math.floor(i / 200)}.${i % 200}.0/24`);
    expect(() => planAcl({ ...input, kmipClientCidrs: many })).toThrow(new RegExp(`IBM allows ${ACL_RULE_LIMIT}`));
    for (const r of rules) expect(r.name).toMatch(/^[a-z][a-z0-9-]{0,62}$/);
  });
});
