/** Building a new managed object the same way for Create, Create Key Pair, Register and ReKey. */
import type { TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { invalidField, KmipError, type ResultReasonCode } from '../errors.js';
import { ProtectionStorageMask, ResultReason, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { ManagedObject } from '../managed-object.js';
import type { Attribute } from '../model/attributes.js';
import { ProtectionStorageMaskCodec } from '../model/attribute-values.js';
import { applyClientAttributes, nowSeconds } from './common.js';

export interface NewObjectSpec {
  readonly objectType: number;
  /** Attributes the client asked for (validated). */
  readonly clientAttributes: readonly Attribute[];
  /** Attributes the server sets; they replace any client instance of the same name. */
  readonly derived?: readonly Attribute[];
  readonly uid?: string;
  /** The Protection Storage Mask chosen for it (protectionStorage); software when not given. */
  readonly protectionStorageMask?: number;
}

/** Where this server keeps every object's material: in software, wrapped under the root key in its database. */
const SERVER_STORAGE = ProtectionStorageMask.Software;

/**
 * The Protection Storage Mask a new object gets (2.x). The client's Protection Storage Masks list
 * what it permits, each mask a set of acceptable kinds of storage; the server keeps material in
 * software only, so it takes a request whose masks permit software at all and refuses one that
 * permits only other kinds (hardware, off-system, …) with `unavailable`, before anything is made.
 */
export function protectionStorage(ctx: OperationContext, masks: readonly TtlvItem[] | undefined, unavailable: ResultReasonCode = ResultReason.ProtectionStorageUnavailable): number {
  if (masks === undefined || masks.length === 0) return SERVER_STORAGE;
  let permitsSoftware = false;
  for (const item of masks) {
    if (item.tag !== Tag.ProtectionStorageMask) throw invalidField('Protection Storage Masks holds only Protection Storage Mask items');
    if ((ProtectionStorageMaskCodec.decode(item, ctx) & SERVER_STORAGE) !== 0) permitsSoftware = true;
  }
  if (!permitsSoftware) throw new KmipError(unavailable, 'this server keeps objects in software storage only, which the Protection Storage Masks do not permit');
  return SERVER_STORAGE;
}

export function newObject(ctx: OperationContext, spec: NewObjectSpec): ManagedObject {
  const uid = spec.uid ?? ctx.deps.newUid();
  const now = nowSeconds(ctx);
  const derived = spec.derived ?? [];
  const derivedNames = new Set(derived.map((a) => a.name));
  const client = spec.clientAttributes.filter((a) => !derivedNames.has(a.name));
  const activation = client.find((a) => a.name === 'Activation Date')?.value as number | undefined;
  const obj = ManagedObject.create({
    uid,
    tenantId: ctx.principal.tenantId,
    objectType: spec.objectType,
    // Transition 4 at creation: an Activation Date already past makes the object Active at once.
    state: activation !== undefined && activation <= now ? State.Active : State.PreActive,
    createdAt: ctx.deps.now(),
    attributes: [],
    material: null,
  });
  applyClientAttributes(obj, client);
  for (const a of derived) obj.add(a.name, a.value);
  obj.set('Initial Date', now);
  if (obj.first('Original Creation Date') === undefined) obj.set('Original Creation Date', now);
  // Sensitive and Extractable as the client gave them or at their defaults, False and True (1.4
  // §3.48, §3.50; first() reads the default when none is stored); Always Sensitive and Never
  // Extractable record how the object started (§3.49, §3.51; common.ts keeps them true only while
  // that lasts). All stored, so Locate finds them, whatever the client's version: a client sees
  // them only in the versions that define them (attribute-io.ts), so a 1.1 client's view is unchanged.
  obj.set('Sensitive', obj.first('Sensitive') === true);
  obj.set('Extractable', obj.first('Extractable') !== false);
  obj.set('Always Sensitive', obj.first('Sensitive') === true);
  obj.set('Never Extractable', obj.first('Extractable') === false);
  obj.set('Protection Storage Mask', spec.protectionStorageMask ?? SERVER_STORAGE);
  obj.set('Last Change Date', now);
  return obj;
}
