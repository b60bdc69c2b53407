import { Construct } from 'constructs';
import { IsSecurityGroup } from '../../.gen/providers/ibm/is-security-group/index.js';
import { IsSecurityGroupRule } from '../../.gen/providers/ibm/is-security-group-rule/index.js';
import { IsSubnet } from '../../.gen/providers/ibm/is-subnet/index.js';
import { IsSubnetReservedIp } from '../../.gen/providers/ibm/is-subnet-reserved-ip/index.js';
import { IsVpc } from '../../.gen/providers/ibm/is-vpc/index.js';
import { IsVpcAddressPrefix } from '../../.gen/providers/ibm/is-vpc-address-prefix/index.js';
import { ModuleValidationError } from '../shared/errors.js';
import { planAcl, type AclRule } from './plan-acl.js';
import { IsNetworkAcl } from '../../.gen/providers/ibm/is-network-acl/index.js';
import { parseCidr, type SubnetPlan } from './plan-subnets.js';

/**
 * IBM Cloud's private service networks: 166.8.0.0/14 holds the cloud service endpoints (private IAM, Key
 * Protect, Databases for PostgreSQL), 161.26.0.0/16 the infrastructure services (DNS, NTP, the package
 * mirrors, Object Storage direct endpoints). The nodes reach nothing else.
 */
export const IBM_SERVICE_NETWORKS = ['166.8.0.0/14', '161.26.0.0/16'] as const;

export interface KmipNetworkProps {
  /** VPC name and prefix of the other names. */
  readonly name: string;
  readonly resourceGroupId: string;
  /** The subnet plan (pure, from planSubnets). */
  readonly plan: SubnetPlan;
  /** vCenter and ESXi networks: the only sources allowed to reach KMIP (5696). */
  readonly kmipClientCidrs: readonly string[];
  /**
   * Operator networks allowed on the admin port (9696: kmipctl with an admin client certificate, health,
   * metrics), in addition to the cluster's own subnets. @default [] (only the subnets)
   */
  readonly operatorCidrs?: readonly string[];
  /** Sources allowed to SSH to the nodes. @default [] (SSH closed) */
  readonly sshCidrs?: readonly string[];
  /** A load balancer gets its own security group and reaches the nodes on KMIP and the admin port. @default false */
  readonly loadBalancer?: boolean;
  readonly kmipPort: number;
  readonly adminPort: number;
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * A VPC with manual address prefixes (one per zone, as planned), one subnet per zone with an explicit network
 * ACL, a reserved address per node, and the security groups:
 * - nodes: KMIP only from the configured vCenter/ESXi networks (and the load balancer), the admin port from the
 *   subnets, the operator networks and the load balancer, SSH closed unless asked for, egress only to IBM
 *   Cloud's private service networks;
 * - load balancer (when there is one): KMIP from the vCenter/ESXi networks in, KMIP and the health port out to
 *   the nodes' group and nothing else.
 * The VPC is created with `no_sg_acl_rules`, so its default security group and ACL allow nothing; the subnets
 * use the ACL made here (plan-acl.ts), never the empty default one. Subnets are keyed by zone name.
 */
export class KmipNetwork extends Construct {
  readonly vpc: IsVpc;
  readonly addressPrefixes: Readonly<Record<string, IsVpcAddressPrefix>>;
  readonly acl: IsNetworkAcl;
  readonly aclRules: readonly AclRule[];
  readonly subnets: Readonly<Record<string, IsSubnet>>;
  /** The node's fixed address, reserved before anything else (a load balancer) can take it. */
  readonly nodeAddresses: Readonly<Record<string, IsSubnetReservedIp>>;
  readonly nodeSecurityGroup: IsSecurityGroup;
  readonly loadBalancerSecurityGroup?: IsSecurityGroup;
  readonly plan: SubnetPlan;

  constructor(scope: Construct, id: string, props: KmipNetworkProps) {
    super(scope, id);
    this.plan = props.plan;
    if (props.kmipClientCidrs.length === 0) throw new ModuleValidationError('kmipClientCidrs must list the vCenter/ESXi networks (at least one)', this);
    const cidrProblems: string[] = [];
    for (const [name, list] of [['kmipClientCidrs', props.kmipClientCidrs], ['operatorCidrs', props.operatorCidrs ?? []], ['sshCidrs', props.sshCidrs ?? []]] as const) {
      for (const c of list) {
        try {
          if (parseCidr(c).prefixLength === 0) cidrProblems.push(`${name}: ${c} opens the port to every address`);
        } catch (err) {
          cidrProblems.push(`${name}: ${(err as Error).message}`);
        }
      }
    }
    if (cidrProblems.length) throw new ModuleValidationError(cidrProblems.join('; '), this);
    const tags = props.tags ? [...props.tags] : undefined;
    const subnetCidrs = props.plan.zoneNames.map((z) => props.plan.zones[z]!.cidr);

    this.vpc = new IsVpc(this, 'Resource', {
      name: props.name,
      resourceGroup: props.resourceGroupId,
      addressPrefixManagement: 'manual',
      noSgAclRules: true,
      ...(tags ? { tags } : {}),
    });

    const prefixes: Record<string, IsVpcAddressPrefix> = {};
    for (const zone of props.plan.zoneNames) {
      const z = props.plan.zones[zone]!;
      prefixes[zone] = new IsVpcAddressPrefix(this, `Prefix-${zone}`, { name: `${props.name}-${zone}`, vpc: this.vpc.id, zone, cidr: z.zonePrefix, isDefault: true });
    }
    this.addressPrefixes = prefixes;

    this.aclRules = planAcl({
      subnetCidrs,
      kmipClientCidrs: props.kmipClientCidrs,
      operatorCidrs: props.operatorCidrs ?? [],
      sshCidrs: props.sshCidrs ?? [],
      serviceNetworks: IBM_SERVICE_NETWORKS,
      kmipPort: props.kmipPort,
      adminPort: props.adminPort,
    });
    this.acl = new IsNetworkAcl(this, 'Acl', {
      name: `${props.name}-acl`,
      vpc: this.vpc.id,
      resourceGroup: props.resourceGroupId,
      rules: this.aclRules.map((r) => ({
        name: r.name,
        action: r.action,
        direction: r.direction,
        source: r.source,
        destination: r.destination,
        // Provider 1.89.0 deprecates the tcp/udp/icmp sub-blocks of a rule for these rule-level fields.
        ...(r.tcp ? { protocol: 'tcp', portMin: r.tcp.portMin, portMax: r.tcp.portMax, sourcePortMin: r.tcp.sourcePortMin, sourcePortMax: r.tcp.sourcePortMax } : { protocol: 'icmp_tcp_udp' }),
      })),
      ...(tags ? { tags } : {}),
    });

    const subnets: Record<string, IsSubnet> = {};
    const addresses: Record<string, IsSubnetReservedIp> = {};
    for (const zone of props.plan.zoneNames) {
      const z = props.plan.zones[zone]!;
      subnets[zone] = new IsSubnet(this, `Subnet-${zone}`, {
        name: `${props.name}-${zone}`,
        vpc: this.vpc.id,
        zone,
        ipv4CidrBlock: z.cidr,
        networkAcl: this.acl.id,
        resourceGroup: props.resourceGroupId,
        // A subnet must lie inside an address prefix of its zone, which therefore must exist first.
        dependsOn: [prefixes[zone]!],
        ...(tags ? { tags } : {}),
      });
      addresses[zone] = new IsSubnetReservedIp(this, `NodeAddress-${zone}`, {
        subnet: subnets[zone].id,
        name: `${props.name}-${zone}-node`,
        address: z.nodeIp,
        // The address outlives the instance that uses it: a replaced node gets the same one back.
        autoDelete: false,
      });
    }
    this.subnets = subnets;
    this.nodeAddresses = addresses;

    this.nodeSecurityGroup = new IsSecurityGroup(this, 'NodeSecurityGroup', {
      name: `${props.name}-nodes`,
      vpc: this.vpc.id,
      resourceGroup: props.resourceGroupId,
      ...(tags ? { tags } : {}),
    });
    const rule = (group: string, id: string, direction: 'inbound' | 'outbound', remote: string, port?: number) =>
      new IsSecurityGroupRule(this, id, {
        group,
        direction,
        remote,
        // Provider 1.89.0 knows tcp, udp, icmp and icmp_tcp_udp (every protocol); "all" is refused at plan.
        ...(port !== undefined ? { protocol: 'tcp', portMin: port, portMax: port } : { protocol: 'icmp_tcp_udp' }),
      });
    const sg = this.nodeSecurityGroup.id;
    for (const cidr of props.kmipClientCidrs) rule(sg, `KmipFrom-${cidr}`, 'inbound', cidr, props.kmipPort);
    // An operator network equal to a subnet adds nothing (and would be a second rule with the same id).
    for (const cidr of new Set([...subnetCidrs, ...(props.operatorCidrs ?? [])])) rule(sg, `AdminFrom-${cidr}`, 'inbound', cidr, props.adminPort);
    for (const cidr of props.sshCidrs ?? []) rule(sg, `SshFrom-${cidr}`, 'inbound', cidr, 22);
    for (const cidr of IBM_SERVICE_NETWORKS) rule(sg, `EgressTo-${cidr}`, 'outbound', cidr);

    if (props.loadBalancer) {
      this.loadBalancerSecurityGroup = new IsSecurityGroup(this, 'LoadBalancerSecurityGroup', {
        name: `${props.name}-lb`,
        vpc: this.vpc.id,
        resourceGroup: props.resourceGroupId,
        ...(tags ? { tags } : {}),
      });
      const lb = this.loadBalancerSecurityGroup.id;
      for (const cidr of props.kmipClientCidrs) rule(lb, `LbKmipFrom-${cidr}`, 'inbound', cidr, props.kmipPort);
      rule(lb, 'LbKmipToNodes', 'outbound', sg, props.kmipPort);
      rule(lb, 'LbHealthToNodes', 'outbound', sg, props.adminPort);
      rule(sg, 'KmipFromLb', 'inbound', lb, props.kmipPort);
      rule(sg, 'AdminFromLb', 'inbound', lb, props.adminPort);
    }
  }

  subnetId(zone: string): string {
    const s = this.subnets[zone];
    if (!s) throw new ModuleValidationError(`no subnet planned for zone ${zone}`, this);
    return s.id;
  }

  nodeAddress(zone: string): IsSubnetReservedIp {
    const a = this.nodeAddresses[zone];
    if (!a) throw new ModuleValidationError(`no node address planned for zone ${zone}`, this);
    return a;
  }
}
