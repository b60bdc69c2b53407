import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { IsSecurityGroup } from '../../.gen/providers/ibm/is-security-group/index.js';
import { IsSecurityGroupRule } from '../../.gen/providers/ibm/is-security-group-rule/index.js';
import { IsVirtualEndpointGateway } from '../../.gen/providers/ibm/is-virtual-endpoint-gateway/index.js';

export interface EndpointTarget {
  /** Construct id and name suffix, e.g. "kms". */
  readonly id: string;
  /** CRN of the service endpoint or of the instance (may be a token). */
  readonly crn: string;
}

export interface PrivateEndpointsProps {
  readonly name: string;
  readonly vpcId: string;
  readonly resourceGroupId: string;
  /** Subnet ids, one reserved address of each gateway per subnet (zone). */
  readonly subnetIds: readonly string[];
  /** The nodes' security group: the only one that may call the endpoints. */
  readonly nodeSecurityGroupId: string;
  readonly targets: readonly EndpointTarget[];
  /** The nodes' address reservations: a gateway takes an automatic address, so it must come after them. */
  readonly after?: readonly ITerraformDependable[];
  readonly tags?: readonly string[];
}

/** The regional private endpoints of the services the nodes call, as IBM names them for a virtual private endpoint. */
export function serviceEndpointCrns(region: string): { readonly kms: string; readonly cos: string } {
  return {
    kms: `crn:v1:bluemix:public:kms:${region}:::endpoint:private.${region}.kms.cloud.ibm.com`,
    cos: `crn:v1:bluemix:public:cloud-object-storage:global:::endpoint:s3.direct.${region}.cloud-object-storage.appdomain.cloud`,
  };
}

/**
 * Virtual private endpoint gateways (VPE) for Key Protect, Object Storage and the database: the services get an
 * address in each of the stack's subnets and their private host names resolve to it inside the VPC, so the
 * nodes' traffic never leaves the VPC for IBM's service network. Only the nodes' security group may reach them.
 */
export class PrivateEndpoints extends Construct {
  readonly securityGroup: IsSecurityGroup;
  readonly gateways: readonly IsVirtualEndpointGateway[];

  constructor(scope: Construct, id: string, props: PrivateEndpointsProps) {
    super(scope, id);
    const tags = props.tags ? [...props.tags] : undefined;
    this.securityGroup = new IsSecurityGroup(this, 'SecurityGroup', { name: `${props.name}-endpoints`, vpc: props.vpcId, resourceGroup: props.resourceGroupId, ...(tags ? { tags } : {}) });
    new IsSecurityGroupRule(this, 'FromNodes', { group: this.securityGroup.id, direction: 'inbound', remote: props.nodeSecurityGroupId, protocol: 'tcp' });
    new IsSecurityGroupRule(this, 'NodesToEndpoints', { group: props.nodeSecurityGroupId, direction: 'outbound', remote: this.securityGroup.id, protocol: 'tcp' });
    this.gateways = props.targets.map(
      (t) =>
        new IsVirtualEndpointGateway(this, `Gateway-${t.id}`, {
          name: `${props.name}-${t.id}`,
          vpc: props.vpcId,
          resourceGroup: props.resourceGroupId,
          target: { crn: t.crn, resourceType: 'provider_cloud_service' },
          ips: props.subnetIds.map((subnet, i) => ({ subnet, name: `${props.name}-${t.id}-${i + 1}` })),
          securityGroups: [this.securityGroup.id],
          ...(props.after?.length ? { dependsOn: [...props.after] } : {}),
          ...(tags ? { tags } : {}),
        }),
    );
  }
}
