/**
 * TTLV items to the KMIP JSON encoding (KMIP Profiles "JSON Encoding"): objects {"tag", "type",
 * "value"}, names from the same tables as the XML encoding (tags, enumeration values, mask bits
 * joined by "|"), hex wherever the tables have no name. The output decodes back to the same tree.
 */
import { ItemType, itemTypeName, type TtlvItem } from '../../ttlv/index.js';
import { Tag } from '../generated/tags.js';
import { tagName } from '../tag-names.js';
import { attributeNameIn, namingFor } from '../xml/names.js';
import * as v from '../xml/values.js';

export interface JsonEncodeOptions {
  /** Spaces per level; 0 writes everything on one line. Default 0 (a transport body). */
  readonly indent?: number;
}

export type JsonValue = number | boolean | string | JsonItem[];
export interface JsonItem {
  tag: string;
  type?: string;
  value: JsonValue;
}

function scalar(item: Exclude<TtlvItem, { type: 0x01 }>, attributeName: string | undefined): JsonValue {
  const name = item.tag === Tag.AttributeValue ? attributeName : undefined;
  switch (item.type) {
    case ItemType.Integer:
      return v.formatMask(item.value, namingFor(item.tag, 'Integer', name))?.replaceAll(' ', '|') ?? item.value;
    case ItemType.Enumeration:
      return v.formatEnumeration(item.value, namingFor(item.tag, 'Enumeration', name));
    case ItemType.LongInteger:
      // JSON numbers are doubles: past 2^53 a reader would round, so those go as 64-bit hex.
      return item.value >= BigInt(Number.MIN_SAFE_INTEGER) && item.value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(item.value)
        : `0x${BigInt.asUintN(64, item.value).toString(16).padStart(16, '0')}`;
    case ItemType.BigInteger:
      return `0x${v.formatBigInteger(item.value)}`;
    case ItemType.Boolean:
      return item.value;
    case ItemType.TextString:
      return item.value;
    case ItemType.ByteString:
      return v.formatBytes(item.value);
    case ItemType.DateTime:
      return v.formatDateTime(item.value);
    case ItemType.Interval:
      return item.value;
    case ItemType.DateTimeExtended:
      return v.formatDateTimeExtended(item.value);
  }
}

/** One item as a plain JSON object tree (no type for a Structure: it is the default). */
export function ttlvToJsonItem(item: TtlvItem, attributeName?: string): JsonItem {
  if (item.type === ItemType.Structure) {
    const name = attributeNameIn(item.value);
    return { tag: tagName(item.tag), value: item.value.map((c) => ttlvToJsonItem(c, name)) };
  }
  return { tag: tagName(item.tag), type: itemTypeName(item.type), value: scalar(item, attributeName) };
}

/** One item (usually a Request or Response Message) as JSON text. */
export function encodeJson(item: TtlvItem, options: JsonEncodeOptions = {}): string {
  return JSON.stringify(ttlvToJsonItem(item), null, options.indent ?? 0);
}
