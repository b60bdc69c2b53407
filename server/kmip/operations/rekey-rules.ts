/**
 * What a replacement key inherits from the key it replaces (1.4 §4.4 / §4.5 attribute tables):
 * its cryptographic attributes, its grouping and custom attributes, its Names (which move), and its
 * life-cycle dates shifted by the Offset. Both ReKey and ReKey Key Pair follow these rules.
 */
import { wrongLifecycleState } from '../errors.js';
import { LinkType } from '../generated/enums.js';
import { holdsMaterial } from '../lifecycle.js';
import type { ManagedObject } from '../managed-object.js';
import { isCustomName, type Attribute } from '../model/attributes.js';

const INHERITED = new Set([
  'Cryptographic Algorithm',
  'Cryptographic Length',
  'Cryptographic Parameters',
  'Cryptographic Domain Parameters',
  'Cryptographic Usage Mask',
  'Object Group',
  'Contact Information',
  'Application Specific Information',
  'Description',
  'Comment',
  'Sensitive',
  'Extractable',
]);

/** Dates that follow the Activation Date, kept at the same distance from it. */
const SHIFTED_DATES = ['Process Start Date', 'Protect Stop Date', 'Deactivation Date'];

export function requireReplaceable(old: ManagedObject): void {
  if (!holdsMaterial(old.state)) throw wrongLifecycleState('a destroyed key cannot be replaced');
}

/**
 * Attributes of the replacement, before the client's own (which win by name). With an Offset the
 * replacement activates that many seconds from now, and the other dates keep their distance.
 */
export function inheritedAttributes(old: ManagedObject, nowSeconds: number, offset: number | undefined): Attribute[] {
  const out = old.allAttributes().filter((a) => INHERITED.has(a.name) || isCustomName(a.name) || a.name === 'Name');
  if (offset !== undefined) {
    const activation = nowSeconds + offset;
    out.push({ name: 'Activation Date', index: 0, value: activation });
    const oldActivation = old.first('Activation Date') as number | undefined;
    for (const name of SHIFTED_DATES) {
      const oldDate = old.first(name) as number | undefined;
      if (oldDate !== undefined && oldActivation !== undefined) out.push({ name, index: 0, value: activation + (oldDate - oldActivation) });
    }
  }
  return out;
}

export function link(type: number, uid: string): Attribute {
  return { name: 'Link', index: 0, value: { linkType: type, linkedObjectIdentifier: uid } };
}

/** The old key gives up its Names and points to its replacement. */
export function retire(old: ManagedObject, replacementUid: string): void {
  for (const n of old.instances('Name').reverse()) old.delete('Name', n.index);
  old.add('Link', link(LinkType.ReplacementObjectLink, replacementUid).value);
}
