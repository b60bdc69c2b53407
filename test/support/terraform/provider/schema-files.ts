/**
 * Where the fake providers read their schemas and rules: the project's pinned copies under
 * scripts/schema/ first. The provider reads them at every start, so a schema that grows needs no
 * rebuild of the provider bundle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface SchemaFiles {
  readonly ibmSchema: string;
  /** Undefined when no copy exists: then no plan-time rules are enforced. */
  readonly ibmRules: string | undefined;
  readonly timeSchema: string;
  /** Undefined when the project has no copy: then time.ts's built-in rules apply. */
  readonly timeRules: string | undefined;
}

const firstExisting = (candidates: readonly string[]) => candidates.find((file) => existsSync(file));

/** A last resort for the rules while the project copy is being added; the project must not depend on it. */
const SHARED_RULES = '/work/shared/reference/ibm-provider-validators-1.89.0.json';

export function schemaFiles(repoRoot: string): SchemaFiles {
  return {
    ibmSchema: join(repoRoot, 'scripts/schema/ibm-provider-schema-1.89.0.json'),
    ibmRules: firstExisting([join(repoRoot, 'scripts/schema/ibm-provider-validators-1.89.0.json'), SHARED_RULES]),
    timeSchema: join(repoRoot, 'scripts/schema/time-provider-schema-0.13.1.json'),
    timeRules: firstExisting([join(repoRoot, 'scripts/schema/time-provider-validators-0.13.1.json')]),
  };
}
