/**
 * The fake `hashicorp/time` 0.13.1, resource time_sleep only: the plan-time rules of
 * scripts/schema/time-provider-validators-0.13.1.json (a duration pattern, at least one of the two
 * durations, `triggers` replaces), the creation time as id. Sleeps are Go durations scaled by
 * FAKE_TF_SLEEP_SCALE (default 0: no real wait); the operation log records the duration asked for.
 */
import type { ProviderDefinition } from './definition.js';
import type { FakeCatalog } from './fake-values.js';
import { loadRules, type ProviderRules } from './rules.js';
import { loadProviderSchema } from './schema.js';
import { parseGoDuration } from './value-checks.js';
import type { ValueRecord } from './values.js';

const EITHER_DURATION = ['create_duration', 'destroy_duration'];

/** time_sleep's validators and plan modifiers, for when the project has no rules file: Go durations, one of the two, triggers replace. */
const BUILT_IN_RULES: ProviderRules = {
  resources: {
    time_sleep: {
      create_duration: { format: 'duration', at_least_one_of: EITHER_DURATION },
      destroy_duration: { format: 'duration', at_least_one_of: EITHER_DURATION },
      triggers: { force_new: true },
    },
  },
  data_sources: {},
};

const timeCatalog: FakeCatalog = {
  id: (ctx) => ctx.now,
  crn: () => '',
  childId: (ctx) => ctx.rng.uuid(),
  attributes: {},
};

async function sleepFor(value: ValueRecord, attr: string): Promise<{ durationMs?: number }> {
  const text = value[attr];
  const durationMs = typeof text === 'string' ? parseGoDuration(text) : undefined;
  if (durationMs === undefined) return {};
  const scale = Number(process.env['FAKE_TF_SLEEP_SCALE'] ?? '0');
  const wait = Number.isFinite(scale) && scale > 0 ? durationMs * scale : 0;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return { durationMs };
}

export function timeProvider(schemaFile: string, rulesFile: string | undefined): ProviderDefinition {
  return {
    name: 'time',
    schema: loadProviderSchema(schemaFile, 'time'),
    rules: rulesFile ? loadRules(rulesFile) : BUILT_IN_RULES,
    legacyTypeSystem: false,
    catalog: timeCatalog,
    usesCloudStore: false,
    regionOf: () => 'none',
    onCreate: async (type, value) => (type === 'time_sleep' ? sleepFor(value, 'create_duration') : {}),
    onDelete: async (type, prior) => (type === 'time_sleep' ? sleepFor(prior, 'destroy_duration') : {}),
  };
}
