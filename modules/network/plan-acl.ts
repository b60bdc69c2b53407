/**
 * The subnets' network ACL, as a plain rule list (no cdktf). ACLs are stateless, so every allowed flow needs
 * its answer allowed too: a rule for the request and one for the reply (ports swapped). Rules are evaluated in
 * order and the first match decides; the list ends with an explicit deny of everything else in both
 * directions. The security groups (stateful) remain the fine-grained layer; the ACL keeps a misconfigured
 * group from opening a subnet to the world.
 */

export interface AclRule {
  readonly name: string;
  readonly action: 'allow' | 'deny';
  readonly direction: 'inbound' | 'outbound';
  readonly source: string;
  readonly destination: string;
  /** TCP only when given; otherwise every protocol. */
  readonly tcp?: { readonly portMin: number; readonly portMax: number; readonly sourcePortMin: number; readonly sourcePortMax: number };
}

export interface AclInput {
  readonly subnetCidrs: readonly string[];
  readonly kmipClientCidrs: readonly string[];
  readonly operatorCidrs: readonly string[];
  readonly sshCidrs: readonly string[];
  readonly serviceNetworks: readonly string[];
  readonly kmipPort: number;
  readonly adminPort: number;
}

/** IBM allows at most 200 rules in one ACL (inbound and outbound together). */
export const ACL_RULE_LIMIT = 200;
const ANY = '0.0.0.0/0';

export function planAcl(input: AclInput): AclRule[] {
  const rules: AclRule[] = [];
  const slug = (cidr: string) => cidr.replace(/[./]/g, '-');
  /** A TCP service at `port` reached from `clients`: request in, reply out. */
  const service = (what: string, clients: readonly string[], port: number) => {
    for (const c of clients) {
      rules.push({ name: `${what}-in-${slug(c)}`, action: 'allow', direction: 'inbound', source: c, destination: ANY, tcp: { portMin: port, portMax: port, sourcePortMin: 1, sourcePortMax: 65535 } });
      rules.push({ name: `${what}-out-${slug(c)}`, action: 'allow', direction: 'outbound', source: ANY, destination: c, tcp: { portMin: 1, portMax: 65535, sourcePortMin: port, sourcePortMax: port } });
    }
  };
  service('kmip', input.kmipClientCidrs, input.kmipPort);
  service('admin', input.operatorCidrs, input.adminPort);
  service('ssh', input.sshCidrs, 22);
  // Inside the cluster's subnets (load balancer to nodes, health checks, private endpoint gateways).
  for (const c of input.subnetCidrs) {
    rules.push({ name: `cluster-in-${slug(c)}`, action: 'allow', direction: 'inbound', source: c, destination: ANY });
    rules.push({ name: `cluster-out-${slug(c)}`, action: 'allow', direction: 'outbound', source: ANY, destination: c });
  }
  // IBM Cloud's private services: the nodes call them, the answers come back.
  for (const c of input.serviceNetworks) {
    rules.push({ name: `services-out-${slug(c)}`, action: 'allow', direction: 'outbound', source: ANY, destination: c });
    rules.push({ name: `services-in-${slug(c)}`, action: 'allow', direction: 'inbound', source: c, destination: ANY });
  }
  rules.push({ name: 'deny-other-in', action: 'deny', direction: 'inbound', source: ANY, destination: ANY });
  rules.push({ name: 'deny-other-out', action: 'deny', direction: 'outbound', source: ANY, destination: ANY });
  const seen = new Set<string>();
  for (const r of rules) {
    if (r.name.length > 63) throw new Error(`ACL rule name ${r.name} is longer than 63 characters`);
    if (seen.has(r.name)) throw new Error(`ACL rule ${r.name} appears twice (a network listed twice?)`);
    seen.add(r.name);
  }
  if (rules.length > ACL_RULE_LIMIT) throw new Error(`the network ACL would need ${rules.length} rules; IBM allows ${ACL_RULE_LIMIT}: list fewer, wider networks`);
  return rules;
}
