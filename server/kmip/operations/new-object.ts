/** Building a new managed object the same way for Create, Create Key Pair, Register and ReKey. */
import type { OperationContext } from '../context.js';
import { State } from '../generated/enums.js';
import { ManagedObject } from '../managed-object.js';
import type { Attribute } from '../model/attributes.js';
import { applyClientAttributes, nowSeconds } from './common.js';

export interface NewObjectSpec {
  readonly objectType: number;
  /** Attributes the client asked for (validated). */
  readonly clientAttributes: readonly Attribute[];
  /** Attributes the server sets; they replace any client instance of the same name. */
  readonly derived?: readonly Attribute[];
  readonly uid?: string;
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
  // Always Sensitive and Never Extractable record how the object started (1.4 §3.48, §3.50).
  const sensitive = obj.first('Sensitive');
  if (sensitive !== undefined) obj.set('Always Sensitive', sensitive === true);
  const extractable = obj.first('Extractable');
  if (extractable !== undefined) obj.set('Never Extractable', extractable === false);
  obj.set('Last Change Date', now);
  return obj;
}
