/** Attribute lists in responses and attribute names in requests, in the form of the client's version. */
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { invalidField } from '../errors.js';
import { Tag } from '../generated/tags.js';
import {
  attributeDef,
  attributeNameForTag,
  attributeToV1,
  attributeToV2,
  AttributeReferenceSchema,
  isCustomName,
  type Attribute,
} from '../model/attributes.js';
import type { CodecContext, ValueCodec } from '../schema.js';
import { inRange, is2x } from '../version.js';

/** Whether a client of this version may see the attribute (1.x clients see only 1.x attributes and custom names). */
export function visibleTo(a: Attribute, version: number): boolean {
  if (isCustomName(a.name)) return true;
  const d = attributeDef(a.name);
  return d !== undefined && inRange(version, d.since, d.until);
}

/** 1.x: a list of Attribute structures. */
export function attributesV1(attrs: readonly Attribute[], ctx: CodecContext): TtlvItem[] {
  return attrs.filter((a) => visibleTo(a, ctx.version)).map((a) => attributeToV1(a, ctx));
}

/** 2.x: the children of an Attributes structure. */
export function attributesV2(attrs: readonly Attribute[], ctx: CodecContext): TtlvItem[] {
  return attrs.flatMap((a) => {
    const item = visibleTo(a, ctx.version) ? attributeToV2(a, ctx) : undefined;
    return item ? [item] : [];
  });
}

/** 2.x Attribute Reference: an Enumeration naming a tag, or a vendor attribute's identification and name. */
export const AttributeReferenceCodec: ValueCodec<string> = {
  itemType: undefined,
  decode(item, ctx) {
    if (item.type === ItemType.Enumeration) {
      const name = attributeNameForTag(item.value, ctx.version);
      // Unknown tags name nothing we hold: answered by omission, like absent attributes.
      return name ?? `#${item.value.toString(16)}`;
    }
    if (item.type === ItemType.Structure) {
      const r = AttributeReferenceSchema.decode(item, ctx);
      return `${r.vendorIdentification}-${r.attributeName}`;
    }
    throw invalidField('Attribute Reference must be an Enumeration or a Structure');
  },
  encode(tag, name, ctx) {
    if (isCustomName(name)) {
      const dash = name.indexOf('-');
      return AttributeReferenceSchema.encode(tag, { vendorIdentification: name.slice(0, dash), attributeName: name.slice(dash + 1) }, ctx);
    }
    const d = attributeDef(name);
    if (!d) throw new Error(`unknown attribute ${name}`);
    return { tag, type: ItemType.Enumeration, value: d.tag };
  },
};

export function attributesStructure(attrs: readonly Attribute[], ctx: CodecContext): TtlvItem {
  return { tag: Tag.Attributes, type: ItemType.Structure, value: attributesV2(attrs, ctx) };
}

export { is2x };
