/**
 * KMIP JSON encoding to TTLV items. Every object is {"tag", "type" (Structure when absent), "value"}
 * and nothing else; a tag is its name or "0x42xxxx"; scalar values are read as the XML encoding reads
 * them (names, hex, ISO 8601 dates), with JSON numbers and booleans where the type allows. The text
 * is bounded in size, nesting and item count before and while it is read, and every fault is an
 * Invalid Message KmipError.
 */
import { ItemType, isValidTag, type ItemTypeCode, type TtlvItem } from '../../ttlv/index.js';
import { invalidMessage, type KmipError } from '../errors.js';
import { Tag } from '../generated/tags.js';
import { namingFor, tagForName } from '../xml/names.js';
import * as v from '../xml/values.js';

export interface JsonLimits {
  readonly maxChars: number;
  /** Nesting of TTLV structures (each one is an object and an array in JSON). */
  readonly maxDepth: number;
  readonly maxItems: number;
}

/** Generous for any message the TTLV listener accepts, small enough to refuse abuse (as the XML limits). */
export const DEFAULT_JSON_LIMITS: JsonLimits = Object.freeze({ maxChars: 16 * 1024 * 1024, maxDepth: 64, maxItems: 200_000 });

export interface JsonDecodeOptions {
  readonly limits?: JsonLimits;
}

const TYPES = new Map<string, ItemTypeCode>(Object.entries(ItemType) as Array<[string, ItemTypeCode]>);

export function jsonError(path: string, message: string): KmipError {
  return invalidMessage(`JSON at ${path || '$'}: ${message}`);
}

/**
 * Nesting depth of the raw text (brackets outside strings), checked before JSON.parse so a hostile
 * document of a million brackets costs one linear scan and nothing more.
 */
function checkNesting(text: string, maxBrackets: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxBrackets) throw jsonError('', `nested deeper than ${maxBrackets} brackets`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

const short = (value: unknown): string => {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

class Reader {
  private items = 0;
  constructor(private readonly limits: JsonLimits) {}

  private tagOf(raw: unknown, path: string): number {
    if (typeof raw !== 'string') throw jsonError(path, 'tag must be a string');
    if (raw.startsWith('0x')) {
      const tag = /^0x[0-9A-Fa-f]{6}$/.test(raw) ? Number.parseInt(raw.slice(2), 16) : NaN;
      if (!isValidTag(tag)) throw jsonError(path, `tag must be 0x42xxxx or 0x54xxxx, not ${short(raw)}`);
      return tag;
    }
    const tag = tagForName(raw);
    if (tag === undefined) throw jsonError(path, `unknown tag name ${short(raw)}`);
    return tag;
  }

  item(raw: unknown, path: string, depth: number, attributeName: string | undefined): TtlvItem {
    if (++this.items > this.limits.maxItems) throw jsonError(path, `more than ${this.limits.maxItems} items`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw jsonError(path, 'an item must be an object');
    const obj = raw as Record<string, unknown>;
    for (const key of Object.keys(obj)) if (key !== 'tag' && key !== 'type' && key !== 'value') throw jsonError(path, `unexpected member ${short(key)}`);
    const tag = this.tagOf(obj['tag'], path);
    const typeName = obj['type'] ?? 'Structure';
    const type = typeof typeName === 'string' ? TYPES.get(typeName) : undefined;
    if (type === undefined) throw jsonError(path, `unknown type ${short(typeName)}`);
    if (!Object.hasOwn(obj, 'value')) throw jsonError(path, 'value missing');
    const value = obj['value'];
    if (type === ItemType.Structure) {
      if (!Array.isArray(value)) throw jsonError(path, 'a Structure value must be an array');
      if (depth >= this.limits.maxDepth) throw jsonError(path, `nested deeper than ${this.limits.maxDepth}`);
      const name = attributeNameIn(value);
      return { tag, type, value: value.map((c, i) => this.item(c, `${path}.value[${i}]`, depth + 1, name)) };
    }
    return scalar(value, tag, type, tag === Tag.AttributeValue ? attributeName : undefined, path);
  }
}

/** The 1.x Attribute Name among the raw children, which names its Attribute Value sibling's values. */
function attributeNameIn(children: readonly unknown[]): string | undefined {
  for (const c of children) {
    if (typeof c !== 'object' || c === null) continue;
    const o = c as Record<string, unknown>;
    if (o['tag'] === 'AttributeName' && o['type'] === 'TextString' && typeof o['value'] === 'string') return o['value'];
  }
  return undefined;
}

function scalar(value: unknown, tag: number, type: ItemTypeCode, attributeName: string | undefined, path: string): TtlvItem {
  const bad = (what: string): KmipError => jsonError(path, `value ${short(value)} is not ${what}`);
  const text = typeof value === 'string' ? value : undefined;
  const integral = typeof value === 'number' && Number.isInteger(value) ? value : undefined;
  switch (type) {
    case ItemType.Integer: {
      const n =
        integral !== undefined
          ? integral >= -0x80000000 && integral <= 0x7fffffff
            ? integral
            : undefined
          : text !== undefined
            ? (v.parseInt32(text) ?? v.parseMask(text, namingFor(tag, 'Integer', attributeName)))
            : undefined;
      if (n === undefined) throw bad('a 32-bit integer, hex or mask names');
      return { tag, type, value: n };
    }
    case ItemType.LongInteger: {
      const n = integral !== undefined && Number.isSafeInteger(integral) ? BigInt(integral) : text !== undefined ? v.parseInt64(text) : undefined;
      if (n === undefined) throw bad('a 64-bit integer (a number within 2^53 or hex)');
      return { tag, type, value: n };
    }
    case ItemType.BigInteger: {
      const n = integral !== undefined && Number.isSafeInteger(integral) ? BigInt(integral) : text?.startsWith('0x') ? v.parseBigInteger(text) : undefined;
      if (n === undefined) throw bad('0x hex of whole bytes');
      return { tag, type, value: n };
    }
    case ItemType.Enumeration: {
      const n =
        integral !== undefined
          ? integral >= 0 && integral <= 0xffffffff
            ? integral
            : undefined
          : text !== undefined
            ? v.parseEnumeration(text, namingFor(tag, 'Enumeration', attributeName))
            : undefined;
      if (n === undefined) throw bad('an enumeration name of this field or 0x hex');
      return { tag, type, value: n };
    }
    case ItemType.Boolean: {
      const b = typeof value === 'boolean' ? value : text !== undefined && text.startsWith('0x') ? v.parseBoolean(text) : undefined;
      if (b === undefined) throw bad('true or false');
      return { tag, type, value: b };
    }
    case ItemType.TextString:
      if (text === undefined) throw bad('a string');
      return { tag, type, value: text };
    case ItemType.ByteString: {
      const bytes = text !== undefined ? v.parseBytes(text) : undefined;
      if (bytes === undefined) throw bad('hex');
      return { tag, type, value: bytes };
    }
    case ItemType.DateTime: {
      const d = text !== undefined ? v.parseDateTime(text) : undefined;
      if (d === undefined) throw bad('an ISO 8601 date with a zone or 0x hex');
      return { tag, type, value: d };
    }
    case ItemType.Interval: {
      const n = integral !== undefined ? (integral >= 0 && integral <= 0xffffffff ? integral : undefined) : text !== undefined ? v.parseUint32(text) : undefined;
      if (n === undefined) throw bad('an unsigned 32-bit number of seconds');
      return { tag, type, value: n };
    }
    case ItemType.DateTimeExtended: {
      const d = text !== undefined ? v.parseDateTimeExtended(text) : undefined;
      if (d === undefined) throw bad('an ISO 8601 date with a zone or 0x hex');
      return { tag, type, value: d };
    }
    default:
      throw jsonError(path, 'unexpected type');
  }
}

/** Exactly one message (a request or response body as a transport carries it). */
export function decodeJson(text: string, options: JsonDecodeOptions = {}): TtlvItem {
  const limits = options.limits ?? DEFAULT_JSON_LIMITS;
  if (typeof text !== 'string') throw jsonError('', 'not text');
  if (text.length > limits.maxChars) throw jsonError('', `document longer than ${limits.maxChars} characters`);
  // Each structure level is an object and its value array: two brackets.
  checkNesting(text, limits.maxDepth * 2 + 2);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw jsonError('', `not JSON (${(err as Error).message.slice(0, 120)})`);
  }
  return new Reader(limits).item(raw, '', 0, undefined);
}
