/**
 * Terraform values as the fake providers see them, and their msgpack wire form (cty's encoding).
 * Objects and maps are both plain records: the schema says which one a record is.
 */
import { decode, encode, ExtData, ExtensionCodec } from '@msgpack/msgpack';

/** A value Terraform does not know yet ("known after apply"). One instance, compared with ===. */
export class Unknown {
  static readonly instance = new Unknown();
  private constructor() {}
  toJSON(): string {
    return '<unknown>';
  }
}
export const UNKNOWN = Unknown.instance;

export type Value = null | boolean | number | string | Unknown | Value[] | ValueRecord;
export interface ValueRecord {
  [key: string]: Value;
}

/** Values that can be written to JSON (no unknowns): what the fake cloud stores. */
export type Known = null | boolean | number | string | Known[] | { [key: string]: Known };

export const isRecord = (v: Value | undefined): v is ValueRecord =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Unknown);

/** Absent and null are the same to Terraform. */
export const isNull = (v: Value | undefined): v is null | undefined => v === null || v === undefined;

export function isWhollyKnown(v: Value | undefined): boolean {
  if (v === UNKNOWN) return false;
  if (Array.isArray(v)) return v.every(isWhollyKnown);
  if (isRecord(v)) return Object.values(v).every(isWhollyKnown);
  return true;
}

/** cty writes an unknown as msgpack extension 0; refined unknowns use extension 12. Any extension is taken as unknown. */
const codec = new ExtensionCodec();
codec.register({
  type: 0,
  encode: (input: unknown) => (input === UNKNOWN ? new Uint8Array([0]) : null),
  decode: () => UNKNOWN,
});
codec.register({ type: 12, encode: () => null, decode: () => UNKNOWN });

function fromWire(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (v instanceof ExtData || v === UNKNOWN) return UNKNOWN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(fromWire);
  if (v instanceof Map) {
    const out: ValueRecord = {};
    for (const [k, item] of v) out[String(k)] = fromWire(item);
    return out;
  }
  if (typeof v === 'object') {
    const out: ValueRecord = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) out[k] = fromWire(item);
    return out;
  }
  return null;
}

export function decodeMsgpack(bytes: Uint8Array): Value {
  if (bytes.length === 0) return null;
  return fromWire(decode(bytes, { extensionCodec: codec }));
}

export function encodeMsgpack(value: Value): Uint8Array {
  return encode(value, { extensionCodec: codec, ignoreUndefined: false });
}

export interface DynamicValue {
  msgpack?: Uint8Array | Buffer | null;
  json?: Uint8Array | Buffer | null;
}

export function fromDynamic(dv: DynamicValue | null | undefined): Value {
  if (!dv) return null;
  if (dv.msgpack && dv.msgpack.length > 0) return decodeMsgpack(dv.msgpack);
  if (dv.json && dv.json.length > 0) return fromWire(JSON.parse(Buffer.from(dv.json).toString('utf8')));
  return null;
}

export function toDynamic(value: Value): { msgpack: Buffer } {
  return { msgpack: Buffer.from(encodeMsgpack(value)) };
}

/** Equality as Terraform compares values; an unknown equals nothing, not even another unknown. */
export function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === UNKNOWN || b === UNKNOWN) return false;
  if (isNull(a) || isNull(b)) return isNull(a) && isNull(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i]));
  }
  if (isRecord(a) || isRecord(b)) {
    if (!isRecord(a) || !isRecord(b)) return false;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!sameValue(a[k], b[k])) return false;
    return true;
  }
  return a === b;
}

/** Set equality ignores order: elements are compared by value. */
export function sameSet(a: Value[], b: Value[]): boolean {
  if (a.length !== b.length) return false;
  const rest = [...b];
  for (const item of a) {
    const at = rest.findIndex((other) => sameValue(item, other));
    if (at < 0) return false;
    rest.splice(at, 1);
  }
  return true;
}

export function toKnown(v: Value): Known {
  if (v instanceof Unknown) throw new Error('an unknown value cannot be stored');
  if (Array.isArray(v)) return v.map(toKnown);
  if (isRecord(v)) {
    const out: { [key: string]: Known } = {};
    for (const [k, item] of Object.entries(v)) out[k] = toKnown(item);
    return out;
  }
  return v;
}

export function toKnownRecord(v: ValueRecord): { [key: string]: Known } {
  const out: { [key: string]: Known } = {};
  for (const [k, item] of Object.entries(v)) out[k] = toKnown(item);
  return out;
}
