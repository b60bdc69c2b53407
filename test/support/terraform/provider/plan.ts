/**
 * PlanResourceChange, schema-driven. Terraform's proposed new state already merges the
 * configuration with prior computed values; what a provider adds (and what this does the way an
 * SDKv2 provider does):
 * - computed attributes with no value become unknown where there is no prior object to keep one;
 * - SDK defaults fill attributes the configuration leaves null;
 * - a changed ForceNew attribute becomes a requires_replace path.
 * Nested blocks: list and single elements pair with the prior element at the same place, set
 * elements with the prior element whose configurable attributes hold the same values.
 */
import type { Path } from './diagnostics.js';
import { defaultsAt, type TypeRules } from './rules.js';
import { attributeType, type JsonBlock, type JsonNestedBlock, type TypeExpr } from './schema.js';
import { isNull, isRecord, sameSet, sameValue, UNKNOWN, type Value, type ValueRecord } from './values.js';

const isSetType = (t: TypeExpr) => Array.isArray(t) && t[0] === 'set';

function planBlock(block: JsonBlock, rules: TypeRules, prefix: string, proposed: ValueRecord, prior: ValueRecord | undefined): ValueRecord {
  const out: ValueRecord = {};
  const defaults = defaultsAt(rules, prefix);
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    let v: Value = proposed[name] ?? null;
    if (attr.computed && isNull(v)) v = prior ? (prior[name] ?? null) : UNKNOWN;
    else if (!attr.computed && isNull(v) && defaults.has(name)) v = defaults.get(name) ?? null;
    out[name] = v;
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    out[name] = planNested(nested, rules, `${prefix}${name}.`, proposed[name] ?? null, prior?.[name]);
  }
  return out;
}

/** The attributes a user can set, with defaults filled: what identifies an element of a set of blocks. */
function configurablePart(block: JsonBlock, rules: TypeRules, prefix: string, element: ValueRecord): ValueRecord {
  const defaults = defaultsAt(rules, prefix);
  const out: ValueRecord = {};
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    if (attr.computed) continue;
    const v = element[name] ?? null;
    out[name] = isNull(v) && defaults.has(name) ? (defaults.get(name) ?? null) : v;
  }
  return out;
}

function planNested(nested: JsonNestedBlock, rules: TypeRules, prefix: string, proposed: Value, prior: Value | undefined): Value {
  if (proposed === UNKNOWN) return UNKNOWN;
  switch (nested.nesting_mode) {
    case 'single':
    case 'group':
      if (!isRecord(proposed)) return nested.nesting_mode === 'single' ? null : planBlock(nested.block, rules, prefix, {}, undefined);
      return planBlock(nested.block, rules, prefix, proposed, isRecord(prior) ? prior : undefined);
    case 'list': {
      const priorList = Array.isArray(prior) ? prior : [];
      if (!Array.isArray(proposed)) return [];
      return proposed.map((el, i) => {
        const p = priorList[i];
        return isRecord(el) ? planBlock(nested.block, rules, prefix, el, isRecord(p) ? p : undefined) : el;
      });
    }
    case 'set': {
      if (!Array.isArray(proposed)) return [];
      const unused = (Array.isArray(prior) ? prior : []).filter(isRecord);
      return proposed.map((el) => {
        if (!isRecord(el)) return el;
        const key = configurablePart(nested.block, rules, prefix, el);
        const at = unused.findIndex((p) => sameValue(configurablePart(nested.block, rules, prefix, p), key));
        const match = at >= 0 ? unused.splice(at, 1)[0] : undefined;
        return planBlock(nested.block, rules, prefix, el, match);
      });
    }
    case 'map': {
      const out: ValueRecord = {};
      if (isRecord(proposed)) {
        for (const [k, el] of Object.entries(proposed)) {
          const p = isRecord(prior) ? prior[k] : undefined;
          out[k] = isRecord(el) ? planBlock(nested.block, rules, prefix, el, isRecord(p) ? p : undefined) : el;
        }
      }
      return out;
    }
  }
}

function changed(planned: Value | undefined, prior: Value | undefined, setLike: boolean): boolean {
  if (setLike && Array.isArray(planned) && Array.isArray(prior)) return !sameSet(planned, prior);
  return !sameValue(planned ?? null, prior ?? null);
}

/** Where a ForceNew rule path (`boot_volume.snapshot`) changed between the prior state and the plan. */
function replacePaths(block: JsonBlock, names: readonly string[], planned: ValueRecord | undefined, prior: ValueRecord | undefined, path: Path, out: Path[]): void {
  const [name, ...rest] = names;
  if (name === undefined) return;
  const at: Path = [...path, { attr: name }];
  const nested = block.block_types?.[name];
  if (rest.length === 0) {
    const attr = block.attributes?.[name];
    const setLike = nested ? nested.nesting_mode === 'set' : attr ? isSetType(attributeType(attr)) : false;
    if (changed(planned?.[name], prior?.[name], setLike)) out.push(at);
    return;
  }
  if (!nested) return;
  const p = planned?.[name];
  const q = prior?.[name];
  if (p === UNKNOWN) {
    out.push(at);
    return;
  }
  if (nested.nesting_mode === 'single' || nested.nesting_mode === 'group') {
    replacePaths(nested.block, rest, isRecord(p) ? p : undefined, isRecord(q) ? q : undefined, at, out);
    return;
  }
  const elements = (v: Value | undefined) => (Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : []).filter(isRecord);
  const pl = elements(p);
  const ql = elements(q);
  if (nested.nesting_mode === 'list') {
    for (let i = 0; i < Math.max(pl.length, ql.length); i++) replacePaths(nested.block, rest, pl[i], ql[i], [...at, { index: i }], out);
    return;
  }
  // Set and map elements have no stable index: they are compared as a set of the values the path leads to.
  const project = (el: ValueRecord) => valueAt(rest, el);
  if (!sameSet(pl.map(project), ql.map(project))) out.push(at);
}

function valueAt(names: readonly string[], v: Value | undefined): Value {
  const [name, ...rest] = names;
  if (name === undefined) return v ?? null;
  if (Array.isArray(v)) return v.map((item) => valueAt(names, item));
  return isRecord(v) ? valueAt(rest, v[name]) : null;
}

export interface PlanResult {
  readonly planned: Value;
  readonly requiresReplace: Path[];
}

export function planResource(block: JsonBlock, rules: TypeRules, prior: Value, proposed: Value): PlanResult {
  if (!isRecord(proposed)) return { planned: null, requiresReplace: [] };
  const priorObj = isRecord(prior) ? prior : undefined;
  const planned = planBlock(block, rules, '', proposed, priorObj);
  const requiresReplace: Path[] = [];
  if (priorObj) {
    for (const [rulePath, rule] of Object.entries(rules)) {
      if (rule.force_new) replacePaths(block, rulePath.split('.'), planned, priorObj, [], requiresReplace);
    }
  }
  return { planned, requiresReplace };
}
