/**
 * The plan-time rules of a provider beyond its schema (ForceNew, Default, validators, cross-field
 * rules, deprecation), in the format of ibm-provider-validators-1.89.0.json: type → dotted attribute
 * path → rule. Keys the fake does not act on (`custom`, `validator`, `source`...) are carried along.
 */
import { readFileSync } from 'node:fs';
import type { Known } from './values.js';

/** Value checks: the parts of a rule that look at one value. */
export interface ValueRule {
  allowed?: string[];
  ignore_case?: boolean;
  allowed_int?: number[];
  int_min?: number;
  int_max?: number;
  float_min?: number;
  float_max?: number;
  regex?: string | string[];
  regex_any?: string[];
  not_regex?: string;
  message?: string;
  length_min?: number;
  length_max?: number;
  format?: string;
  not_in?: string[];
  not_contains?: string;
  not_contains_chars?: string;
  any_of?: ValueRule[];
  no_op?: boolean;
}

export interface AttributeRule extends ValueRule {
  type?: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  elem?: ValueRule;
  conflicts_with?: string[];
  exactly_one_of?: string[];
  at_least_one_of?: string[];
  required_with?: string[];
  force_new?: boolean;
  default?: Known;
  deprecated?: string;
  custom?: string;
  not_applied?: unknown;
}

/** Rules of one resource or data source type, by dotted path (`tcp.port_min`). */
export type TypeRules = Record<string, AttributeRule>;

export interface ProviderRules {
  resources: Record<string, TypeRules>;
  data_sources: Record<string, TypeRules>;
}

interface RulesDocument {
  resources?: Record<string, Record<string, unknown>>;
  data_sources?: Record<string, Record<string, unknown>>;
}

/** Keys starting with `_` are per-type notes (`_customize_diff`, `_constructor`), not attribute rules. */
function attributeRulesOf(entries: Record<string, unknown> | undefined): TypeRules {
  const rules: TypeRules = {};
  for (const [path, rule] of Object.entries(entries ?? {})) {
    if (!path.startsWith('_') && typeof rule === 'object' && rule !== null) rules[path] = rule as AttributeRule;
  }
  return rules;
}

export function loadRules(file: string | undefined): ProviderRules {
  if (!file) return { resources: {}, data_sources: {} };
  const doc = JSON.parse(readFileSync(file, 'utf8')) as RulesDocument;
  const pick = (section: Record<string, Record<string, unknown>> | undefined) =>
    Object.fromEntries(Object.entries(section ?? {}).map(([type, entries]) => [type, attributeRulesOf(entries)]));
  return { resources: pick(doc.resources), data_sources: pick(doc.data_sources) };
}

/** Defaults of one block level: `{attr: value}` for the rules directly under `prefix` (`''` or `boot_volume.`). */
export function defaultsAt(rules: TypeRules, prefix: string): Map<string, Known> {
  const out = new Map<string, Known>();
  for (const [path, rule] of Object.entries(rules)) {
    if (rule.default === undefined || !path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    if (!rest.includes('.')) out.set(rest, rule.default);
  }
  return out;
}
