/**
 * Provider schemas in the form `terraform providers schema -json` prints them, the walk helpers the
 * plan/apply/validate code shares, and the conversion to the protocol's Schema messages.
 */
import { readFileSync } from 'node:fs';
import { isNull, isRecord, UNKNOWN, type Value, type ValueRecord } from './values.js';

export type TypeExpr =
  | 'string'
  | 'number'
  | 'bool'
  | 'dynamic'
  | ['list' | 'set' | 'map', TypeExpr]
  | ['object', Record<string, TypeExpr>, string[]?]
  | ['tuple', TypeExpr[]];

export type NestingMode = 'single' | 'list' | 'set' | 'map' | 'group';

export interface JsonAttribute {
  type?: TypeExpr;
  nested_type?: JsonNestedType;
  description?: string;
  description_kind?: 'plain' | 'markdown';
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  deprecated?: boolean;
  write_only?: boolean;
}

export interface JsonNestedType {
  attributes: Record<string, JsonAttribute>;
  nesting_mode: Exclude<NestingMode, 'group'>;
  min_items?: number;
  max_items?: number;
}

export interface JsonBlock {
  attributes?: Record<string, JsonAttribute>;
  block_types?: Record<string, JsonNestedBlock>;
  description?: string;
  description_kind?: 'plain' | 'markdown';
  deprecated?: boolean;
}

export interface JsonNestedBlock {
  nesting_mode: NestingMode;
  block: JsonBlock;
  min_items?: number;
  max_items?: number;
}

export interface JsonSchema {
  version: number;
  block: JsonBlock;
}

export interface JsonProviderSchema {
  provider: JsonSchema;
  resource_schemas?: Record<string, JsonSchema>;
  data_source_schemas?: Record<string, JsonSchema>;
}

export interface SchemaDocument {
  format_version: string;
  provider_schemas: Record<string, JsonProviderSchema>;
}

/** Reads a `providers schema -json` document and returns the one provider whose address ends with `/<type>`. */
export function loadProviderSchema(file: string, providerType: string): JsonProviderSchema {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as SchemaDocument;
  const entry = Object.entries(doc.provider_schemas ?? {}).find(([address]) => address.endsWith(`/${providerType}`));
  if (!entry) throw new Error(`${file} has no provider_schemas entry for */${providerType}`);
  return entry[1];
}

/** The type of a nested_type attribute, as Terraform derives it. */
function nestedTypeOf(nested: JsonNestedType): TypeExpr {
  const attrs: Record<string, TypeExpr> = {};
  for (const [name, attr] of Object.entries(nested.attributes)) attrs[name] = attributeType(attr);
  const object: TypeExpr = ['object', attrs];
  return nested.nesting_mode === 'single' ? object : [nested.nesting_mode, object];
}

export function attributeType(attr: JsonAttribute): TypeExpr {
  if (attr.type !== undefined) return attr.type;
  if (attr.nested_type) return nestedTypeOf(attr.nested_type);
  return 'dynamic';
}

/** Every attribute and block of a value is present in what a provider returns: null, or [] for list and set blocks. */
export function normalizeBlock(block: JsonBlock, value: Value | undefined): ValueRecord {
  const source = isRecord(value) ? value : {};
  const out: ValueRecord = {};
  for (const [name, attr] of Object.entries(block.attributes ?? {})) out[name] = normalizeType(attributeType(attr), source[name]);
  for (const [name, nested] of Object.entries(block.block_types ?? {})) out[name] = normalizeNested(nested, source[name]);
  return out;
}

export function normalizeNested(nested: JsonNestedBlock, value: Value | undefined): Value {
  if (value === UNKNOWN) return UNKNOWN;
  switch (nested.nesting_mode) {
    case 'single':
    case 'group':
      return isNull(value) && nested.nesting_mode === 'single' ? null : normalizeBlock(nested.block, value);
    case 'list':
    case 'set':
      return Array.isArray(value) ? value.map((item) => normalizeBlock(nested.block, item)) : [];
    case 'map': {
      const out: ValueRecord = {};
      if (isRecord(value)) for (const [k, item] of Object.entries(value)) out[k] = normalizeBlock(nested.block, item);
      return out;
    }
  }
}

/** Shapes a value to a type: missing object attributes become null, numbers sent as strings become numbers. */
export function normalizeType(type: TypeExpr, value: Value | undefined): Value {
  if (value === undefined || value === null) return null;
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof type === 'string') {
    if (type === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
    if (type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
    return value;
  }
  const [kind] = type;
  if (kind === 'list' || kind === 'set') return Array.isArray(value) ? value.map((item) => normalizeType(type[1] as TypeExpr, item)) : null;
  if (kind === 'map') {
    if (!isRecord(value)) return null;
    const out: ValueRecord = {};
    for (const [k, item] of Object.entries(value)) out[k] = normalizeType(type[1] as TypeExpr, item);
    return out;
  }
  if (kind === 'object') {
    if (!isRecord(value)) return null;
    const out: ValueRecord = {};
    for (const [k, attrType] of Object.entries(type[1] as Record<string, TypeExpr>)) out[k] = normalizeType(attrType, value[k]);
    return out;
  }
  if (kind === 'tuple') return Array.isArray(value) ? (type[1] as TypeExpr[]).map((t, i) => normalizeType(t, value[i])) : null;
  return value;
}

/** Finds the nested block schema on a dotted path of block names (`boot_volume`, `dns.resolver`). */
export function blockAt(root: JsonBlock, names: readonly string[]): JsonBlock | undefined {
  let block: JsonBlock | undefined = root;
  for (const name of names) block = block?.block_types?.[name]?.block;
  return block;
}

// ---- conversion to protocol messages (tfplugin6.Schema) ----

const stringKind = (kind: string | undefined) => (kind === 'markdown' ? 'MARKDOWN' : 'PLAIN');
const nestingName = (mode: NestingMode) => mode.toUpperCase();

interface ProtoAttribute {
  name: string;
  type: Buffer;
  nested_type: ProtoObject | null;
  description: string;
  description_kind: string;
  required: boolean;
  optional: boolean;
  computed: boolean;
  sensitive: boolean;
  deprecated: boolean;
  write_only: boolean;
}
interface ProtoObject {
  attributes: ProtoAttribute[];
  nesting: string;
  min_items: number;
  max_items: number;
}
export interface ProtoBlock {
  version: number;
  attributes: ProtoAttribute[];
  block_types: { type_name: string; block: ProtoBlock; nesting: string; min_items: number; max_items: number }[];
  description: string;
  description_kind: string;
  deprecated: boolean;
}

function protoAttribute(name: string, attr: JsonAttribute): ProtoAttribute {
  return {
    name,
    type: attr.type !== undefined ? Buffer.from(JSON.stringify(attr.type)) : Buffer.alloc(0),
    nested_type: attr.nested_type
      ? {
          attributes: Object.entries(attr.nested_type.attributes).map(([n, a]) => protoAttribute(n, a)),
          nesting: nestingName(attr.nested_type.nesting_mode),
          min_items: attr.nested_type.min_items ?? 0,
          max_items: attr.nested_type.max_items ?? 0,
        }
      : null,
    description: attr.description ?? '',
    description_kind: stringKind(attr.description_kind),
    required: attr.required ?? false,
    optional: attr.optional ?? false,
    computed: attr.computed ?? false,
    sensitive: attr.sensitive ?? false,
    deprecated: attr.deprecated ?? false,
    write_only: attr.write_only ?? false,
  };
}

export function protoBlock(block: JsonBlock): ProtoBlock {
  return {
    version: 0,
    attributes: Object.entries(block.attributes ?? {}).map(([name, attr]) => protoAttribute(name, attr)),
    block_types: Object.entries(block.block_types ?? {}).map(([name, nested]) => ({
      type_name: name,
      block: protoBlock(nested.block),
      nesting: nestingName(nested.nesting_mode),
      min_items: nested.min_items ?? 0,
      max_items: nested.max_items ?? 0,
    })),
    description: block.description ?? '',
    description_kind: stringKind(block.description_kind),
    deprecated: block.deprecated ?? false,
  };
}

export function protoSchema(schema: JsonSchema): { version: number; block: ProtoBlock } {
  return { version: schema.version ?? 0, block: protoBlock(schema.block) };
}
