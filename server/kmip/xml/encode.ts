/**
 * TTLV items to XML text, in the form the decoder reads back to the same tree: names wherever the
 * spec tables have one (tags, enumeration values, mask bits), hex wherever they do not.
 */
import { ItemType, itemTypeName, type TtlvItem } from '../../ttlv/index.js';
import { Tag } from '../generated/tags.js';
import { attributeNameIn, nameForTag, namingFor } from './names.js';
import * as v from './values.js';

export interface XmlEncodeOptions {
  /** Spaces per level; 0 writes everything on one line. Default 2. */
  readonly indent?: number;
}

/** Escapes what an attribute value cannot hold as is; control characters as references so whitespace survives. */
function escape(text: string): string {
  return text.replace(/[&<>"\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

function valueText(item: Exclude<TtlvItem, { type: 0x01 }>, attributeName: string | undefined): string {
  const name = item.tag === Tag.AttributeValue ? attributeName : undefined;
  switch (item.type) {
    case ItemType.Integer:
      return v.formatMask(item.value, namingFor(item.tag, 'Integer', name)) ?? String(item.value);
    case ItemType.Enumeration:
      return v.formatEnumeration(item.value, namingFor(item.tag, 'Enumeration', name));
    case ItemType.LongInteger:
      return item.value.toString();
    case ItemType.BigInteger:
      return v.formatBigInteger(item.value);
    case ItemType.Boolean:
      return item.value ? 'true' : 'false';
    case ItemType.TextString:
      return item.value;
    case ItemType.ByteString:
      return v.formatBytes(item.value);
    case ItemType.DateTime:
      return v.formatDateTime(item.value);
    case ItemType.Interval:
      return String(item.value);
    case ItemType.DateTimeExtended:
      return v.formatDateTimeExtended(item.value);
  }
}

function write(item: TtlvItem, out: string[], depth: number, indent: number, attributeName: string | undefined): void {
  const pad = indent > 0 ? ' '.repeat(depth * indent) : '';
  const known = nameForTag(item.tag);
  const open = known ?? `TTLV tag="0x${item.tag.toString(16).padStart(6, '0')}"`;
  const close = known ?? 'TTLV';
  if (item.type === ItemType.Structure) {
    if (item.value.length === 0) {
      out.push(`${pad}<${open}/>`);
      return;
    }
    out.push(`${pad}<${open}>`);
    const name = attributeNameIn(item.value);
    for (const child of item.value) write(child, out, depth + 1, indent, name);
    out.push(`${pad}</${close}>`);
    return;
  }
  out.push(`${pad}<${open} type="${itemTypeName(item.type)}" value="${escape(valueText(item, attributeName))}"/>`);
}

/** One item (usually a Request or Response Message) as XML text. */
export function encodeXml(item: TtlvItem, options: XmlEncodeOptions = {}): string {
  const indent = options.indent ?? 2;
  const out: string[] = [];
  write(item, out, 0, indent, undefined);
  return out.join(indent > 0 ? '\n' : '');
}
