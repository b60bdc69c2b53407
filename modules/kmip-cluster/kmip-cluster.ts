import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { IsInstance } from '../../.gen/providers/ibm/is-instance/index.js';
import { IsLb } from '../../.gen/providers/ibm/is-lb/index.js';
import { IsLbListener } from '../../.gen/providers/ibm/is-lb-listener/index.js';
import { IsLbPool } from '../../.gen/providers/ibm/is-lb-pool/index.js';
import { IsLbPoolMember } from '../../.gen/providers/ibm/is-lb-pool-member/index.js';
import { ModuleValidationError } from '../shared/errors.js';
import { matches } from '../shared/validate.js';
import { ADMIN_PORT, KMIP_PORT, USER_DATA_LIMIT_BYTES, byteLength } from './plan-boot.js';

export interface KmipNode {
  /** Zone name, e.g. "us-south-1"; also the node's key. */
  readonly zone: string;
  readonly subnetId: string;
  /** The node's fixed private address (from the subnet plan). */
  readonly ip: string;
  /** The reserved IP holding that address (`reserved_ip` attribute, a token). */
  readonly reservedIpId: string;
  /** Rendered cloud-config (plan-boot.ts renderCloudConfig) of the release this zone runs. */
  readonly userData: string;
  /** Instance profile of the release this zone runs. */
  readonly profile: string;
  /** Boot volume size in GB of the release this zone runs. */
  readonly bootVolumeGb: number;
}

export interface KmipClusterProps {
  /** Prefix of the instance names: "<name>-<zone>". */
  readonly name: string;
  readonly vpcId: string;
  readonly resourceGroupId: string;
  readonly imageId: string;
  /** Checked before a node is created or replaced (not on destroy): e.g. that an image was found. */
  readonly imagePrecondition?: { readonly condition: string; readonly errorMessage: string };
  /** IAM trusted profile the nodes run as (linked to each instance by the VPC service when it is created). */
  readonly trustedProfileId: string;
  readonly securityGroupIds: readonly string[];
  /** The load balancer's own security group (required with `loadBalancer`). */
  readonly loadBalancerSecurityGroupId?: string;
  /** The reservations of the nodes' addresses: a load balancer is created only after them. */
  readonly addressReservations?: readonly ITerraformDependable[];
  /** What the nodes must wait for (their identity's policies, their assets). */
  readonly nodesDependOn?: readonly ITerraformDependable[];
  readonly nodes: readonly KmipNode[];
  /** SSH key ids for the image's default user. @default none */
  readonly sshKeyIds?: readonly string[];
  /**
   * A private application load balancer in front of the nodes with a TCP listener (TLS passes through to the
   * nodes, so client certificates reach them) and an HTTPS health check on `/readyz` of the admin port (the
   * admin port only speaks HTTPS; readiness needs no client certificate). An application load balancer, not a
   * network one: IBM's network load balancer lives in one zone only, and losing that zone would lose the
   * address; the application one spans the zones of its subnets. vCenter still lists every node itself; the
   * balancer serves clients that take one address.
   * @default false
   */
  readonly loadBalancer?: boolean;
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * One virtual server per zone running the bundled KMIP server, booted unattended by cloud-init. The user data
 * is checked against IBM VPC's 64 KiB limit here (token placeholders are short; the values Terraform puts in
 * their place — the trusted profile id, a database URL and CA — add about 3 KiB, which the limit check reserves).
 */
export class KmipCluster extends Construct {
  readonly instances: Readonly<Record<string, IsInstance>>;
  readonly loadBalancer?: IsLb;
  readonly pool?: IsLbPool;

  /** Room left for the values Terraform substitutes for tokens in the user data. */
  static readonly TOKEN_ALLOWANCE_BYTES = 4096;

  constructor(scope: Construct, id: string, props: KmipClusterProps) {
    super(scope, id);
    if (props.nodes.length < 2) throw new ModuleValidationError(`a key provider cluster needs at least 2 nodes, got ${props.nodes.length}`, this);
    for (const node of props.nodes) matches(this, `nodes[${node.zone}].profile`, node.profile, /^[a-z0-9]+-[0-9]+x[0-9]+$/, 'a VPC instance profile such as bx2-2x8');
    if (props.loadBalancer && !props.loadBalancerSecurityGroupId) throw new ModuleValidationError('a load balancer needs its own security group (loadBalancerSecurityGroupId)', this);
    const tags = props.tags ? [...props.tags] : undefined;
    const instances: Record<string, IsInstance> = {};
    for (const node of props.nodes) {
      const size = byteLength(node.userData) + KmipCluster.TOKEN_ALLOWANCE_BYTES;
      if (size > USER_DATA_LIMIT_BYTES) {
        throw new ModuleValidationError(`user data for ${node.zone} would be about ${size} bytes; IBM VPC accepts at most ${USER_DATA_LIMIT_BYTES}`, this);
      }
      instances[node.zone] = new IsInstance(this, `Node-${node.zone}`, {
        name: `${props.name}-${node.zone}`,
        vpc: props.vpcId,
        zone: node.zone,
        profile: node.profile,
        image: props.imageId,
        resourceGroup: props.resourceGroupId,
        keys: [...(props.sshKeyIds ?? [])],
        userData: node.userData,
        primaryNetworkInterface: {
          subnet: node.subnetId,
          securityGroups: [...props.securityGroupIds],
          primaryIp: { reservedIp: node.reservedIpId },
        },
        bootVolume: { size: node.bootVolumeGb, autoDeleteVolume: true },
        // The node's identity: IAM tokens of the trusted profile from the metadata service, reachable only
        // from the instance itself (one hop). No API key exists anywhere.
        defaultTrustedProfileTarget: props.trustedProfileId,
        defaultTrustedProfileAutoLink: true,
        metadataService: { enabled: true, protocol: 'http', responseHopLimit: 1 },
        lifecycle: {
          // A newer stock image must not replace running nodes, nor may anything else that reaches the user data
          // outside the node's release (database credentials, ids): a plain apply never replaces nodes, all at once
          // least of all. `npm run roll` replaces one zone at a time with -replace, which takes the current values.
          ignoreChanges: ['image', 'user_data'],
          ...(props.imagePrecondition ? { precondition: [props.imagePrecondition] } : {}),
        },
        ...(props.nodesDependOn?.length ? { dependsOn: [...props.nodesDependOn] } : {}),
        ...(tags ? { tags } : {}),
      });
    }
    this.instances = instances;

    if (props.loadBalancer) {
      this.loadBalancer = new IsLb(this, 'LoadBalancer', {
        name: `${props.name}-lb`,
        type: 'private',
        subnets: props.nodes.map((n) => n.subnetId),
        securityGroups: [props.loadBalancerSecurityGroupId!],
        resourceGroup: props.resourceGroupId,
        // The nodes' addresses are reserved first, so the balancer cannot be given one of them.
        ...(props.addressReservations?.length ? { dependsOn: [...props.addressReservations] } : {}),
        ...(tags ? { tags } : {}),
      });
      this.pool = new IsLbPool(this, 'Pool', {
        lb: this.loadBalancer.id,
        name: `${props.name}-kmip`,
        protocol: 'tcp',
        algorithm: 'round_robin',
        // The admin port is HTTPS only (admin client certificates); a plain-http check would fail on every node.
        healthType: 'https',
        healthMonitorUrl: '/readyz',
        healthMonitorPort: ADMIN_PORT,
        healthDelay: 10,
        healthRetries: 2,
        healthTimeout: 5,
      });
      for (const node of props.nodes) {
        new IsLbPoolMember(this, `Member-${node.zone}`, {
          lb: this.loadBalancer.id,
          pool: this.pool.poolId,
          port: KMIP_PORT,
          targetAddress: node.ip,
        });
      }
      new IsLbListener(this, 'Listener', {
        lb: this.loadBalancer.id,
        port: KMIP_PORT,
        protocol: 'tcp',
        defaultPool: this.pool.poolId,
      });
    }
  }
}
