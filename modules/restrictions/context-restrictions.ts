import { Construct } from 'constructs';
import { CbrRule } from '../../.gen/providers/ibm/cbr-rule/index.js';
import { CbrZone } from '../../.gen/providers/ibm/cbr-zone/index.js';
import { ModuleValidationError } from '../shared/errors.js';
import { oneOf } from '../shared/validate.js';
import { parseCidr } from '../network/plan-subnets.js';

export const ENFORCEMENT_MODES = ['report', 'enabled', 'disabled'] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];

/** A service instance the rules protect (an instance the stack owns: never one shared with others). */
export interface ProtectedService {
  /** Label in the rule's description, e.g. "Key Protect". */
  readonly label: string;
  /** IAM service name: kms, databases-for-postgresql, cloud-object-storage. */
  readonly serviceName: string;
  /** Instance GUID (may be a token). */
  readonly serviceInstance: string;
}

export interface ContextRestrictionsProps {
  readonly name: string;
  /** Account id (may be a token). */
  readonly accountId: string;
  /** CRN of the VPC whose nodes call the services. */
  readonly vpcCrn: string;
  /** Where Terraform runs from (it manages keys, uploads assets): needed with "enabled". */
  readonly deployerCidrs: readonly string[];
  /** Operator networks (break-glass database access). */
  readonly operatorCidrs: readonly string[];
  readonly services: readonly ProtectedService[];
  /**
   * IAM service names that call the protected services on their own (Object Storage and Databases for PostgreSQL
   * use the root key to encrypt the bucket and the database): they join the zone as service references, or an
   * enforced Key Protect rule would cut them off their key.
   */
  readonly serviceCallers?: readonly string[];
  /**
   * "report": calls from outside the zone are allowed and logged (Activity Tracker) — the safe way to start;
   * "enabled": they are refused; "disabled": the rules exist but do nothing.
   */
  readonly enforcement: EnforcementMode;
}

/**
 * Context-based restrictions, as IBM's own modules offer them: one network zone (the stack's VPC, the deployer
 * and operator networks) and one rule per service instance the stack owns, so a stolen credential is useless
 * outside those networks. Enforcing without the deployer's networks would lock Terraform itself out of the
 * keys it manages, so that is refused here.
 */
export class ContextRestrictions extends Construct {
  readonly zone: CbrZone;
  readonly rules: readonly CbrRule[];

  constructor(scope: Construct, id: string, props: ContextRestrictionsProps) {
    super(scope, id);
    oneOf(this, 'enforcement', props.enforcement, ENFORCEMENT_MODES);
    if (props.enforcement === 'enabled' && props.deployerCidrs.length === 0) {
      throw new ModuleValidationError('enforcing context-based restrictions needs the deployer networks (where Terraform runs), or the apply that follows locks Terraform out', this);
    }
    const address = (cidr: string) => (parseCidr(cidr).prefixLength === 32 ? { type: 'ipAddress', value: cidr.replace(/\/32$/, '') } : { type: 'subnet', value: cidr });
    this.zone = new CbrZone(this, 'Zone', {
      name: props.name,
      accountId: props.accountId,
      description: 'KMIP for VMware: the nodes (VPC), the deployer and the operators',
      addresses: [
        { type: 'vpc', value: props.vpcCrn },
        ...[...new Set([...props.deployerCidrs, ...props.operatorCidrs])].map(address),
        ...[...new Set(props.serviceCallers ?? [])].map((serviceName) => ({ type: 'serviceRef', ref: { accountId: props.accountId, serviceName } })),
      ],
    });
    this.rules = props.services.map(
      (s) =>
        new CbrRule(this, `Rule-${s.serviceName}`, {
          description: `KMIP for VMware: ${s.label} only from the stack's network zone`,
          enforcementMode: props.enforcement,
          contexts: [{ attributes: [{ name: 'networkZoneId', value: this.zone.id }] }],
          resources: [
            {
              attributes: [
                { name: 'accountId', value: props.accountId },
                { name: 'serviceName', value: s.serviceName },
                { name: 'serviceInstance', value: s.serviceInstance },
              ],
            },
          ],
        }),
    );
  }
}
