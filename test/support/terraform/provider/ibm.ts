/**
 * The fake `ibm-cloud/ibm` 1.89.0: the pinned schema and plan-time rules from the project
 * (scripts/schema/), SDKv2 behaviour (legacy type system), IBM-looking fakes, and two checks the
 * real provider makes in code rather than in its schema.
 */
import { error, type Diag } from './diagnostics.js';
import type { ProviderDefinition } from './definition.js';
import { ibmCatalog, vpcCompanions } from './ibm-catalog.js';
import { ibmDataAnswer } from './ibm-data.js';
import { loadRules } from './rules.js';
import { loadProviderSchema } from './schema.js';
import { isRecord, type ValueRecord } from './values.js';

/** ibm_database's CustomizeDiff refuses two `group` blocks with the same group_id. */
function duplicateDatabaseGroups(planned: ValueRecord): Diag[] {
  const groups = Array.isArray(planned['group']) ? planned['group'].filter(isRecord) : [];
  const seen = new Set<string>();
  for (const group of groups) {
    const id = group['group_id'];
    if (typeof id !== 'string') continue;
    if (seen.has(id)) return [error(`found 2 or more instances of group with group_id ${id}`)];
    seen.add(id);
  }
  return [];
}

/**
 * ibm_is_security_group_rule: ports only go with tcp or udp. The provider refuses the others when
 * it builds the API request, so the fake refuses them at apply too, not at plan.
 */
function securityGroupRulePorts(planned: ValueRecord): Diag[] {
  const protocol = typeof planned['protocol'] === 'string' ? planned['protocol'] : 'icmp_tcp_udp';
  const hasPorts = planned['port_min'] !== null && planned['port_min'] !== undefined ? true : planned['port_max'] !== null && planned['port_max'] !== undefined;
  if (hasPorts && protocol !== 'tcp' && protocol !== 'udp') {
    return [error('Error creating security group rule', `port_min and port_max can only be set with protocol tcp or udp, not ${JSON.stringify(protocol)}`, [{ attr: 'protocol' }])];
  }
  return [];
}

export interface IbmFiles {
  readonly schemaFile: string;
  readonly rulesFile: string | undefined;
}

export function ibmProvider(files: IbmFiles): ProviderDefinition {
  return {
    name: 'ibm',
    schema: loadProviderSchema(files.schemaFile, 'ibm'),
    rules: loadRules(files.rulesFile),
    legacyTypeSystem: true,
    catalog: ibmCatalog,
    usesCloudStore: true,
    regionOf: (config) => (typeof config['region'] === 'string' && config['region'] !== '' ? config['region'] : process.env['IC_REGION'] ?? 'us-south'),
    customizeDiff: (type, planned) => (type === 'ibm_database' ? duplicateDatabaseGroups(planned) : []),
    checkApply: (type, planned) => (type === 'ibm_is_security_group_rule' ? securityGroupRulePorts(planned) : []),
    dataAnswer: ibmDataAnswer,
    companions: (type, value) => (type === 'ibm_is_vpc' ? vpcCompanions(value) : []),
  };
}
