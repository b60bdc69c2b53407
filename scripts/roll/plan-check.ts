/**
 * The roll's safety check on Terraform's plan (`terraform show -json <plan>`): a step may replace or update the
 * node of the zone it moves and nothing else that serves keys. Anything else is refused before it is applied.
 */

interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly change: { readonly actions: readonly string[] };
}

export interface PlanVerdict {
  readonly ok: boolean;
  /** Addresses this step changes (create, update, delete or replace). */
  readonly changed: readonly string[];
  readonly problems: readonly string[];
}

/** Types whose change would touch a serving node or the keys: only the moving zone's node may change. */
const GUARDED = new Set(['ibm_is_instance', 'ibm_kms_key', 'ibm_resource_instance', 'ibm_database', 'ibm_is_lb', 'ibm_is_lb_pool_member', 'ibm_is_subnet_reserved_ip']);

export function checkRollPlan(planJson: unknown, allowedInstance: string): PlanVerdict {
  const changes = ((planJson as { resource_changes?: ResourceChange[] }).resource_changes ?? []).filter((c) => !(c.change.actions.length === 1 && ['no-op', 'read'].includes(c.change.actions[0]!)));
  const problems: string[] = [];
  for (const c of changes) {
    if (c.address === allowedInstance) continue;
    if (GUARDED.has(c.type)) problems.push(`${c.address} would be ${c.change.actions.join('+')}`);
    else if (c.change.actions.includes('delete') && c.type !== 'ibm_cos_bucket_object') problems.push(`${c.address} would be ${c.change.actions.join('+')}`);
  }
  return { ok: problems.length === 0, changed: changes.map((c) => `${c.address} (${c.change.actions.join('+')})`), problems };
}
