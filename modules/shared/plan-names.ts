/**
 * Pure naming rules (no cdktf): IBM Cloud resource names are lower-case letters, digits and dashes, start
 * with a letter, and VPC names stop at 63 characters. Names are part of the contract: changing one replaces
 * the resource, so they depend only on project, environment, region and a role, never on list positions.
 */
export const NAME_MAX = 63;

export function resourceName(...parts: readonly (string | number)[]): string {
  const name = parts
    .map((p) => String(p).toLowerCase().replace(/[^a-z0-9-]+/g, '-'))
    .filter((p) => p.length > 0)
    .join('-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(name)) throw new Error(`resource name must start with a letter: ${JSON.stringify(name)}`);
  if (name.length > NAME_MAX) throw new Error(`resource name ${JSON.stringify(name)} is longer than ${NAME_MAX} characters`);
  return name;
}

/** The stack name users deploy: kmip-<env>-<region>. */
export function stackName(env: string, region: string): string {
  return resourceName('kmip', env, region);
}

/** IBM tags: up to 128 characters of letters, digits, space, _ . - : */
export function normalizeTags(tags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of tags) {
    const tag = t.trim().toLowerCase();
    if (!/^[a-z0-9 _.:-]{1,128}$/.test(tag)) throw new Error(`invalid tag ${JSON.stringify(t)}: letters, digits, space, _ . - : and at most 128 characters`);
    out.add(tag);
  }
  return [...out].sort();
}
