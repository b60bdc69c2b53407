import type { OperationContext } from '../context.js';
import { invalidField, wrongLifecycleState } from '../errors.js';
import { Operation, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { encodeAttributeValue, type ManagedObject } from '../managed-object.js';
import { attributeDef, attributeFromV1, attributeFromV2, AttributeV1Schema, AttributesV2Codec } from '../model/attributes.js';
import { opt, raw, req, struct, text, type InferStruct } from '../schema.js';
import { is2x } from '../version.js';
import { attributeInstanceNotFound, attributeReadOnly } from './attribute-rules.js';
import { attributesV1 } from './attribute-io.js';
import { loadObject, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';

const Request = struct('Modify Attribute Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  attribute: opt(Tag.Attribute, AttributeV1Schema, { until: 14 }),
  currentAttribute: opt(Tag.CurrentAttribute, AttributesV2Codec, { since: 20 }),
  newAttribute: opt(Tag.NewAttribute, AttributesV2Codec, { since: 20 }),
});
const Response = struct('Modify Attribute Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  attribute: opt(Tag.Attribute, raw, { until: 14 }),
});

/** Which instance to change: by 1.x index, by 2.x Current Attribute value, or the only one there is. */
type Target = { readonly kind: 'index'; readonly index: number } | { readonly kind: 'value'; readonly current: unknown } | { readonly kind: 'only' };

interface Edit {
  readonly name: string;
  readonly value: unknown;
  readonly target: Target;
}

function readEdit(ctx: OperationContext, req: InferStruct<typeof Request>): Edit {
  if (!is2x(ctx.version)) {
    if (!req.attribute) throw invalidField('Attribute is required');
    const a = attributeFromV1(req.attribute, ctx);
    return { name: a.name, value: a.value, target: { kind: 'index', index: req.attribute.attributeIndex ?? 0 } };
  }
  const next = req.newAttribute ?? [];
  if (next.length !== 1) throw invalidField('New Attribute must hold exactly one attribute');
  const a = attributeFromV2(next[0]!, ctx);
  if (!req.currentAttribute) return { name: a.name, value: a.value, target: { kind: 'only' } };
  if (req.currentAttribute.length !== 1) throw invalidField('Current Attribute must hold exactly one attribute');
  const current = attributeFromV2(req.currentAttribute[0]!, ctx, 'match');
  if (current.name !== a.name) throw invalidField('Current Attribute and New Attribute must name the same attribute');
  return { name: a.name, value: a.value, target: { kind: 'value', current: current.value } };
}

function resolveIndex(obj: ManagedObject, name: string, target: Target): number {
  const instances = obj.instances(name);
  if (target.kind === 'index') return target.index;
  if (target.kind === 'only') {
    if (instances.length !== 1) throw attributeInstanceNotFound(name);
    return instances[0]!.index;
  }
  const key = encodeAttributeValue(name, target.current).key;
  const match = instances.find((a) => encodeAttributeValue(name, a.value).key === key);
  if (!match) throw attributeInstanceNotFound(name);
  return match.index;
}

/** Dates that drive the state machine may change only before the transition they schedule. */
export function checkDateRule(name: string, state: number): void {
  if (name === 'Activation Date' && state !== State.PreActive) {
    throw wrongLifecycleState('Activation Date can change only while the object is Pre-Active');
  }
  if ((name === 'Deactivation Date' || name === 'Process Start Date' || name === 'Protect Stop Date') && state !== State.PreActive && state !== State.Active) {
    throw wrongLifecycleState(`${name} can change only while the object is Pre-Active or Active`);
  }
}

export const modifyAttribute = defineOperation({
  operation: Operation.ModifyAttribute,
  name: 'Modify Attribute',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const edit = readEdit(ctx, req);
    if (!attributeDef(edit.name, ctx.version)!.clientModifies) throw attributeReadOnly(edit.name);
    const obj = await loadObject(ctx, uid, true);
    const index = resolveIndex(obj, edit.name, edit.target);
    checkDateRule(edit.name, obj.state);
    if (!obj.modify(edit.name, index, edit.value)) throw attributeInstanceNotFound(edit.name);
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    const modified = obj.instances(edit.name).find((a) => a.index === index)!;
    return { uniqueIdentifier: uid, attribute: is2x(ctx.version) ? undefined : attributesV1([modified], ctx)[0] };
  },
});
