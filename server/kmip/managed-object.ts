/**
 * A managed object in memory: its store record plus its attributes, decoded through the registry
 * only when read (a Get needs three of fifteen) and re-encoded only when changed.
 * Unique Identifier, Object Type and State live in their own columns and are added when read.
 */
import { createHash } from 'node:crypto';
import { ItemType, type TtlvItem } from '../ttlv/index.js';
import type { ObjectRecord, StoredAttribute, WrappedMaterial } from '../store/store.js';
import { ObjectType, ProtectionStorageMask, State } from './generated/enums.js';
import { Tag } from './generated/tags.js';
import { attributeDef, isCustomName, type Attribute } from './model/attributes.js';
import { jsonToTtlv, ttlvToJson, type TtlvJson } from './model/ttlv-json.js';
import { effectiveState } from './lifecycle.js';
import { STORAGE_CONTEXT } from './schema.js';

/**
 * Attributes that are columns, not stored attribute instances. Fresh (1.1 §3.34, "not yet served
 * to a client") is the absence of a last Get time: a Get records that time without rewriting the
 * object, so serving a key is never a synchronous write. Short Unique Identifier (2.x) is a function
 * of the Unique Identifier, so every object has it, those stored before it existed included.
 */
const COLUMN_ATTRIBUTES = new Set(['Unique Identifier', 'Short Unique Identifier', 'Object Type', 'State', 'Fresh']);

/**
 * The Short Unique Identifier: the SHA-256 of the Unique Identifier's UTF-8 bytes. Fixed-size (32
 * bytes) whatever form identifiers take, and unique as long as the identifiers are.
 */
export function shortUniqueIdentifier(uid: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(uid, 'utf8').digest());
}

/**
 * What an object holds when nothing is stored: the spec's defaults Sensitive False and Extractable
 * True (1.4 §3.48, §3.50), so never Always Sensitive nor Never Extractable (a client's Sensitive True
 * or Extractable False at creation has always been stored with its pair), and this server's only
 * storage, software. New objects store them all (new-object.ts); objects stored before these
 * attributes were kept read them from here, so every object answers alike.
 */
const DEFAULTS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ['Sensitive', false],
  ['Always Sensitive', false],
  ['Extractable', true],
  ['Never Extractable', false],
  ['Protection Storage Mask', ProtectionStorageMask.Software],
]);

/** How long a client may use an object before asking again (Obtain Lease, Check, the Lease Time attribute). */
export const LEASE_SECONDS = 3600;

/**
 * Lease Time (1.x §3.15, 2.x §4.22) is the server's to set on cryptographic objects: every one has
 * the lease this server grants, nothing stored. The profiles' test cases read it back from objects
 * never activated as well as from Active, Deactivated and Destroyed ones; an Opaque Object is not a
 * cryptographic object and has none.
 */
const LEASE_TIME = 'Lease Time';

/** Dates are the values Locate compares by range (a date attribute given twice); nothing else needs the range index. */
function numericView(item: TtlvItem): number | undefined {
  return item.type === ItemType.DateTime ? Number(item.value) : undefined;
}

/** Equality keys longer than this are stored as their SHA-256, so the index stays small whatever clients store. */
const MAX_KEY_LENGTH = 200;

/** The storage form of an attribute value, and the equality key Locate compares. */
export function encodeAttributeValue(name: string, value: unknown): { json: TtlvJson; key: string; num: number | undefined; indexed: boolean } {
  const def = attributeDef(name);
  if (!def) throw new Error(`no attribute definition for ${name}`);
  const item = def.codec.encode(Tag.AttributeValue, value, STORAGE_CONTEXT);
  const json = ttlvToJson(item);
  const text = JSON.stringify(json);
  const key = text.length <= MAX_KEY_LENGTH ? text : `sha256:${createHash('sha256').update(text).digest('base64')}`;
  // Every date keeps its numeric view: Locate ranges over dates the index does not hold read it from the stored JSON.
  return { json, key, num: numericView(item), indexed: def.index !== 'none' };
}

export function toStoredAttribute(a: Attribute): StoredAttribute {
  const { json, key, num, indexed } = encodeAttributeValue(a.name, a.value);
  return { name: a.name, index: a.index, value: json, key, num, indexed };
}

export function fromStoredAttribute(s: StoredAttribute): Attribute {
  return { name: s.name, index: s.index, value: decodeStoredValue(s) };
}

function decodeStoredValue(s: StoredAttribute): unknown {
  const def = attributeDef(s.name);
  if (!def) throw new Error(`stored attribute ${s.name} is unknown to this server`);
  const item = jsonToTtlv(Tag.AttributeValue, s.value as TtlvJson);
  return isCustomName(s.name) ? item : def.codec.decode(item, STORAGE_CONTEXT);
}

/** One attribute instance: its stored form, its decoded value, or both. */
class Entry {
  private decoded: { value: unknown } | undefined;
  constructor(
    readonly name: string,
    readonly index: number,
    private stored: StoredAttribute | undefined,
    value?: { value: unknown },
  ) {
    this.decoded = value;
  }
  get value(): unknown {
    this.decoded ??= { value: decodeStoredValue(this.stored!) };
    return this.decoded.value;
  }
  toStored(): StoredAttribute {
    this.stored ??= toStoredAttribute({ name: this.name, index: this.index, value: this.decoded!.value });
    return this.stored;
  }
  toAttribute(): Attribute {
    return { name: this.name, index: this.index, value: this.value };
  }
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
    private entries: Entry[],
  ) {}

  static fromRecord(r: ObjectRecord, nowMs: number): ManagedObject {
    const entries = r.attributes.map((s) => new Entry(s.name, s.index, s));
    const o = new ManagedObject(r.uid, r.tenantId, r.objectType, r.state, r.revision, r.createdAt, r.lastGetAt, r.material, entries);
    if (r.state === State.PreActive || r.state === State.Active) {
      o.state = effectiveState(r.state, o.first('Activation Date') as number | undefined, o.first('Deactivation Date') as number | undefined, Math.floor(nowMs / 1000));
    }
    return o;
  }

  static create(n: NewObject): ManagedObject {
    const entries = n.attributes.map((a) => new Entry(a.name, a.index, undefined, { value: a.value }));
    return new ManagedObject(n.uid, n.tenantId, n.objectType, n.state, 0, n.createdAt, null, n.material, entries);
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
      attributes: this.entries.map((e) => e.toStored()),
      material: this.material,
    };
  }

  get isDestroyed(): boolean {
    return this.state === State.Destroyed || this.state === State.DestroyedCompromised;
  }

  /** Every attribute instance, the column attributes first. */
  allAttributes(): Attribute[] {
    const stored = this.entries.map((e) => e.toAttribute());
    const unstored = [...DEFAULTS].filter(([name]) => !this.entries.some((e) => e.name === name));
    const lease = this.leaseTime();
    return [...this.columns(), ...stored, ...unstored.map(([name, value]) => ({ name, index: 0, value })), ...(lease ? [lease] : [])];
  }

  /** The derived Lease Time of a cryptographic object without a stored one. */
  private leaseTime(): Attribute | undefined {
    if (this.objectType === ObjectType.OpaqueObject || this.entries.some((e) => e.name === LEASE_TIME)) return undefined;
    return { name: LEASE_TIME, index: 0, value: LEASE_SECONDS };
  }

  private columns(): Attribute[] {
    return [...COLUMN_ATTRIBUTES].map((name) => this.column(name));
  }

  private column(name: string): Attribute {
    switch (name) {
      case 'Unique Identifier':
        return { name, index: 0, value: this.uid };
      case 'Short Unique Identifier':
        return { name, index: 0, value: shortUniqueIdentifier(this.uid) };
      case 'Object Type':
        return { name, index: 0, value: this.objectType };
      case 'State':
        return { name, index: 0, value: this.state };
      default:
        return { name: 'Fresh', index: 0, value: this.lastGetAt === null };
    }
  }

  /** The instances of one attribute, by index; only these are decoded. */
  instances(name: string): Attribute[] {
    if (COLUMN_ATTRIBUTES.has(name)) return [this.column(name)];
    const stored = this.entries
      .filter((e) => e.name === name)
      .sort((a, b) => a.index - b.index)
      .map((e) => e.toAttribute());
    if (stored.length > 0) return stored;
    if (DEFAULTS.has(name)) return [{ name, index: 0, value: DEFAULTS.get(name) }];
    const lease = name === LEASE_TIME ? this.leaseTime() : undefined;
    return lease ? [lease] : [];
  }

  /** The named attributes in the order asked for (the profiles' test cases expect it), decoding nothing else; none named means all. */
  selectAttributes(names: readonly string[]): Attribute[] {
    if (names.length === 0) return this.allAttributes();
    return [...new Set(names)].flatMap((name) => this.instances(name));
  }

  first(name: string): unknown {
    let best: Entry | undefined;
    for (const e of this.entries) if (e.name === name && (!best || e.index < best.index)) best = e;
    if (best) return best.value;
    if (DEFAULTS.has(name)) return DEFAULTS.get(name);
    if (name === LEASE_TIME) return this.leaseTime()?.value;
    return COLUMN_ATTRIBUTES.has(name) ? this.column(name).value : undefined;
  }

  /** Sets a single-instance attribute (index 0), replacing any value. */
  set(name: string, value: unknown): void {
    this.assertNotColumn(name);
    this.entries = this.entries.filter((e) => e.name !== name);
    this.entries.push(new Entry(name, 0, undefined, { value }));
  }

  /** Adds an instance after the highest index in use; returns its index. */
  add(name: string, value: unknown): number {
    this.assertNotColumn(name);
    const index = this.entries.reduce((max, e) => (e.name === name ? Math.max(max, e.index + 1) : max), 0);
    this.entries.push(new Entry(name, index, undefined, { value }));
    return index;
  }

  /** Replaces the value of one instance; false when that instance does not exist. */
  modify(name: string, index: number, value: unknown): boolean {
    const i = this.entries.findIndex((e) => e.name === name && e.index === index);
    if (i < 0) {
      // A default is an instance like a stored one: modifying it stores the new value.
      if (index !== 0 || !DEFAULTS.has(name) || this.entries.some((e) => e.name === name)) return false;
      this.entries.push(new Entry(name, 0, undefined, { value }));
      return true;
    }
    this.entries[i] = new Entry(name, index, undefined, { value });
    return true;
  }

  /** Deletes one instance; false when it does not exist. Other instances keep their indices. */
  delete(name: string, index: number): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !(e.name === name && e.index === index));
    return this.entries.length < before;
  }

  private assertNotColumn(name: string): void {
    if (COLUMN_ATTRIBUTES.has(name)) throw new Error(`${name} is kept as a column`);
  }
}
