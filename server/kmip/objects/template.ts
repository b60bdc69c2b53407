/**
 * Templates (KMIP 1.0–1.4 §2.2.6; deprecated in 1.3, gone in 2.0): a named object that holds only
 * attributes, for the objects made from it. A Template-Attribute that names a Template brings its
 * attributes into Create, Create Key Pair, Register, Re-key and Derive Key (1.4 §2.1.8, §4).
 *
 * The Template structure is kept as registered (Get returns it) and sealed like any object; the
 * attributes in it stay there and are not attributes of the Template object itself, which has only
 * its Names and the attributes the server keeps (1.1 §2.2.6). So an Activation Date meant for the
 * keys does not activate the Template, and Locate by algorithm finds keys, not Templates.
 */
import type { TtlvItem } from '../../ttlv/index.js';
import { invalidField, KmipError } from '../errors.js';
import { ResultReason, State } from '../generated/enums.js';
import { encodeAttributeValue } from '../managed-object.js';
import { attributeDef, attributeFromV1, isCustomName, type Attribute } from '../model/attributes.js';
import type { CodecContext } from '../schema.js';
import { TemplateSchema } from './schemas.js';

/**
 * What a Template may carry for the objects made from it: the client-settable attributes 1.1 §2.2.6
 * and 1.4 Appendix B list for Templates (Certificate Length and Digital Signature Algorithm, which
 * this server derives from certificates, are left out), and custom x- attributes.
 */
const APPLIES_TO_NEW_OBJECTS: ReadonlySet<string> = new Set([
  'Cryptographic Algorithm',
  'Cryptographic Length',
  'Cryptographic Domain Parameters',
  'Cryptographic Parameters',
  'Operation Policy Name',
  'Cryptographic Usage Mask',
  'Usage Limits',
  'Activation Date',
  'Process Start Date',
  'Protect Stop Date',
  'Deactivation Date',
  'Object Group',
  'Application Specific Information',
  'Contact Information',
  'Alternative Name',
]);

/** Enough for every attribute above several times over; a Template is read on every request naming it. */
const MAX_TEMPLATE_ATTRIBUTES = 64;

/**
 * Stored Templates are read with the 1.x attribute set (Operation Policy Name ends at 1.4) and every
 * value of every version, whichever 1.x version registered them.
 */
const STORED_TEMPLATE: CodecContext = Object.freeze({ version: 14, storage: true });

/**
 * Validates a Template a client registers and returns its Names, the only attributes of the
 * Template object itself. `stated` is what the request's Template-Attribute holds: Names only.
 * 1.0 and 1.1 name a Template inside it (§2.2.6: "except the Name attribute"); from 1.2 a Name
 * inside is refused (1.2 §11.4) and the Name comes in the Template-Attribute.
 */
export function templateNames(item: TtlvItem, stated: readonly Attribute[], ctx: CodecContext): Attribute[] {
  const names = stated.filter((a) => a.name === 'Name');
  const other = stated.find((a) => a.name !== 'Name');
  if (other) throw invalidField(`a Template's own attributes are its Names: ${other.name} goes inside the Template`);
  const { attributes } = TemplateSchema.decode(item, ctx);
  if (attributes.length === 0) throw invalidField('a Template holds at least one Attribute');
  if (attributes.length > MAX_TEMPLATE_ATTRIBUTES) throw invalidField(`a Template holds at most ${MAX_TEMPLATE_ATTRIBUTES} attributes`);
  const seen = new Set<string>();
  for (const raw of attributes) {
    const a = attributeFromV1(raw, ctx);
    if (a.name === 'Name') {
      if (ctx.version >= 12) throw invalidField('a Template is named in the Template-Attribute, not inside the Template');
      names.push({ name: 'Name', index: 0, value: a.value });
      continue;
    }
    const def = attributeDef(a.name, ctx.version)!;
    if (!def.clientSets) throw new KmipError(ResultReason.ReadOnlyAttribute, `attribute ${a.name} is set by the server`);
    if (!APPLIES_TO_NEW_OBJECTS.has(a.name) && !isCustomName(a.name)) throw invalidField(`${a.name} cannot be given to new objects through a Template`);
    if (!def.multi && seen.has(a.name)) throw new KmipError(ResultReason.AttributeSingleValued, `attribute ${a.name} may appear only once`);
    seen.add(a.name);
  }
  if (names.length === 0) throw invalidField('a Template needs a Name: requests refer to it by name');
  return names;
}

/**
 * The server's record of any object, which Export gives for a Template and Import takes back as
 * given (1.4 §4.41): its identity, State, dates, Fresh, the Sensitive/Extractable set, Lease Time.
 */
const TEMPLATE_BOOKKEEPING: ReadonlySet<string> = new Set([
  'Unique Identifier',
  'Object Type',
  'State',
  'Initial Date',
  'Original Creation Date',
  'Last Change Date',
  'Fresh',
  'Sensitive',
  'Extractable',
  'Always Sensitive',
  'Never Extractable',
  'Lease Time',
]);

/** A Template is never revoked (Revoke refuses it) nor imported destroyed: its dates alone move it. */
const TEMPLATE_STATES: ReadonlySet<number> = new Set([State.PreActive, State.Active, State.Deactivated]);

/**
 * The Names among the attributes Import gives a Template object itself, for templateNames, once the
 * rest are checked. Export gives a Template's own attributes, not only its Names, so Import takes
 * what a Template this server holds can have: the bookkeeping above and what Add Attribute accepts
 * on it. What describes keys (Cryptographic Algorithm, Digest, Revocation Reason, …) is refused:
 * it would make Locate find the Template as a key, and belongs inside the Template.
 */
export function importedTemplateNames(given: readonly Attribute[]): Attribute[] {
  for (const a of given) {
    if (a.name === 'State' && !TEMPLATE_STATES.has(a.value as number)) throw invalidField('a Template is only ever Pre-Active, Active or Deactivated');
    if (TEMPLATE_BOOKKEEPING.has(a.name)) continue;
    const def = attributeDef(a.name);
    // Add Attribute's rule (x- custom attributes pass it, the server's y- ones do not): set by the
    // client after creation, as a change or one more instance.
    if (!def?.clientSets || !(def.clientModifies || def.multi)) {
      throw invalidField(`a Template object has no ${a.name}: attributes for the objects made from it go inside the Template`);
    }
  }
  return given.filter((a) => a.name === 'Name');
}

/** The attributes a stored Template gives to the objects made from it (its Names excluded). */
export function templateContent(item: TtlvItem): Attribute[] {
  return TemplateSchema.decode(item, STORED_TEMPLATE)
    .attributes.map((raw) => attributeFromV1(raw, STORED_TEMPLATE))
    .filter((a) => a.name !== 'Name');
}

function isMulti(name: string): boolean {
  return attributeDef(name)?.multi === true;
}

function sameValue(a: Attribute, b: Attribute): boolean {
  return a.name === b.name && encodeAttributeValue(a.name, a.value).key === encodeAttributeValue(b.name, b.value).key;
}

/**
 * The attributes of a new object from its templates, in the order named, and the request's own
 * (1.4 §4): a single-instance attribute takes the request's value, else the last template's; a
 * multi-instance attribute takes the union of all the values.
 */
export function overTemplates(templates: ReadonlyArray<readonly Attribute[]>, explicit: readonly Attribute[]): Attribute[] {
  let chosen: Attribute[] = [];
  for (const template of templates) {
    for (const a of template) {
      if (isMulti(a.name)) {
        if (!chosen.some((c) => sameValue(c, a))) chosen.push(a);
      } else {
        chosen = [...chosen.filter((c) => c.name !== a.name), a];
      }
    }
  }
  const explicitNames = new Set(explicit.map((a) => a.name));
  const kept = chosen.filter((a) => (isMulti(a.name) ? !explicit.some((e) => sameValue(e, a)) : !explicitNames.has(a.name)));
  return [...kept, ...explicit];
}
