/**
 * ValidateResourceConfig / ValidateDataResourceConfig with terraform-plugin-sdk v2 semantics:
 * computed-only attributes refused, then per attribute and in the SDK's order: ExactlyOneOf,
 * AtLeastOneOf, (absent: stop), RequiredWith, (not wholly known: stop), ConflictsWith, deprecation,
 * value rules. Rules of a nested block's attributes run once per element of that block.
 */
import { error, sdkKey, warning, type Diag, type Path } from './diagnostics.js';
import type { AttributeRule, TypeRules } from './rules.js';
import type { JsonBlock } from './schema.js';
import { checkValue, type Scalar } from './value-checks.js';
import { isNull, isRecord, isWhollyKnown, UNKNOWN, type Value, type ValueRecord } from './values.js';

interface Slot {
  /** Path of the attribute or block inside the resource. */
  readonly path: Path;
  readonly value: Value | undefined;
  readonly isBlock: boolean;
}

function unconfigurable(block: JsonBlock, value: Value | undefined, path: Path, out: Diag[]): void {
  if (!isRecord(value)) return;
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    if (attr.computed && !attr.optional && !attr.required && !isNull(value[name])) {
      const at = [...path, { attr: name }];
      out.push(error('Value for unconfigurable attribute', `Can't configure a value for ${JSON.stringify(sdkKey(at))}: its value will be decided automatically based on the result of applying this configuration.`, at));
    }
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    const v = value[name];
    const at = [...path, { attr: name }];
    if (Array.isArray(v)) v.forEach((item, i) => unconfigurable(nested.block, item, [...at, { index: i }], out));
    else if (nested.nesting_mode === 'map' && isRecord(v)) for (const [k, item] of Object.entries(v)) unconfigurable(nested.block, item, [...at, { key: k }], out);
    else unconfigurable(nested.block, v, at, out);
  }
}

/** Every place a rule path (`dns.resolver.type`) names in the configuration: one per element of each enclosing block. */
function slotsOf(root: JsonBlock, config: ValueRecord, rulePath: string): Slot[] {
  const names = rulePath.split('.');
  const last = names.pop() as string;
  let level: { block: JsonBlock; obj: ValueRecord; path: Path }[] = [{ block: root, obj: config, path: [] }];
  for (const name of names) {
    const next: typeof level = [];
    for (const { block, obj, path } of level) {
      const nested = block.block_types?.[name];
      if (!nested) return [];
      const v = obj[name];
      const at = [...path, { attr: name }];
      if (Array.isArray(v)) v.forEach((item, i) => isRecord(item) && next.push({ block: nested.block, obj: item, path: [...at, { index: i }] }));
      else if (nested.nesting_mode === 'map' && isRecord(v)) for (const [k, item] of Object.entries(v)) isRecord(item) && next.push({ block: nested.block, obj: item, path: [...at, { key: k }] });
      else if (isRecord(v)) next.push({ block: nested.block, obj: v, path: at });
    }
    level = next;
  }
  return level
    .filter(({ block }) => block.attributes?.[last] !== undefined || block.block_types?.[last] !== undefined)
    .map(({ block, obj, path }) => ({ path: [...path, { attr: last }], value: obj[last], isBlock: block.block_types?.[last] !== undefined }));
}

/** Set as the SDK's ResourceConfig.Get sees it: present and not null; an empty list of blocks is not set; unknown counts as set. */
function isSet(value: Value | undefined, isBlock: boolean): boolean {
  if (isNull(value)) return false;
  if (isBlock && Array.isArray(value)) return value.length > 0;
  return true;
}

/** Resolves an SDK key (`boot_volume.0.snapshot`) from the resource root. */
function lookup(root: JsonBlock, config: ValueRecord, key: string): { set: boolean; unknown: boolean } {
  let block: JsonBlock | undefined = root;
  let value: Value | undefined = config;
  let isBlock = false;
  for (const part of key.split('.')) {
    if (value === UNKNOWN) return { set: true, unknown: true };
    if (/^\d+$/.test(part)) {
      value = Array.isArray(value) ? value[Number(part)] : undefined;
      isBlock = false;
      continue;
    }
    if (!isRecord(value)) return { set: false, unknown: false };
    const nested: JsonBlock | undefined = block?.block_types?.[part]?.block;
    isBlock = nested !== undefined;
    value = value[part];
    block = nested;
  }
  return { set: isSet(value, isBlock), unknown: value === UNKNOWN };
}

const allKeysOf = (list: readonly string[], key: string) => [...new Set([...list, key])].sort();

function crossFieldChecks(root: JsonBlock, config: ValueRecord, rule: AttributeRule, slot: Slot, key: string): { diags: Diag[]; stop: boolean } {
  const at = slot.path;
  if (rule.exactly_one_of?.length) {
    const keys = allKeysOf(rule.exactly_one_of, key);
    const states = keys.map((k) => ({ k, ...lookup(root, config, k) }));
    const unknown = states.filter((s) => s.unknown).length;
    const specified = states.filter((s) => s.set && !s.unknown).map((s) => s.k);
    if (specified.length === 0 && unknown === 0) return { diags: [error('Invalid combination of arguments', `${JSON.stringify(key)}: one of \`${keys.join(',')}\` must be specified`, at)], stop: true };
    if (specified.length > 1) return { diags: [error('Invalid combination of arguments', `${JSON.stringify(key)}: only one of \`${keys.join(',')}\` can be specified, but \`${specified.join(',')}\` were specified.`, at)], stop: true };
  }
  if (rule.at_least_one_of?.length) {
    const keys = allKeysOf(rule.at_least_one_of, key);
    if (!keys.some((k) => lookup(root, config, k).set)) return { diags: [error('Missing required argument', `${JSON.stringify(key)}: one of \`${keys.join(',')}\` must be specified`, at)], stop: true };
  }
  if (!isSet(slot.value, slot.isBlock)) return { diags: [], stop: true };
  if (rule.required_with?.length) {
    const keys = allKeysOf(rule.required_with, key);
    if (!keys.every((k) => lookup(root, config, k).set)) return { diags: [error('Missing required argument', `${JSON.stringify(key)}: all of \`${keys.join(',')}\` must be specified`, at)], stop: true };
  }
  if (!isWhollyKnown(slot.value)) return { diags: [], stop: true };
  for (const other of rule.conflicts_with ?? []) {
    const state = lookup(root, config, other);
    if (state.set && !state.unknown) return { diags: [error('Conflicting configuration arguments', `${JSON.stringify(key)}: conflicts with ${other}`, at)], stop: true };
  }
  return { diags: [], stop: false };
}

const isScalar = (v: Value | undefined): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function valueChecks(rule: AttributeRule, slot: Slot, key: string): Diag[] {
  const out: Diag[] = [];
  const value = slot.value;
  if (isScalar(value)) for (const message of checkValue(rule, value, key)) out.push(error(message, undefined, slot.path));
  const elem = rule.elem;
  if (elem && !elem.no_op) {
    const entries: [string | number, Value][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : isRecord(value) ? Object.entries(value) : [];
    for (const [k, item] of entries) {
      if (!isScalar(item)) continue;
      const path: Path = [...slot.path, typeof k === 'number' ? { index: k } : { key: k }];
      for (const message of checkValue(elem, item, `${key}.${k}`)) out.push(error(message, undefined, path));
    }
  }
  return out;
}

export function validateConfig(root: JsonBlock, rules: TypeRules, config: Value): Diag[] {
  if (!isRecord(config)) return [];
  const diags: Diag[] = [];
  unconfigurable(root, config, [], diags);
  for (const [rulePath, rule] of Object.entries(rules)) {
    for (const slot of slotsOf(root, config, rulePath)) {
      const key = sdkKey(slot.path);
      const { diags: found, stop } = crossFieldChecks(root, config, rule, slot, key);
      diags.push(...found);
      if (stop) continue;
      if (rule.deprecated) diags.push(warning('Argument is deprecated', rule.deprecated, slot.path));
      diags.push(...valueChecks(rule, slot, key));
    }
  }
  return diags;
}
