/**
 * The resource lifecycle every fake provider shares: validate, plan, apply against the fake cloud,
 * read back (drift), import, data sources; with the operation log and injected failures.
 */
import { error, pathText, type Diag, type Path } from './diagnostics.js';
import type { ProviderDefinition } from './definition.js';
import { fakeOfType, fillUnknowns, type FakeContext } from './fake-values.js';
import type { FailureInjector } from './failures.js';
import { nowMs, type OperationLog } from './oplog.js';
import { planResource } from './plan.js';
import { randomRng, seededRng, stableHex, type Rng } from './rng.js';
import { attributeType, normalizeBlock, type JsonSchema } from './schema.js';
import type { CloudStore } from './store.js';
import { validateConfig } from './validate.js';
import { isNull, isRecord, toKnownRecord, UNKNOWN, type Value, type ValueRecord } from './values.js';

export interface EngineEnvironment {
  readonly store: CloudStore;
  readonly log: OperationLog;
  readonly failures: FailureInjector;
  /** FAKE_TF_SEED: ids and timestamps derived from it instead of random. */
  readonly seed: string | undefined;
  readonly caCertPem: string;
}

const NAME_ATTRIBUTES = ['name', 'key_name', 'bucket_name', 'access_group_name', 'key'];
const nameOf = (v: Value | undefined) => (isRecord(v) ? (NAME_ATTRIBUTES.map((a) => v[a]).find((n) => typeof n === 'string') as string | undefined) : undefined);
const idOf = (v: Value | undefined) => (isRecord(v) && typeof v['id'] === 'string' ? v['id'] : undefined);

/** Stable text of the known part of a value, to seed ids from what is being created. */
function fingerprint(v: Value): string {
  if (v === UNKNOWN) return '?';
  if (Array.isArray(v)) return `[${v.map(fingerprint).join(',')}]`;
  if (isRecord(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${fingerprint(v[k] ?? null)}`).join(',')}}`;
  return JSON.stringify(v);
}

export class Engine {
  private region = 'us-south';

  constructor(
    readonly def: ProviderDefinition,
    private readonly env: EngineEnvironment,
  ) {}

  private schemaOf(type: string, kind: 'resource' | 'data'): JsonSchema {
    const schema = kind === 'resource' ? this.def.schema.resource_schemas?.[type] : this.def.schema.data_source_schemas?.[type];
    if (!schema) throw new Error(`the fake ${this.def.name} provider has no ${kind === 'resource' ? 'resource' : 'data source'} type ${type}`);
    return schema;
  }

  private now(): string {
    return this.env.seed !== undefined ? '2026-01-01T00:00:00Z' : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  private context(type: string, object: ValueRecord, rng: Rng): FakeContext {
    const seed = this.env.seed ?? 'unseeded';
    return {
      provider: this.def.name,
      type,
      region: this.region,
      account: stableHex(32, 'account', seed),
      resourceGroupId: stableHex(32, 'resource-group', 'Default'),
      rng,
      now: this.now(),
      caCertPem: this.env.caCertPem,
      object,
      id: '',
    };
  }

  /** A context whose new id is not taken yet in the fake cloud. */
  private creationContext(type: string, planned: ValueRecord): FakeContext {
    for (let attempt = 0; ; attempt++) {
      const rng = this.env.seed !== undefined ? seededRng(this.env.seed, this.def.name, type, fingerprint(planned), String(attempt)) : randomRng();
      const ctx = this.context(type, { ...planned }, rng);
      ctx.id = this.def.catalog.id(ctx);
      if (!this.def.usesCloudStore || !this.env.store.has(type, ctx.id) || attempt > 100) return ctx;
    }
  }

  private injected(type: string, op: string, value: Value | undefined): string | undefined {
    return this.env.failures.take({ provider: this.def.name, type, op, name: nameOf(value), id: idOf(value) });
  }

  configure(config: Value): Diag[] {
    if (isRecord(config)) this.region = this.def.regionOf(config);
    return [];
  }

  validate(type: string, kind: 'resource' | 'data', config: Value): Diag[] {
    const rules = (kind === 'resource' ? this.def.rules.resources : this.def.rules.data_sources)[type] ?? {};
    return validateConfig(this.schemaOf(type, kind).block, rules, config);
  }

  /** Shapes a stored state to the current schema (attributes added since are null, removed ones dropped). */
  upgrade(type: string, state: Value): Value {
    return isNull(state) ? null : normalizeBlock(this.schemaOf(type, 'resource').block, state);
  }

  plan(type: string, prior: Value, proposed: Value): { planned: Value; requiresReplace: Path[]; diags: Diag[] } {
    const failure = this.injected(type, 'plan', proposed);
    if (failure) return { planned: null, requiresReplace: [], diags: [error(failure)] };
    const block = this.schemaOf(type, 'resource').block;
    const result = planResource(block, this.def.rules.resources[type] ?? {}, prior, proposed);
    const diags = isRecord(result.planned) ? (this.def.customizeDiff?.(type, result.planned, isRecord(prior) ? prior : undefined) ?? []) : [];
    if (result.requiresReplace.length > 0) {
      this.env.log.write({ provider: this.def.name, op: 'plan-replace', type, id: idOf(prior), name: nameOf(prior), requiresReplace: result.requiresReplace.map(pathText) });
    }
    return { planned: result.planned, requiresReplace: result.requiresReplace, diags };
  }

  async apply(type: string, prior: Value, planned: Value): Promise<{ newState: Value; diags: Diag[] }> {
    const op = isNull(planned) ? 'delete' : isNull(prior) ? 'create' : 'update';
    const start = nowMs();
    const subject = op === 'delete' ? prior : planned;
    const failure = this.injected(type, op, subject);
    const block = this.schemaOf(type, 'resource').block;
    if (failure) {
      this.env.log.write({ start, provider: this.def.name, op, type, id: idOf(prior), name: nameOf(subject), failed: failure });
      return { newState: op === 'create' ? null : prior, diags: [error(failure)] };
    }
    if (op === 'delete' && isRecord(prior)) {
      const extra = (await this.def.onDelete?.(type, prior)) ?? {};
      if (this.def.usesCloudStore) {
        const id = idOf(prior);
        if (id) this.env.store.delete(type, id);
        for (const companion of this.def.companions?.(type, prior) ?? []) this.env.store.delete(companion.type, companion.id);
      }
      this.env.log.write({ start, provider: this.def.name, op, type, id: idOf(prior), name: nameOf(prior), ...extra });
      return { newState: null, diags: [] };
    }
    if (!isRecord(planned)) return { newState: null, diags: [] };
    const refused = this.def.checkApply?.(type, planned) ?? [];
    if (refused.some((d) => d.severity === 'ERROR')) return { newState: op === 'create' ? null : prior, diags: refused };
    let ctx: FakeContext;
    if (op === 'create') ctx = this.creationContext(type, planned);
    else {
      ctx = this.context(type, { ...planned }, this.env.seed !== undefined ? seededRng(this.env.seed, type, fingerprint(planned)) : randomRng());
      ctx.id = idOf(prior) ?? idOf(planned) ?? this.def.catalog.id(ctx);
    }
    const filled = normalizeBlock(block, fillUnknowns(ctx, this.def.catalog, block, planned));
    const extra = op === 'create' ? ((await this.def.onCreate?.(type, filled)) ?? {}) : {};
    const id = idOf(filled) ?? ctx.id;
    if (this.def.usesCloudStore) {
      this.env.store.put(this.def.name, type, id, toKnownRecord(filled));
      if (op === 'create') this.storeCompanions(type, filled);
    }
    this.env.log.write({ start, provider: this.def.name, op, type, id, name: nameOf(filled), ...extra });
    return { newState: filled, diags: refused };
  }

  /** Stores the objects another one brings along (only types the schema knows, filled like a create). */
  private storeCompanions(type: string, value: ValueRecord): void {
    for (const companion of this.def.companions?.(type, value) ?? []) {
      const schema = this.def.schema.resource_schemas?.[companion.type];
      if (!schema) continue;
      const ctx = this.context(companion.type, {}, this.env.seed !== undefined ? seededRng(this.env.seed, companion.id) : randomRng());
      ctx.id = companion.id;
      const object = this.fillComputed(ctx, schema, { id: companion.id, name: companion.name ?? null, vpc: idOf(value) ?? null });
      this.env.store.put(this.def.name, companion.type, companion.id, toKnownRecord(object));
    }
  }

  /** Every computed attribute still null gets a fake; the rest stays as given. */
  private fillComputed(ctx: FakeContext, schema: JsonSchema, given: ValueRecord): ValueRecord {
    const base = normalizeBlock(schema.block, given);
    for (const [name, attr] of Object.entries(schema.block.attributes ?? {})) if (attr.computed && isNull(base[name])) base[name] = UNKNOWN;
    return normalizeBlock(schema.block, fillUnknowns(ctx, this.def.catalog, schema.block, base));
  }

  read(type: string, state: Value): { newState: Value; diags: Diag[] } {
    const failure = this.injected(type, 'read', state);
    if (failure) return { newState: state, diags: [error(failure)] };
    const block = this.schemaOf(type, 'resource').block;
    if (!this.def.usesCloudStore || !this.env.store.enabled || !isRecord(state)) return { newState: isNull(state) ? null : normalizeBlock(block, state), diags: [] };
    const id = idOf(state);
    const stored = id ? this.env.store.get(type, id) : undefined;
    this.env.log.write({ provider: this.def.name, op: 'read', type, id, name: nameOf(state), ...(stored ? {} : { gone: true }) });
    return { newState: stored ? normalizeBlock(block, stored.value) : null, diags: [] };
  }

  importState(type: string, id: string): { state: Value; diags: Diag[] } {
    const block = this.schemaOf(type, 'resource').block;
    const stored = this.def.usesCloudStore ? this.env.store.get(type, id) : undefined;
    this.env.log.write({ provider: this.def.name, op: 'import', type, id, name: nameOf(stored?.value), ...(stored ? {} : { gone: true }) });
    // Like the SDK's passthrough importer: only the id; the ReadResource that follows finds the object, or not.
    return { state: normalizeBlock(block, stored ? stored.value : { id }), diags: [] };
  }

  readData(type: string, config: Value): { state: Value; diags: Diag[] } {
    const failure = this.injected(type, 'read-data', config);
    if (failure) return { state: null, diags: [error(failure)] };
    const schema = this.schemaOf(type, 'data');
    const given = isRecord(config) ? config : {};
    const rng = seededRng(this.env.seed ?? 'data', type, fingerprint(given));
    const ctx = this.context(type, { ...given }, rng);
    ctx.id = stableHex(16, type, fingerprint(given));
    const configured = normalizeBlock(schema.block, given);
    const answer = normalizeBlock(schema.block, { ...given, ...(this.def.dataAnswer?.(ctx, type, given) ?? {}) });
    // What the configuration set stays as it was set; the provider only decides computed attributes.
    for (const [name, attr] of Object.entries(schema.block.attributes ?? {})) {
      if (!attr.computed || !isNull(given[name])) answer[name] = configured[name] ?? null;
      else if (isNull(answer[name])) answer[name] = fakeOfType(ctx, this.def.catalog, name, attributeType(attr), name === 'id');
    }
    for (const name of Object.keys(schema.block.block_types ?? {})) answer[name] = configured[name] ?? null;
    if (isNull(answer['id'])) answer['id'] = ctx.id;
    this.env.log.write({ provider: this.def.name, op: 'read-data', type, id: idOf(answer), name: nameOf(answer) });
    return { state: answer, diags: [] };
  }
}
