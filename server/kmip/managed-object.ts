/**
 * A managed object in memory: its store record plus its attributes decoded through the registry.
 * Unique Identifier, Object Type and State live in their own columns and are added when read.
 */
import { ItemType, type TtlvItem } from '../ttlv/index.js';
import type { ObjectRecord, StoredAttribute, WrappedMaterial } from '../store/store.js';
import { State } from './generated/enums.js';
import { Tag } from './generated/tags.js';
import { attributeDef, isCustomName, type Attribute } from './model/attributes.js';
import { jsonToTtlv, ttlvToJson, type TtlvJson } from './model/ttlv-json.js';
import { effectiveState } from './lifecycle.js';
import { STORAGE_CONTEXT } from './schema.js';

/** Attributes that are columns, not stored attribute instances. */
const COLUMN_ATTRIBUTES = new Set(['Unique Identifier', 'Object Type', 'State']);

function numericView(item: TtlvItem): number | undefined {
  switch (item.type) {
    case ItemType.Integer:
    case ItemType.Enumeration:
    case ItemType.Interval:
      return item.value;
    case ItemType.LongInteger:
    case ItemType.DateTime:
      return Number(item.value);
    default:
      return undefined;
  }
}

/** The storage form of an attribute value, and the equality key Locate compares. */
export function encodeAttributeValue(name: string, value: unknown): { json: TtlvJson; key: string; num: number | undefined } {
  const def = attributeDef(name);
  if (!def) throw new Error(`no attribute definition for ${name}`);
  const item = def.codec.encode(Tag.AttributeValue, value, STORAGE_CONTEXT);
  const json = ttlvToJson(item);
  return { json, key: JSON.stringify(json), num: numericView(item) };
}

export function toStoredAttribute(a: Attribute): StoredAttribute {
  const { json, key, num } = encodeAttributeValue(a.name, a.value);
  return { name: a.name, index: a.index, value: json, key, num };
}

export function fromStoredAttribute(s: StoredAttribute): Attribute {
  const def = attributeDef(s.name);
  if (!def) throw new Error(`stored attribute ${s.name} is unknown to this server`);
  const item = jsonToTtlv(Tag.AttributeValue, s.value as TtlvJson);
  return { name: s.name, index: s.index, value: isCustomName(s.name) ? item : def.codec.decode(item, STORAGE_CONTEXT) };
}

export interface NewObject {
  readonly uid: string;
  readonly tenantId: string;
  readonly objectType: number;
  readonly state: number;
  readonly createdAt: number;
  readonly attributes: readonly Attribute[];
  readonly material: WrappedMaterial | null;
}

export class ManagedObject {
  private constructor(
    readonly uid: string,
    readonly tenantId: string,
    readonly objectType: number,
    public state: number,
    /** The revision this copy was read at (0 for a new object). */
    readonly readRevision: number,
    readonly createdAt: number,
    readonly lastGetAt: number | null,
    public material: WrappedMaterial | null,
    private attrs: Attribute[],
  ) {}

  static fromRecord(r: ObjectRecord, nowMs: number): ManagedObject {
    const attrs = r.attributes.map(fromStoredAttribute);
    const o = new ManagedObject(r.uid, r.tenantId, r.objectType, r.state, r.revision, r.createdAt, r.lastGetAt, r.material, attrs);
    o.state = effectiveState(r.state, o.first('Activation Date') as number | undefined, o.first('Deactivation Date') as number | undefined, Math.floor(nowMs / 1000));
    return o;
  }

  static create(n: NewObject): ManagedObject {
    return new ManagedObject(n.uid, n.tenantId, n.objectType, n.state, 0, n.createdAt, null, n.material, [...n.attributes]);
  }

  toRecord(nowMs: number): ObjectRecord {
    return {
      uid: this.uid,
      tenantId: this.tenantId,
      objectType: this.objectType,
      state: this.state,
      revision: this.readRevision,
      createdAt: this.createdAt,
      updatedAt: nowMs,
      lastGetAt: this.lastGetAt,
      attributes: this.attrs.map(toStoredAttribute),
      material: this.material,
    };
  }

  get isDestroyed(): boolean {
    return this.state === State.Destroyed || this.state === State.DestroyedCompromised;
  }

  /** Every attribute instance, the column attributes first, ordered by name then index. */
  allAttributes(): Attribute[] {
    return [
      { name: 'Unique Identifier', index: 0, value: this.uid },
      { name: 'Object Type', index: 0, value: this.objectType },
      { name: 'State', index: 0, value: this.state },
      ...this.attrs,
    ];
  }

  instances(name: string): Attribute[] {
    if (COLUMN_ATTRIBUTES.has(name)) return this.allAttributes().filter((a) => a.name === name);
    return this.attrs.filter((a) => a.name === name).sort((a, b) => a.index - b.index);
  }

  first(name: string): unknown {
    return this.instances(name)[0]?.value;
  }

  /** Sets a single-instance attribute (index 0), replacing any value. */
  set(name: string, value: unknown): void {
    this.assertNotColumn(name);
    this.attrs = this.attrs.filter((a) => a.name !== name);
    this.attrs.push({ name, index: 0, value });
  }

  /** Adds an instance after the highest index in use; returns its index. */
  add(name: string, value: unknown): number {
    this.assertNotColumn(name);
    const index = this.attrs.reduce((max, a) => (a.name === name ? Math.max(max, a.index + 1) : max), 0);
    this.attrs.push({ name, index, value });
    return index;
  }

  /** Replaces the value of one instance; false when that instance does not exist. */
  modify(name: string, index: number, value: unknown): boolean {
    const i = this.attrs.findIndex((a) => a.name === name && a.index === index);
    if (i < 0) return false;
    this.attrs[i] = { name, index, value };
    return true;
  }

  /** Deletes one instance; false when it does not exist. Other instances keep their indices. */
  delete(name: string, index: number): boolean {
    const before = this.attrs.length;
    this.attrs = this.attrs.filter((a) => !(a.name === name && a.index === index));
    return this.attrs.length < before;
  }

  private assertNotColumn(name: string): void {
    if (COLUMN_ATTRIBUTES.has(name)) throw new Error(`${name} is kept as a column`);
  }
}
