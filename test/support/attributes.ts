/** Builders for 1.x attributes in requests (Attribute structures as the schemas expect them). */
import { ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { Tag } from '../../server/kmip/generated/tags.js';

export interface V1Attribute {
  attributeName: string;
  attributeIndex?: number;
  attributeValue: TtlvItem;
}

const v = (type: number, value: unknown): TtlvItem => ({ tag: Tag.AttributeValue, type, value }) as TtlvItem;

export const textAttr = (name: string, value: string): V1Attribute => ({ attributeName: name, attributeValue: v(ItemType.TextString, value) });
export const enumAttr = (name: string, value: number): V1Attribute => ({ attributeName: name, attributeValue: v(ItemType.Enumeration, value) });
export const intAttr = (name: string, value: number): V1Attribute => ({ attributeName: name, attributeValue: v(ItemType.Integer, value) });
export const dateAttr = (name: string, seconds: number): V1Attribute => ({ attributeName: name, attributeValue: v(ItemType.DateTime, BigInt(seconds)) });
export const nameAttr = (value: string): V1Attribute => ({
  attributeName: 'Name',
  attributeValue: {
    tag: Tag.AttributeValue,
    type: ItemType.Structure,
    value: [
      { tag: Tag.NameValue, type: ItemType.TextString, value },
      { tag: Tag.NameType, type: ItemType.Enumeration, value: 1 },
    ],
  },
});

/** Attribute structures of a 1.x response as name → values. */
export function attributeMap(items: readonly TtlvItem[]): Map<string, TtlvItem[]> {
  const out = new Map<string, TtlvItem[]>();
  for (const item of items) {
    if (item.type !== ItemType.Structure) throw new Error('attribute is not a structure');
    const name = item.value.find((c) => c.tag === Tag.AttributeName);
    const value = item.value.find((c) => c.tag === Tag.AttributeValue);
    if (name?.type !== ItemType.TextString || !value) throw new Error('malformed attribute');
    out.set(name.value, [...(out.get(name.value) ?? []), value]);
  }
  return out;
}
