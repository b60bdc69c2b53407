/**
 * Checks a synthesized cdk.tf.json against the provider schema (the format of `terraform providers schema
 * -json`), the part of `terraform validate` that needs no provider binary: every attribute and block exists,
 * values have the schema's type, required ones are present, computed-only ones are not set, deprecated ones
 * are not used, block counts respect min/max items, and `${…}` references name resources of the document
 * and attributes of their schema.
 */
import { readFileSync } from 'node:fs';

type SchemaType = string | [string, unknown] | [string, SchemaType] | ['object', Record<string, SchemaType>];

interface SchemaAttribute {
  readonly type?: SchemaType;
  readonly nested_type?: unknown;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  readonly deprecated?: boolean;
  readonly sensitive?: boolean;
}

interface SchemaBlockType {
  readonly nesting_mode: 'single' | 'list' | 'set' | 'map' | 'group';
  readonly block: SchemaBlock;
  readonly min_items?: number;
  readonly max_items?: number;
}

export interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<string, SchemaBlockType>;
  readonly deprecated?: boolean;
}

export interface ProviderSchema {
  readonly provider: { readonly block: SchemaBlock };
  readonly resource_schemas: Record<string, { readonly block: SchemaBlock }>;
  readonly data_source_schemas: Record<string, { readonly block: SchemaBlock }>;
  /** Provider blocks by local name when several providers are merged (mergeProviderSchemas). */
  readonly providers?: Record<string, { readonly block: SchemaBlock }>;
}

/** One schema for a document that uses several providers (the stacks use ibm and time). */
export function mergeProviderSchemas(byName: Record<string, ProviderSchema>): ProviderSchema {
  const all = Object.values(byName);
  return {
    provider: all[0]!.provider,
    resource_schemas: Object.assign({}, ...all.map((s) => s.resource_schemas)) as ProviderSchema['resource_schemas'],
    data_source_schemas: Object.assign({}, ...all.map((s) => s.data_source_schemas)) as ProviderSchema['data_source_schemas'],
    providers: Object.fromEntries(Object.entries(byName).map(([name, s]) => [name, s.provider])),
  };
}

export function loadProviderSchema(file: string, fqn = 'registry.terraform.io/ibm-cloud/ibm'): ProviderSchema {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { provider_schemas: Record<string, ProviderSchema> };
  const schema = doc.provider_schemas[fqn];
  if (!schema) throw new Error(`${file} has no schema for ${fqn}`);
  return schema;
}

/** Terraform meta-arguments: not part of any provider schema. */
const META = new Set(['//', 'alias', 'count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);
const WHOLE_REF = /^\$\{[^}]*\}$/;
const REF = /\$\{([^}]*)\}/g;

function typeName(t: SchemaType): string {
  return typeof t === 'string' ? t : `${t[0]}(${t[0] === 'object' ? '…' : typeName(t[1] as SchemaType)})`;
}

function checkType(value: unknown, type: SchemaType, path: string, problems: string[]): void {
  if (typeof value === 'string' && WHOLE_REF.test(value)) return; // resolved by Terraform
  if (typeof type === 'string') {
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'number'
          ? typeof value === 'number' || (typeof value === 'string' && /\$\{/.test(value))
          : type === 'bool'
            ? typeof value === 'boolean'
            : type === 'dynamic';
    if (!ok) problems.push(`${path}: expected ${type}, got ${JSON.stringify(value)?.slice(0, 80)}`);
    return;
  }
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set') {
    if (!Array.isArray(value)) problems.push(`${path}: expected ${typeName(type)}, got ${typeof value}`);
    else value.forEach((v, i) => checkType(v, inner as SchemaType, `${path}[${i}]`, problems));
  } else if (kind === 'map') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) problems.push(`${path}: expected ${typeName(type)}, got ${JSON.stringify(value)?.slice(0, 80)}`);
    else for (const [k, v] of Object.entries(value)) checkType(v, inner as SchemaType, `${path}.${k}`, problems);
  } else if (kind === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) problems.push(`${path}: expected object, got ${typeof value}`);
    else {
      const fields = inner as Record<string, SchemaType>;
      for (const [k, v] of Object.entries(value)) {
        if (!(k in fields)) problems.push(`${path}.${k}: not a field of the object type`);
        else checkType(v, fields[k]!, `${path}.${k}`, problems);
      }
    }
  } else problems.push(`${path}: unsupported schema type ${JSON.stringify(type)}`);
}

/** Problems of one block body (resource, data source, provider or nested block). */
export function checkBlock(body: Record<string, unknown>, block: SchemaBlock, path: string, problems: string[], topLevel = false): void {
  const attributes = block.attributes ?? {};
  const blocks = block.block_types ?? {};
  for (const [key, value] of Object.entries(body)) {
    if (topLevel && META.has(key)) continue;
    const at = `${path}.${key}`;
    const attr = attributes[key];
    if (attr) {
      if (attr.computed && !attr.optional && !attr.required) problems.push(`${at}: computed-only attribute must not be set`);
      if (attr.deprecated) problems.push(`${at}: deprecated attribute`);
      if (attr.type) checkType(value, attr.type, at, problems);
      continue;
    }
    const bt = blocks[key];
    if (bt) {
      if (bt.block.deprecated) problems.push(`${at}: deprecated block`);
      if (typeof value === 'string' && WHOLE_REF.test(value)) continue;
      const items = Array.isArray(value) ? value : [value];
      if (bt.nesting_mode === 'single' || bt.nesting_mode === 'group') {
        if (Array.isArray(value)) problems.push(`${at}: a single block is an object, not a list`);
      }
      if (bt.max_items !== undefined && bt.max_items > 0 && items.length > bt.max_items) problems.push(`${at}: ${items.length} blocks, at most ${bt.max_items}`);
      if (bt.min_items !== undefined && items.length < bt.min_items) problems.push(`${at}: ${items.length} blocks, at least ${bt.min_items}`);
      items.forEach((item, i) => {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) problems.push(`${at}[${i}]: a block must be an object`);
        else checkBlock(item as Record<string, unknown>, bt.block, items.length > 1 ? `${at}[${i}]` : at, problems);
      });
      continue;
    }
    problems.push(`${at}: unknown attribute or block`);
  }
  for (const [key, attr] of Object.entries(attributes)) {
    if (attr.required && !(key in body)) problems.push(`${path}.${key}: required attribute missing`);
  }
  for (const [key, bt] of Object.entries(blocks)) {
    if ((bt.min_items ?? 0) > 0 && !(key in body)) problems.push(`${path}.${key}: required block missing (at least ${bt.min_items})`);
  }
}

interface SynthDocument {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  provider?: Record<string, Record<string, unknown>[]>;
  output?: Record<string, { value: unknown }>;
  variable?: Record<string, unknown>;
  locals?: Record<string, unknown>;
}

/** References inside `${…}` to resources and data sources of the document, and their first attribute. */
function checkReferences(doc: SynthDocument, schema: ProviderSchema, problems: string[]): void {
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      for (const m of value.matchAll(REF)) {
        for (const ref of m[1]!.matchAll(/(?<![A-Za-z0-9_."])(data\.)?((?:ibm)_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([a-z0-9_]+))?/g)) {
          const isData = !!ref[1];
          const type = ref[2]!;
          const name = ref[3]!;
          const attr = ref[4];
          const pool = isData ? doc.data : doc.resource;
          if (!pool?.[type]?.[name]) {
            problems.push(`${path}: reference to ${isData ? 'data.' : ''}${type}.${name}, which the document does not define`);
            continue;
          }
          const s = (isData ? schema.data_source_schemas : schema.resource_schemas)[type];
          if (attr && s && !(attr in (s.block.attributes ?? {})) && !(attr in (s.block.block_types ?? {}))) {
            problems.push(`${path}: ${type} has no attribute ${attr}`);
          }
        }
        if (/(^|[^A-Za-z0-9_])var\.([a-z0-9_]+)/.test(m[1]!)) {
          const v = /var\.([a-z0-9_]+)/.exec(m[1]!)![1]!;
          if (!doc.variable?.[v]) problems.push(`${path}: reference to undeclared variable ${v}`);
        }
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) if (k !== '//') walk(v, `${path}.${k}`);
  };
  walk(doc.resource ?? {}, 'resource');
  walk(doc.data ?? {}, 'data');
  walk(doc.output ?? {}, 'output');
}

/** Every problem of a synthesized document (empty when it fits the schema). */
export function validateAgainstSchema(document: string | SynthDocument, schema: ProviderSchema): string[] {
  const doc = (typeof document === 'string' ? JSON.parse(document) : document) as SynthDocument;
  const problems: string[] = [];
  for (const [type, byName] of Object.entries(doc.resource ?? {})) {
    const s = schema.resource_schemas[type];
    if (!s) {
      problems.push(`resource.${type}: not a resource of the provider schema`);
      continue;
    }
    for (const [name, body] of Object.entries(byName)) checkBlock(body, s.block, `resource.${type}.${name}`, problems, true);
  }
  for (const [type, byName] of Object.entries(doc.data ?? {})) {
    const s = schema.data_source_schemas[type];
    if (!s) {
      problems.push(`data.${type}: not a data source of the provider schema`);
      continue;
    }
    for (const [name, body] of Object.entries(byName)) checkBlock(body, s.block, `data.${type}.${name}`, problems, true);
  }
  for (const [name, configs] of Object.entries(doc.provider ?? {})) {
    for (const [i, body] of (Array.isArray(configs) ? configs : [configs]).entries()) {
      const provider = schema.providers ? schema.providers[name] : name === 'ibm' ? schema.provider : undefined;
      if (!provider) problems.push(`provider.${name}: not in the schema`);
      else checkBlock(body as Record<string, unknown>, provider.block, `provider.${name}[${i}]`, problems, true);
    }
  }
  checkReferences(doc, schema, problems);
  return problems;
}
