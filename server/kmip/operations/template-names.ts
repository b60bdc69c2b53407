/**
 * The Names in a 1.x Template-Attribute refer to registered Templates (1.4 §2.1.8): each is found
 * among the requesting tenant's live Templates — another tenant's Template of the same name is
 * no Template at all to it — and its attributes are read from the sealed Template structure.
 */
import type { OperationContext } from '../context.js';
import { invalidField, itemNotFound } from '../errors.js';
import { ObjectType } from '../generated/enums.js';
import { LIVE_STATES } from '../lifecycle.js';
import { encodeAttributeValue } from '../managed-object.js';
import type { Attribute } from '../model/attributes.js';
import type { NameValue } from '../model/attribute-values.js';
import { openObject } from '../objects/material.js';
import { templateContent } from '../objects/template.js';

/** Each named Template costs a search and an unwrap; a request has no use for many. */
const MAX_TEMPLATE_NAMES = 8;

async function templateNamed(ctx: OperationContext, name: NameValue): Promise<Attribute[]> {
  const { key, indexed } = encodeAttributeValue('Name', name);
  const found = await ctx.deps.store.locate(ctx.principal.tenantId, {
    objectType: ObjectType.Template,
    states: LIVE_STATES,
    // An archived Template is off-line like any archived object (loadObject): Recover it first.
    archived: false,
    attributes: [{ name: 'Name', key, indexed }],
    ranges: [],
    offset: 0,
    limit: 1,
    withTotal: false,
    signal: ctx.signal,
  });
  const uid = found.uids[0];
  const record = uid === undefined ? undefined : await ctx.session.get(uid);
  // 1.4 §11.2–11.4: a Template named but not there is Item Not Found.
  if (!record || !record.material) throw itemNotFound(`no Template is named ${JSON.stringify(name.nameValue.slice(0, 64))}`);
  return templateContent(await openObject(ctx, record.uid, record.material));
}

/** The attributes of each named Template, in the order the request names them. */
export async function templatesNamed(ctx: OperationContext, names: readonly NameValue[]): Promise<Attribute[][]> {
  if (names.length > MAX_TEMPLATE_NAMES) throw invalidField(`a Template-Attribute names at most ${MAX_TEMPLATE_NAMES} Templates`);
  const out: Attribute[][] = [];
  for (const name of names) out.push(await templateNamed(ctx, name));
  return out;
}
