import { Construct } from 'constructs';
import { IsSecurityGroup } from '../../.gen/providers/ibm/is-security-group/index.js';
import { IsSecurityGroupRule } from '../../.gen/providers/ibm/is-security-group-rule/index.js';
import { IsSubnet } from '../../.gen/providers/ibm/is-subnet/index.js';
import { IsVpc } from '../../.gen/providers/ibm/is-vpc/index.js';
import { ModuleValidationError } from '../shared/errors.js';
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
   * metrics), in addition to the cluster's own subnets, which always reach it (the load balancer's health
   * checks come from there). @default [] (only the subnets)
   */
  readonly operatorCidrs?: readonly string[];
  /** Sources allowed to SSH to the nodes. @default [] (SSH closed) */
  readonly sshCidrs?: readonly string[];
  /** The nodes also take KMIP from inside their subnets (a private load balancer forwards from there). @default false */
  readonly kmipFromSubnets?: boolean;
  readonly kmipPort: number;
  readonly adminPort: number;
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * A VPC with one subnet per zone as planned, and the nodes' security group: KMIP only from the configured
 * vCenter/ESXi networks, the admin port from inside and the named operator networks, SSH closed unless asked
 * for, and egress only to IBM Cloud's private service networks. Subnets are keyed by zone name, never by
 * position.
 */
export class KmipNetwork extends Construct {
  readonly vpc: IsVpc;
  readonly subnets: Readonly<Record<string, IsSubnet>>;
  readonly nodeSecurityGroup: IsSecurityGroup;
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

    this.vpc = new IsVpc(this, 'Resource', {
      name: props.name,
      resourceGroup: props.resourceGroupId,
      addressPrefixManagement: 'auto',
      noSgAclRules: true,
      ...(tags ? { tags } : {}),
    });

    const subnets: Record<string, IsSubnet> = {};
    for (const zone of props.plan.zoneNames) {
      const z = props.plan.zones[zone]!;
      subnets[zone] = new IsSubnet(this, `Subnet-${zone}`, {
        name: `${props.name}-${zone}`,
        vpc: this.vpc.id,
        zone,
        ipv4CidrBlock: z.cidr,
        resourceGroup: props.resourceGroupId,
        ...(tags ? { tags } : {}),
      });
    }
    this.subnets = subnets;
    const subnetCidrs = props.plan.zoneNames.map((z) => props.plan.zones[z]!.cidr);

    this.nodeSecurityGroup = new IsSecurityGroup(this, 'NodeSecurityGroup', {
      name: `${props.name}-nodes`,
      vpc: this.vpc.id,
      resourceGroup: props.resourceGroupId,
      ...(tags ? { tags } : {}),
    });
    const sg = this.nodeSecurityGroup.id;
    const rule = (id: string, direction: 'inbound' | 'outbound', remote: string, port?: number) =>
      new IsSecurityGroupRule(this, id, {
        group: sg,
        direction,
        remote,
        ...(port !== undefined ? { protocol: 'tcp', portMin: port, portMax: port } : { protocol: 'all' }),
      });
    for (const cidr of props.kmipClientCidrs) rule(`KmipFrom-${cidr}`, 'inbound', cidr, props.kmipPort);
    if (props.kmipFromSubnets) for (const cidr of subnetCidrs) rule(`KmipFromSubnet-${cidr}`, 'inbound', cidr, props.kmipPort);
    // The subnets always: health checks must reach every node. An operator network equal to a subnet adds
    // nothing (and would be a second rule with the same id).
    for (const cidr of new Set([...subnetCidrs, ...(props.operatorCidrs ?? [])])) rule(`AdminFrom-${cidr}`, 'inbound', cidr, props.adminPort);
    for (const cidr of props.sshCidrs ?? []) rule(`SshFrom-${cidr}`, 'inbound', cidr, 22);
    for (const cidr of IBM_SERVICE_NETWORKS) rule(`EgressTo-${cidr}`, 'outbound', cidr);
  }

  subnetId(zone: string): string {
    const s = this.subnets[zone];
    if (!s) throw new ModuleValidationError(`no subnet planned for zone ${zone}`, this);
    return s.id;
  }
}
