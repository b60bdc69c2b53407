/**
 * Declarative structure schemas: each KMIP structure is described once (field tag, value codec,
 * cardinality, version range) and the same description decodes TTLV into typed objects and encodes
 * them back. No per-field hand-written read/write.
 */
import { ItemType, itemTypeName, type TtlvItem } from '../ttlv/index.js';
import { ENUM_TABLE, type EnumInfo } from './generated/enums.js';
import { invalidField, invalidMessage, missingData } from './errors.js';
import { tagName } from './tag-names.js';
import { inRange, type KmipVersion } from './version.js';

export interface CodecContext {
  readonly version: KmipVersion;
  /** Storage form: every field and value of every version is accepted (stored data outlives versions). */
  readonly storage?: boolean;
}

/** Storage reads and writes everything any version defines. */
export const STORAGE_CONTEXT: CodecContext = Object.freeze({ version: 21, storage: true });

function allowed(ctx: CodecContext, since: number | undefined, until: number | null | undefined): boolean {
  return ctx.storage === true || inRange(ctx.version, since, until);
}

export interface ValueCodec<T> {
  /** The item type on the wire, or undefined when any type is accepted. */
  readonly itemType: number | undefined;
  decode(item: TtlvItem, ctx: CodecContext): T;
  encode(tag: number, value: T, ctx: CodecContext): TtlvItem;
}

export type Cardinality = 'required' | 'optional' | 'repeated';

export interface Field<T, C extends Cardinality = Cardinality> {
  readonly tag: number;
  readonly codec: ValueCodec<T>;
  readonly card: C;
  readonly since?: KmipVersion | undefined;
  readonly until?: KmipVersion | undefined;
}

export interface VersionRange {
  readonly since?: KmipVersion;
  readonly until?: KmipVersion;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyField = Field<any, Cardinality>;
export type Fields = Record<string, AnyField>;

type ValueOf<F> = F extends Field<infer T, Cardinality> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type Infer<F extends Fields> = Simplify<
  { [K in keyof F as F[K]['card'] extends 'required' ? K : never]: ValueOf<F[K]> } & {
    [K in keyof F as F[K]['card'] extends 'optional' ? K : never]?: ValueOf<F[K]> | undefined;
  } & { [K in keyof F as F[K]['card'] extends 'repeated' ? K : never]: readonly ValueOf<F[K]>[] }
>;

export type InferCodec<C> = C extends ValueCodec<infer T> ? T : never;

export function req<T>(tag: number, codec: ValueCodec<T>, range: VersionRange = {}): Field<T, 'required'> {
  return { tag, codec, card: 'required', since: range.since, until: range.until };
}
export function opt<T>(tag: number, codec: ValueCodec<T>, range: VersionRange = {}): Field<T, 'optional'> {
  return { tag, codec, card: 'optional', since: range.since, until: range.until };
}
export function many<T>(tag: number, codec: ValueCodec<T>, range: VersionRange = {}): Field<T, 'repeated'> {
  return { tag, codec, card: 'repeated', since: range.since, until: range.until };
}

function expectType(item: TtlvItem, type: number): void {
  if (item.type !== type) {
    throw invalidField(`${tagName(item.tag)} must be ${itemTypeName(type)}, not ${itemTypeName(item.type)}`);
  }
}

function primitive<T>(type: number, fromItem: (item: TtlvItem) => T, toItem: (tag: number, value: T) => TtlvItem): ValueCodec<T> {
  return {
    itemType: type,
    decode(item) {
      expectType(item, type);
      return fromItem(item);
    },
    encode: (tag, value) => toItem(tag, value),
  };
}

export const integer = primitive<number>(ItemType.Integer, (i) => i.value as number, (tag, value) => ({ tag, type: ItemType.Integer, value }));
export const longInteger = primitive<bigint>(ItemType.LongInteger, (i) => i.value as bigint, (tag, value) => ({ tag, type: ItemType.LongInteger, value }));
export const bigInteger = primitive<bigint>(ItemType.BigInteger, (i) => i.value as bigint, (tag, value) => ({ tag, type: ItemType.BigInteger, value }));
export const boolean = primitive<boolean>(ItemType.Boolean, (i) => i.value as boolean, (tag, value) => ({ tag, type: ItemType.Boolean, value }));
export const text = primitive<string>(ItemType.TextString, (i) => i.value as string, (tag, value) => ({ tag, type: ItemType.TextString, value }));
export const bytes = primitive<Uint8Array>(ItemType.ByteString, (i) => i.value as Uint8Array, (tag, value) => ({ tag, type: ItemType.ByteString, value }));
export const interval = primitive<number>(ItemType.Interval, (i) => i.value as number, (tag, value) => ({ tag, type: ItemType.Interval, value }));
export const dateTimeExtended = primitive<bigint>(ItemType.DateTimeExtended, (i) => i.value as bigint, (tag, value) => ({
  tag,
  type: ItemType.DateTimeExtended,
  value,
}));

/** Date-Time as POSIX seconds in a JS number; values beyond ±2^53 are refused as Invalid Field. */
export const dateTime = primitive<number>(
  ItemType.DateTime,
  (i) => {
    const seconds = i.value as bigint;
    if (seconds > BigInt(Number.MAX_SAFE_INTEGER) || seconds < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw invalidField(`${tagName(i.tag)} is out of range`);
    }
    return Number(seconds);
  },
  (tag, value) => ({ tag, type: ItemType.DateTime, value: BigInt(value) }),
);

/** Any single item, kept as it is (Attribute Value, Key Material); re-tagged on encode. */
export const raw: ValueCodec<TtlvItem> = {
  itemType: undefined,
  decode: (item) => item,
  encode: (tag, value) => ({ ...value, tag }),
};

const ENUMS_BY_NAME = new Map<string, EnumInfo>(ENUM_TABLE.map((e) => [e.name, e]));

function isExtensionValue(value: number): boolean {
  return value >>> 28 === 0x8;
}

/** An Enumeration item of any value: for fields whose unknown values need an answer of their own (Operation). */
export const anyEnumeration = primitive<number>(ItemType.Enumeration, (i) => i.value as number, (tag, value) => ({
  tag,
  type: ItemType.Enumeration,
  value,
}));

/** An Enumeration item whose value must be defined for the message's version (or be an extension, 0x8xxxxxxx). */
export function enumeration(name: string): ValueCodec<number> {
  const info = ENUMS_BY_NAME.get(name);
  if (!info || info.kind !== 'enumeration') throw new Error(`no enumeration named ${name}`);
  const values = new Map(info.values.map((v) => [v.value, v]));
  return {
    itemType: ItemType.Enumeration,
    decode(item, ctx) {
      expectType(item, ItemType.Enumeration);
      const value = item.value as number;
      const known = values.get(value);
      if (!isExtensionValue(value) && (!known || !allowed(ctx, known.since, known.until))) {
        throw invalidField(`${tagName(item.tag)} has no value 0x${value.toString(16)} in this protocol version`);
      }
      return value;
    },
    encode: (tag, value) => ({ tag, type: ItemType.Enumeration, value }),
  };
}

/** An Integer bit mask whose set bits must all be defined for the message's version (extension bits are the high nibble). */
export function mask(name: string): ValueCodec<number> {
  const info = ENUMS_BY_NAME.get(name);
  if (!info || info.kind !== 'mask') throw new Error(`no mask named ${name}`);
  return {
    itemType: ItemType.Integer,
    decode(item, ctx) {
      expectType(item, ItemType.Integer);
      const value = (item.value as number) >>> 0;
      let defined = 0xf0000000; // extension bits
      for (const v of info.values) if (allowed(ctx, v.since, v.until)) defined |= v.value;
      if ((value & ~defined) >>> 0 !== 0) throw invalidField(`${tagName(item.tag)} has undefined bits set`);
      return value;
    },
    encode: (tag, value) => ({ tag, type: ItemType.Integer, value: value | 0 }),
  };
}

export class StructSchema<F extends Fields> implements ValueCodec<Infer<F>> {
  readonly itemType = ItemType.Structure;
  private readonly entries: ReadonlyArray<readonly [string, AnyField]>;
  private readonly byTag = new Map<number, Array<readonly [string, AnyField]>>();

  constructor(
    readonly label: string,
    readonly fields: F,
  ) {
    this.entries = Object.entries(fields);
    for (const entry of this.entries) {
      const list = this.byTag.get(entry[1].tag) ?? [];
      list.push(entry);
      this.byTag.set(entry[1].tag, list);
    }
  }

  private fieldFor(tag: number, ctx: CodecContext): readonly [string, AnyField] | undefined {
    const candidates = this.byTag.get(tag);
    if (!candidates) return undefined;
    for (const entry of candidates) if (allowed(ctx, entry[1].since, entry[1].until)) return entry;
    return undefined;
  }

  decode(item: TtlvItem, ctx: CodecContext): Infer<F> {
    if (item.type !== ItemType.Structure) {
      throw invalidField(`${tagName(item.tag)} must be a Structure, not ${itemTypeName(item.type)}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, field] of this.entries) if (field.card === 'repeated') out[key] = [];
    for (const child of item.value) {
      const entry = this.fieldFor(child.tag, ctx);
      if (!entry) throw invalidField(`${tagName(child.tag)} is not a field of ${this.label} in this protocol version`);
      const [key, field] = entry;
      const value = field.codec.decode(child, ctx);
      if (field.card === 'repeated') (out[key] as unknown[]).push(value);
      else if (key in out) throw invalidMessage(`${tagName(child.tag)} appears more than once in ${this.label}`);
      else out[key] = value;
    }
    for (const [key, field] of this.entries) {
      if (field.card === 'required' && !(key in out) && allowed(ctx, field.since, field.until)) {
        throw missingData(`${this.label} lacks ${tagName(field.tag)}`);
      }
    }
    return out as Infer<F>;
  }

  encode(tag: number, value: Infer<F>, ctx: CodecContext): TtlvItem {
    const children: TtlvItem[] = [];
    const record = value as Record<string, unknown>;
    for (const [key, field] of this.entries) {
      if (!allowed(ctx, field.since, field.until)) continue;
      const v = record[key];
      if (v === undefined) {
        if (field.card === 'required') throw new Error(`cannot encode ${this.label}: ${key} is missing`);
        continue;
      }
      if (field.card === 'repeated') for (const each of v as unknown[]) children.push(field.codec.encode(field.tag, each, ctx));
      else children.push(field.codec.encode(field.tag, v, ctx));
    }
    return { tag, type: ItemType.Structure, value: children };
  }
}

export function struct<F extends Fields>(label: string, fields: F): StructSchema<F> {
  return new StructSchema(label, fields);
}

export type InferStruct<S> = S extends StructSchema<infer F> ? Infer<F> : never;
