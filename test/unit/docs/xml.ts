/**
 * A small XML well-formedness checker for the SVG files in docs/ (no dependency): one root element, tags that
 * nest and close, quoted and unique attributes, no raw `<` or stray `&` in text or attribute values, only
 * defined entities. It also hands back every element with its attributes, so a test can look for external
 * references. It does not validate against a schema or expand a DTD's entities (the SVGs here have none).
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** 1-based line of the start tag. */
  readonly line: number;
  /** Text directly inside the element (entities expanded), e.g. a <style> sheet or a <text> label. */
  text: string;
}

export interface XmlReport {
  /** Empty when the document is well-formed. */
  readonly problems: readonly string[];
  readonly elements: readonly XmlElement[];
  readonly root: XmlElement | undefined;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Expands entity references; reports `&` that starts none and references to undefined entities. */
function expand(raw: string, where: string, problems: string[]): string {
  return raw.replace(/&([^;\s&<]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';') || ref === '') {
      problems.push(`${where}: "&" must start an entity reference such as &amp;`);
      return whole;
    }
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (num) {
      const code = num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]);
      if (code > 0 && code <= 0x10ffff) return String.fromCodePoint(code);
    }
    problems.push(`${where}: unknown entity &${ref};`);
    return whole;
  });
}

export function checkXml(source: string): XmlReport {
  const problems: string[] = [];
  const elements: XmlElement[] = [];
  const open: XmlElement[] = [];
  let root: XmlElement | undefined;
  let rootClosed = false;
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const lineAt = (index: number) => source.slice(0, index).split('\n').length;
  const fail = (index: number, message: string) => problems.push(`line ${lineAt(index)}: ${message}`);

  while (i < source.length && problems.length === 0) {
    const lt = source.indexOf('<', i);
    const textEnd = lt === -1 ? source.length : lt;
    if (textEnd > i) {
      const raw = source.slice(i, textEnd);
      if (raw.includes(']]>')) fail(i, '"]]>" is not allowed in text');
      const text = expand(raw, `line ${lineAt(i)}`, problems);
      const parent = open.at(-1);
      if (parent) parent.text += text;
      else if (raw.trim() !== '') fail(i, `text outside the root element: ${JSON.stringify(raw.trim().slice(0, 40))}`);
    }
    if (lt === -1) break;
    i = lt;

    if (source.startsWith('<!--', i)) {
      const end = source.indexOf('-->', i + 4);
      if (end === -1) {
        fail(i, 'comment is not closed');
        break;
      }
      if (source.slice(i + 4, end).includes('--')) fail(i, '"--" inside a comment');
      i = end + 3;
    } else if (source.startsWith('<![CDATA[', i)) {
      const end = source.indexOf(']]>', i);
      if (end === -1) {
        fail(i, 'CDATA section is not closed');
        break;
      }
      if (open.length === 0) fail(i, 'CDATA outside the root element');
      else open.at(-1)!.text += source.slice(i + 9, end);
      i = end + 3;
    } else if (source.startsWith('<?', i)) {
      const end = source.indexOf('?>', i);
      if (end === -1) {
        fail(i, 'processing instruction is not closed');
        break;
      }
      const target = NAME.exec(source.slice(i + 2))?.[0];
      if (!target) fail(i, 'processing instruction without a target');
      else if (target.toLowerCase() === 'xml' && i !== (source.charCodeAt(0) === 0xfeff ? 1 : 0)) fail(i, 'the XML declaration must come first');
      i = end + 2;
    } else if (source.startsWith('<!DOCTYPE', i)) {
      if (root) fail(i, 'DOCTYPE after the root element');
      // An internal subset may contain ">" inside brackets: skip to the "]>" that ends it.
      const bracket = source.indexOf('[', i);
      const close = source.indexOf('>', i);
      const end = bracket !== -1 && bracket < close ? source.indexOf(']', bracket) : close;
      const gt = end === -1 ? -1 : source.indexOf('>', end);
      if (gt === -1) {
        fail(i, 'DOCTYPE is not closed');
        break;
      }
      i = gt + 1;
    } else if (source.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_:][A-Za-z0-9_:.-]*)\s*>/.exec(source.slice(i));
      if (!m) {
        fail(i, 'malformed end tag');
        break;
      }
      const top = open.pop();
      if (!top) fail(i, `end tag </${m[1]}> without a start tag`);
      else if (top.name !== m[1]) fail(i, `end tag </${m[1]}> does not match <${top.name}> of line ${top.line}`);
      else if (open.length === 0) rootClosed = true;
      i += m[0].length;
    } else {
      const name = NAME.exec(source.slice(i + 1))?.[0];
      if (!name) {
        fail(i, 'a raw "<" must be written &lt;');
        break;
      }
      const line = lineAt(i);
      let j = i + 1 + name.length;
      const attributes: Record<string, string> = {};
      let selfClosing = false;
      for (;;) {
        const ws = /^\s*/.exec(source.slice(j))![0].length;
        j += ws;
        if (source.startsWith('/>', j)) {
          selfClosing = true;
          j += 2;
          break;
        }
        if (source[j] === '>') {
          j += 1;
          break;
        }
        const attr = NAME.exec(source.slice(j))?.[0];
        if (!attr || ws === 0) {
          fail(j, `<${name}>: expected an attribute, ">" or "/>"`);
          break;
        }
        j += attr.length;
        const eq = /^\s*=\s*(["'])/.exec(source.slice(j));
        if (!eq) {
          fail(j, `<${name}>: attribute ${attr} needs a quoted value`);
          break;
        }
        j += eq[0].length;
        const close = source.indexOf(eq[1]!, j);
        if (close === -1) {
          fail(j, `<${name}>: the value of ${attr} is not closed`);
          break;
        }
        const raw = source.slice(j, close);
        if (raw.includes('<')) fail(j, `<${name}>: the value of ${attr} contains a raw "<"`);
        if (attr in attributes) fail(j, `<${name}>: attribute ${attr} appears twice`);
        attributes[attr] = expand(raw, `line ${lineAt(j)}`, problems);
        j = close + 1;
      }
      if (problems.length > 0) break;
      const element: XmlElement = { name, attributes, line, text: '' };
      if (open.length === 0) {
        if (root) fail(i, `a second root element <${name}>`);
        root = element;
        if (selfClosing) rootClosed = true;
      }
      elements.push(element);
      if (!selfClosing) open.push(element);
      i = j;
    }
  }
  if (problems.length === 0) {
    if (!root) problems.push('no root element');
    else if (!rootClosed) problems.push(`<${open.at(-1)?.name ?? root.name}> of line ${open.at(-1)?.line ?? root.line} is never closed`);
  }
  return { problems, elements, root };
}
