/**
 * A small, strict XML reader for SOAP answers: elements, attributes, namespaces, text, CDATA and the
 * predefined and numeric entities. No DTDs (so no entity expansion), a depth and an element limit;
 * the input size is already bounded by the HTTP layer. What we read from vCenter needs no more.
 */
export interface XmlElement {
  /** Local name (prefix removed). */
  readonly name: string;
  /** Namespace URI of the element ('' when none). */
  readonly ns: string;
  readonly attrs: readonly XmlAttr[];
  readonly children: XmlElement[];
  /** The element's own text (entities decoded), children's text excluded. */
  text: string;
}

export interface XmlAttr {
  readonly name: string;
  readonly ns: string;
  readonly value: string;
}

export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export interface XmlLimits {
  readonly maxDepth: number;
  readonly maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxDepth: 64, maxElements: 2_000_000 };

export class XmlError extends Error {
  override readonly name = 'XmlError';
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const e = ENTITIES[ref];
    if (e === undefined) throw new XmlError(`unknown entity ${whole}`);
    return e;
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&${c === '<' ? 'lt' : c === '>' ? 'gt' : c === '&' ? 'amp' : c === '"' ? 'quot' : 'apos'};`);
}

const NAME = /^[A-Za-z_][\w.:-]*/;

/** Parses a whole document and returns its root element. */
export function parseXml(xml: string, limits: XmlLimits = DEFAULT_LIMITS): XmlElement {
  let i = 0;
  let count = 0;
  const stack: Array<{ el: XmlElement; raw: string; scope: Map<string, string> }> = [];
  let root: XmlElement | undefined;
  const fail = (why: string): never => {
    throw new XmlError(`${why} at offset ${i}`);
  };

  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt === -1 ? xml.length : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      const top = stack.at(-1);
      if (top) top.el.text += decodeEntities(raw);
      else if (raw.trim() !== '') fail('text outside the root element');
    }
    if (lt === -1) break;
    i = lt;
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end === -1) fail('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end === -1) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end === -1) fail('unterminated CDATA');
      const top = stack.at(-1) ?? fail('CDATA outside the root element');
      top.el.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', i)) {
      fail('DTDs and declarations are not accepted');
    } else if (xml.startsWith('</', i)) {
      const end = xml.indexOf('>', i);
      if (end === -1) fail('unterminated end tag');
      const name = xml.slice(i + 2, end).trim();
      const top = stack.pop() ?? fail(`end tag </${name}> without a start tag`);
      if (top.raw !== name) fail(`</${name}> closes <${top.raw}>`);
      i = end + 1;
      if (stack.length === 0) root = top.el;
    } else {
      i++;
      const m = NAME.exec(xml.slice(i, i + 256)) ?? fail('bad element name');
      const raw = m[0];
      i += raw.length;
      const rawAttrs: Array<[string, string]> = [];
      let selfClosing = false;
      for (;;) {
        while (/\s/.test(xml[i] ?? '')) i++;
        if (xml.startsWith('/>', i)) {
          selfClosing = true;
          i += 2;
          break;
        }
        if (xml[i] === '>') {
          i++;
          break;
        }
        const an = NAME.exec(xml.slice(i, i + 256)) ?? fail(`bad attribute in <${raw}>`);
        i += an[0].length;
        while (/\s/.test(xml[i] ?? '')) i++;
        if (xml[i] !== '=') fail(`attribute ${an[0]} has no value`);
        i++;
        while (/\s/.test(xml[i] ?? '')) i++;
        const q = xml[i];
        if (q !== '"' && q !== "'") fail(`attribute ${an[0]} is not quoted`);
        const close = xml.indexOf(q!, i + 1);
        if (close === -1) fail(`unterminated attribute ${an[0]}`);
        rawAttrs.push([an[0], decodeEntities(xml.slice(i + 1, close))]);
        i = close + 1;
      }
      if (++count > limits.maxElements) fail('too many elements');
      if (stack.length >= limits.maxDepth) fail('nested too deeply');
      if (root) fail('a second root element');
      const parentScope = stack.at(-1)?.scope ?? new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);
      let scope = parentScope;
      for (const [n, v] of rawAttrs) {
        if (n === 'xmlns' || n.startsWith('xmlns:')) {
          if (scope === parentScope) scope = new Map(parentScope);
          scope.set(n === 'xmlns' ? '' : n.slice(6), v);
        }
      }
      const resolve = (qname: string, isAttr: boolean): { name: string; ns: string } => {
        const colon = qname.indexOf(':');
        if (colon === -1) return { name: qname, ns: isAttr ? '' : (scope.get('') ?? '') };
        const prefix = qname.slice(0, colon);
        const ns = scope.get(prefix) ?? fail(`undeclared namespace prefix ${prefix}`);
        return { name: qname.slice(colon + 1), ns };
      };
      const attrs = rawAttrs.filter(([n]) => n !== 'xmlns' && !n.startsWith('xmlns:')).map(([n, value]) => ({ ...resolve(n, true), value }));
      const el: XmlElement = { ...resolve(raw, false), attrs, children: [], text: '' };
      stack.at(-1)?.el.children.push(el);
      if (selfClosing) {
        if (stack.length === 0) root = el;
      } else {
        stack.push({ el, raw, scope });
      }
    }
  }
  if (stack.length > 0) throw new XmlError(`unterminated element <${stack.at(-1)!.raw}>`);
  if (!root) throw new XmlError('no root element');
  return root;
}

export function attr(el: XmlElement, name: string, ns = ''): string | undefined {
  return el.attrs.find((a) => a.name === name && a.ns === ns)?.value;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}
