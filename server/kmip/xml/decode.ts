/**
 * XML elements to TTLV items. An element's name is the tag's name (or TTLV with a tag="0x…"
 * attribute), `type` the item type (Structure when absent) and `value` the value.
 */
import { ItemType, isValidTag, type ItemTypeCode, type TtlvItem } from '../../ttlv/index.js';
import type { KmipError } from '../errors.js';
import { Tag } from '../generated/tags.js';
import { namingFor, tagForName } from './names.js';
import { parseXml, xmlError, type XmlElement, type XmlLimits } from './parser.js';
import * as v from './values.js';

export interface XmlDecodeOptions {
  /**
   * Called for every value that starts with "$" (the test cases' placeholders such as $NOW or
   * $UNIQUE_IDENTIFIER_0) before it is parsed; the item it returns is used instead. Returning
   * undefined parses the value as written (a Text String keeps it; other types fail).
   */
  readonly placeholder?: (value: string, type: ItemTypeCode, tag: number) => TtlvItem | undefined;
  readonly limits?: XmlLimits;
}

const TYPES = new Map<string, ItemTypeCode>(Object.entries(ItemType) as Array<[string, ItemTypeCode]>);

function fail(el: XmlElement, message: string): KmipError {
  return xmlError(el.offset, `<${el.name.slice(0, 64)}>: ${message}`);
}

function tagOf(el: XmlElement): number {
  if (el.name === 'TTLV') {
    const raw = el.attributes.get('tag') ?? '';
    const tag = /^0x[0-9A-Fa-f]{6}$/.test(raw) ? Number.parseInt(raw.slice(2), 16) : NaN;
    if (!isValidTag(tag)) throw fail(el, `tag attribute must be 0x42xxxx or 0x54xxxx, not ${JSON.stringify(raw.slice(0, 16))}`);
    return tag;
  }
  const tag = tagForName(el.name);
  if (tag === undefined) throw fail(el, 'unknown tag name');
  return tag;
}

/** The value of the first Attribute Name text child: it names its Attribute Value sibling (1.x attributes). */
function attributeNameIn(children: readonly XmlElement[]): string | undefined {
  const named = children.find((c) => c.name === 'AttributeName' && c.attributes.get('type') === 'TextString');
  return named?.attributes.get('value');
}

function scalar(el: XmlElement, tag: number, type: ItemTypeCode, text: string, attributeName: string | undefined): TtlvItem {
  const bad = (what: string): KmipError => fail(el, `value ${JSON.stringify(text.slice(0, 40))} is not ${what}`);
  switch (type) {
    case ItemType.Integer: {
      const value = v.parseInt32(text) ?? v.parseMask(text, namingFor(tag, 'Integer', attributeName));
      if (value === undefined) throw bad('a 32-bit integer, hex or mask names');
      return { tag, type, value };
    }
    case ItemType.LongInteger: {
      const value = v.parseInt64(text);
      if (value === undefined) throw bad('a 64-bit integer');
      return { tag, type, value };
    }
    case ItemType.BigInteger: {
      const value = v.parseBigInteger(text);
      if (value === undefined) throw bad('hex of whole bytes');
      return { tag, type, value };
    }
    case ItemType.Enumeration: {
      const value = v.parseEnumeration(text, namingFor(tag, 'Enumeration', attributeName));
      if (value === undefined) throw bad('an enumeration name of this field or 0x hex');
      return { tag, type, value };
    }
    case ItemType.Boolean: {
      const value = v.parseBoolean(text);
      if (value === undefined) throw bad('true or false');
      return { tag, type, value };
    }
    case ItemType.TextString:
      return { tag, type, value: text };
    case ItemType.ByteString: {
      const value = v.parseBytes(text);
      if (value === undefined) throw bad('hex');
      return { tag, type, value };
    }
    case ItemType.DateTime: {
      const value = v.parseDateTime(text);
      if (value === undefined) throw bad('an ISO 8601 date with a zone or 0x hex');
      return { tag, type, value };
    }
    case ItemType.Interval: {
      const value = v.parseUint32(text);
      if (value === undefined) throw bad('an unsigned 32-bit number of seconds');
      return { tag, type, value };
    }
    case ItemType.DateTimeExtended: {
      const value = v.parseDateTimeExtended(text);
      if (value === undefined) throw bad('an ISO 8601 date with a zone or 0x hex');
      return { tag, type, value };
    }
    default:
      throw fail(el, 'Structure has no value');
  }
}

function decode(el: XmlElement, options: XmlDecodeOptions, attributeName: string | undefined): TtlvItem {
  const tag = tagOf(el);
  const typeName = el.attributes.get('type') ?? 'Structure';
  const type = TYPES.get(typeName);
  if (type === undefined) throw fail(el, `unknown type ${JSON.stringify(typeName.slice(0, 32))}`);
  for (const key of el.attributes.keys()) {
    if (key !== 'type' && key !== 'value' && !(key === 'tag' && el.name === 'TTLV')) throw fail(el, `unexpected attribute ${key}`);
  }
  if (type === ItemType.Structure) {
    if (el.attributes.has('value')) throw fail(el, 'a Structure has children, not a value');
    const name = attributeNameIn(el.children);
    return { tag, type, value: el.children.map((c) => decode(c, options, name)) };
  }
  if (el.children.length > 0) throw fail(el, `a ${typeName} has no child elements`);
  const text = el.attributes.get('value');
  if (text === undefined) throw fail(el, 'value attribute missing');
  if (text.startsWith('$') && options.placeholder) {
    const substituted = options.placeholder(text, type, tag);
    if (substituted) return substituted;
  }
  return scalar(el, tag, type, text, tag === Tag.AttributeValue ? attributeName : undefined);
}

/** One element (and its children) as a TTLV item. */
export function elementToTtlv(el: XmlElement, options: XmlDecodeOptions = {}): TtlvItem {
  return decode(el, options, undefined);
}

/**
 * Every message in an XML text: its top-level elements, or the children of a <KMIP> wrapper as the
 * OASIS test-case files hold them.
 */
export function decodeXmlMessages(text: string, options: XmlDecodeOptions = {}): TtlvItem[] {
  const roots = parseXml(text, options.limits);
  const elements = roots.length === 1 && roots[0]!.name === 'KMIP' ? roots[0]!.children : roots;
  return elements.map((el) => elementToTtlv(el, options));
}

/** Exactly one message (a request or response body as a transport carries it). */
export function decodeXml(text: string, options: XmlDecodeOptions = {}): TtlvItem {
  const roots = parseXml(text, options.limits);
  if (roots.length !== 1) throw xmlError(roots[1]!.offset, 'more than one top-level element');
  return elementToTtlv(roots[0]!, options);
}
