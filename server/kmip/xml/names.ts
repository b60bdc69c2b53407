/**
 * The names the XML encoding writes: element names from the tag table, enumeration and mask value
 * names from the enumeration table (both generated from the spec data), and which table a given
 * item's value is named from.
 */
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { ENUM_TABLE, type EnumInfo } from '../generated/enums.js';
import { Tag, TAG_TABLE } from '../generated/tags.js';
import { attributeDef } from '../model/attributes.js';

const TAG_BY_NAME = new Map<string, number>(TAG_TABLE.map(([tag, name]) => [name, tag]));
const NAME_BY_TAG = new Map<number, string>(TAG_TABLE.map(([tag, name]) => [tag, name]));

/** The name a 1.x Attribute structure gives its Attribute Value (which table names an enumeration value in it). */
export function attributeNameIn(children: readonly TtlvItem[]): string | undefined {
  const named = children.find((c) => c.tag === Tag.AttributeName && c.type === ItemType.TextString);
  return named?.value as string | undefined;
}

export function tagForName(name: string): number | undefined {
  return TAG_BY_NAME.get(name);
}

export function nameForTag(tag: number): string | undefined {
  return NAME_BY_TAG.get(tag);
}

const ENUMS = new Map<number, EnumInfo>();
const MASKS = new Map<number, EnumInfo>();
for (const e of ENUM_TABLE) if (e.tag !== null) (e.kind === 'mask' ? MASKS : ENUMS).set(e.tag, e);

/**
 * KMIP leaves the PKCS#11 Function and Return Code values to PKCS#11 v3.0 (the spec tables list none).
 * Only the names the OASIS test cases write: functions by their place in CK_FUNCTION_LIST_3_0 after
 * its version field (C_Initialize first, as 1), return codes by CK_RV (CKR_OK is 0, written "OK").
 */
function external(tag: number, name: string, values: ReadonlyArray<readonly [string, number]>): void {
  const info: EnumInfo = { name, kind: 'enumeration', tag, since: 20, until: null, values: values.map(([n, value]) => ({ name: n, value, since: 20, until: null })) };
  if ((ENUMS.get(tag)?.values.length ?? 0) === 0) ENUMS.set(tag, info);
}
external(Tag.PKCS_11Function, 'PKCS_11Function', [
  ['C_Initialize', 1],
  ['C_Finalize', 2],
  ['C_GetInfo', 3],
]);
external(Tag.PKCS_11ReturnCode, 'PKCS_11ReturnCode', [['OK', 0]]);

/** Fields whose values come from another field's enumeration (the spec gives them no table of their own). */
const BORROWED: ReadonlyMap<number, number> = new Map([[Tag.MaskGeneratorHashingAlgorithm, Tag.HashingAlgorithm]]);

/**
 * How an item's value is named. `tags`: a 2.x Attribute Reference enumerates tags, so its values are
 * tag names. An Attribute Value (1.x) is named by the attribute its sibling Attribute Name names.
 */
export type Naming = { readonly kind: 'enum' | 'mask'; readonly info: EnumInfo } | { readonly kind: 'tags' } | undefined;

/** The tag whose table names an Attribute Value, from its 1.x Attribute Name ("Cryptographic Algorithm"). */
export function tagForAttributeName(attributeName: string): number | undefined {
  const d = attributeName.startsWith('x-') || attributeName.startsWith('y-') ? undefined : attributeDef(attributeName);
  return d?.tag ?? TAG_BY_NAME.get(attributeName.replace(/[^A-Za-z0-9]/g, ''));
}

export function namingFor(tag: number, itemType: 'Enumeration' | 'Integer', attributeName: string | undefined): Naming {
  let effective = tag;
  if (tag === Tag.AttributeValue && attributeName !== undefined) effective = tagForAttributeName(attributeName) ?? tag;
  effective = BORROWED.get(effective) ?? effective;
  if (itemType === 'Integer') {
    const mask = MASKS.get(effective);
    return mask ? { kind: 'mask', info: mask } : undefined;
  }
  if (effective === Tag.AttributeReference) return { kind: 'tags' };
  const info = ENUMS.get(effective);
  return info ? { kind: 'enum', info } : undefined;
}

const byValue = new WeakMap<EnumInfo, Map<number, string>>();
const byName = new WeakMap<EnumInfo, Map<string, number>>();

export function valueName(info: EnumInfo, value: number): string | undefined {
  let m = byValue.get(info);
  if (!m) byValue.set(info, (m = new Map(info.values.map((v) => [v.value, v.name]))));
  return m.get(value);
}

export function nameValue(info: EnumInfo, name: string): number | undefined {
  let m = byName.get(info);
  if (!m) byName.set(info, (m = new Map(info.values.map((v) => [v.name, v.value]))));
  return m.get(name);
}
