/**
 * A small XML parser for the KMIP XML message encoding: elements, attributes, comments, the XML
 * declaration, processing instructions and entity / character references. Text between elements is
 * ignored (the encoding carries every value in attributes). No DTDs, no namespaces, no CDATA: a KMIP
 * message needs none of them, and refusing them keeps entity expansion attacks out. Depth, size and
 * element count are bounded so a hostile document costs bounded work.
 */
import { invalidMessage, type KmipError } from '../errors.js';

export interface XmlElement {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Character offset of the element's "<", for error messages. */
  readonly offset: number;
}

export interface XmlLimits {
  readonly maxChars: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxAttributes: number;
}

/** Generous for any message the TTLV listener accepts (its frames are bounded too), small enough to refuse abuse. */
export const DEFAULT_XML_LIMITS: XmlLimits = Object.freeze({ maxChars: 16 * 1024 * 1024, maxDepth: 64, maxElements: 200_000, maxAttributes: 8 });

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:.-]/;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function xmlError(offset: number, message: string): KmipError {
  return invalidMessage(`XML at offset ${offset}: ${message}`);
}

class Parser {
  private pos = 0;
  private elements = 0;
  constructor(
    private readonly text: string,
    private readonly limits: XmlLimits,
  ) {}

  fail(message: string, at = this.pos): never {
    throw xmlError(at, message);
  }

  /** Skips whitespace, text, comments, the declaration and processing instructions until the next element tag. */
  private skipMisc(allowText: boolean): void {
    const t = this.text;
    for (;;) {
      const lt = t.indexOf('<', this.pos);
      const end = lt === -1 ? t.length : lt;
      if (!allowText && /\S/.test(t.slice(this.pos, end))) this.fail('text outside the root element');
      if (allowText && t.slice(this.pos, end).includes('&')) this.decodeEntities(t.slice(this.pos, end), this.pos);
      this.pos = end;
      if (lt === -1) return;
      if (t.startsWith('<!--', lt)) {
        const close = t.indexOf('-->', lt + 4);
        if (close === -1) this.fail('unterminated comment', lt);
        if (t.slice(lt + 4, close).includes('--')) this.fail('"--" inside a comment', lt);
        this.pos = close + 3;
      } else if (t.startsWith('<?', lt)) {
        const close = t.indexOf('?>', lt + 2);
        if (close === -1) this.fail('unterminated processing instruction or declaration', lt);
        this.pos = close + 2;
      } else if (t.startsWith('<!', lt)) {
        this.fail('DOCTYPE, CDATA and other markup declarations are not accepted', lt);
      } else {
        return;
      }
    }
  }

  private name(): string {
    const t = this.text;
    const start = this.pos;
    if (start >= t.length || !NAME_START.test(t[start]!)) this.fail('expected a name');
    let p = start + 1;
    while (p < t.length && NAME_CHAR.test(t[p]!)) p++;
    this.pos = p;
    return t.slice(start, p);
  }

  private spaces(): boolean {
    const start = this.pos;
    while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos]!)) this.pos++;
    return this.pos > start;
  }

  decodeEntities(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&]{0,10});?/g, (whole, body: string) => {
      if (!whole.endsWith(';')) this.fail('"&" must start an entity reference ending in ";"', at);
      if (Object.hasOwn(PREDEFINED, body)) return PREDEFINED[body]!;
      const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
      if (!m) this.fail(`unknown entity &${body.slice(0, 10)};`, at);
      const code = m[1] !== undefined ? Number.parseInt(m[1], 16) : Number.parseInt(m[2]!, 10);
      if (code > 0x10ffff) this.fail('character reference out of range', at);
      return String.fromCodePoint(code);
    });
  }

  private element(depth: number): XmlElement {
    const t = this.text;
    const offset = this.pos;
    if (depth > this.limits.maxDepth) this.fail(`elements nested deeper than ${this.limits.maxDepth}`);
    if (++this.elements > this.limits.maxElements) this.fail(`more than ${this.limits.maxElements} elements`);
    this.pos++; // '<'
    const name = this.name();
    const attributes = new Map<string, string>();
    for (;;) {
      const spaced = this.spaces();
      if (t.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { name, attributes, children: [], offset };
      }
      if (t[this.pos] === '>') {
        this.pos++;
        break;
      }
      if (this.pos >= t.length) this.fail(`unterminated start tag <${name}>`, offset);
      if (!spaced) this.fail('expected whitespace before an attribute');
      const attrAt = this.pos;
      const key = this.name();
      this.spaces();
      if (t[this.pos] !== '=') this.fail(`attribute ${key} has no value`);
      this.pos++;
      this.spaces();
      const quote = t[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`attribute ${key}: value must be quoted`);
      const close = t.indexOf(quote, this.pos + 1);
      if (close === -1) this.fail(`attribute ${key}: unterminated value`, attrAt);
      const raw = t.slice(this.pos + 1, close);
      if (raw.includes('<')) this.fail(`attribute ${key}: "<" in a value`, attrAt);
      if (attributes.has(key)) this.fail(`duplicate attribute ${key}`, attrAt);
      if (attributes.size >= this.limits.maxAttributes) this.fail(`more than ${this.limits.maxAttributes} attributes`, attrAt);
      attributes.set(key, this.decodeEntities(raw, attrAt));
      this.pos = close + 1;
    }
    const children: XmlElement[] = [];
    for (;;) {
      this.skipMisc(true);
      if (this.pos >= t.length) this.fail(`element <${name}> is not closed`, offset);
      if (t.startsWith('</', this.pos)) {
        const closeAt = this.pos;
        this.pos += 2;
        const closing = this.name();
        this.spaces();
        if (t[this.pos] !== '>') this.fail(`malformed end tag </${closing}>`, closeAt);
        if (closing !== name) this.fail(`end tag </${closing}> does not match <${name}>`, closeAt);
        this.pos++;
        return { name, attributes, children, offset };
      }
      children.push(this.element(depth + 1));
    }
  }

  /** The top-level elements in document order (a KMIP file may hold several messages without a wrapper). */
  document(): XmlElement[] {
    const roots: XmlElement[] = [];
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    for (;;) {
      this.skipMisc(false);
      if (this.pos >= this.text.length) break;
      roots.push(this.element(1));
    }
    if (roots.length === 0) this.fail('no element');
    return roots;
  }
}

/** Parses XML text into its top-level elements; a malformed or oversized document is a KmipError (Invalid Message). */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement[] {
  if (typeof text !== 'string') throw xmlError(0, 'not text');
  if (text.length > limits.maxChars) throw xmlError(0, `document longer than ${limits.maxChars} characters`);
  return new Parser(text, limits).document();
}
