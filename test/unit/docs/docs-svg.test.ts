/**
 * Every SVG in docs/ is well-formed XML with an <svg> root in the SVG namespace, and stands alone: no external images, fonts, style sheets or scripts (GitHub shows SVGs as images,
 * which load nothing else, and a reader offline should see the same picture).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkXml, type XmlReport } from './xml.js';

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));
const SVGS = readdirSync(DOCS).filter((f) => f.endsWith('.svg'));

/** References to anything outside the file: href/src that is not a fragment, url(…) and @import that are not. */
function externalReferences(report: XmlReport): string[] {
  const out: string[] = [];
  for (const el of report.elements) {
    if (el.name === 'script' || el.name === 'foreignObject') out.push(`line ${el.line}: <${el.name}>`);
    for (const [name, value] of Object.entries(el.attributes)) {
      if (/^(?:xlink:)?href$|^src$/.test(name) && !value.startsWith('#')) out.push(`line ${el.line}: <${el.name} ${name}="${value}">`);
      if (/^on/i.test(name)) out.push(`line ${el.line}: <${el.name} ${name}> (script)`);
    }
    const css = [el.name === 'style' ? el.text : '', ...Object.values(el.attributes).filter((v) => /url\(|@import/.test(v))].join('\n');
    for (const m of css.matchAll(/url\(\s*['"]?([^'")\s]*)/g)) if (!m[1]!.startsWith('#')) out.push(`line ${el.line}: url(${m[1]})`);
    if (/@import/.test(css)) out.push(`line ${el.line}: @import`);
  }
  return out;
}

describe('SVG files in docs/', () => {
  it('finds them (so a pass means something)', () => {
    expect(SVGS).toEqual(expect.arrayContaining(['deployment.svg', 'bench.svg', 'migration.svg']));
  });

  for (const file of SVGS) {
    it(`${file} is well-formed XML, an SVG, and loads nothing from outside`, () => {
      const report = checkXml(readFileSync(join(DOCS, file), 'utf8'));
      expect(report.problems).toEqual([]);
      expect(report.root?.name).toBe('svg');
      expect(report.root?.attributes['xmlns']).toBe('http://www.w3.org/2000/svg');
      expect(externalReferences(report)).toEqual([]);
    });
  }

  it('the deployment picture scales, has a title for screen readers, and shows each part, port and identity the README promises', () => {
    const report = checkXml(readFileSync(join(DOCS, 'deployment.svg'), 'utf8'));
    expect(report.root?.attributes['viewBox']).toMatch(/^\s*[-\d.]+[\s,]+[-\d.]+[\s,]+[\d.]+[\s,]+[\d.]+\s*$/);
    expect(report.elements.find((e) => e.name === 'title')?.text.trim(), 'a <title> says what the picture shows').toBeTruthy();
    const text = report.elements.map((e) => e.text).join(' ').replace(/\s+/g, ' ');
    for (const part of ['vCenter', 'ESXi', 'Direct Link', 'Transit Gateway', 'load balancer', 'Key Protect', 'Object Storage', 'Databases for PostgreSQL', 'trusted profile', '5696', '9696', 'verify-full', '169.254.169.254', 'admin client certificate']) {
      expect(text, part).toContain(part);
    }
  });
});

describe('the XML checker', () => {
  const ok = '<?xml version="1.0"?>\n<!-- c --><svg xmlns="http://www.w3.org/2000/svg" a=\'1\'><text x="1">a &amp; b &lt; c &#x41;&#66;</text><g/><![CDATA[<raw>]]></svg>\n';

  it('accepts a well-formed document and reads its text and attributes', () => {
    const report = checkXml(ok);
    expect(report.problems).toEqual([]);
    expect(report.elements.map((e) => e.name)).toEqual(['svg', 'text', 'g']);
    expect(report.elements[1]!.text).toBe('a & b < c AB');
    expect(report.root?.attributes).toEqual({ xmlns: 'http://www.w3.org/2000/svg', a: '1' });
  });

  const broken: Array<[string, string, RegExp]> = [
    ['an unclosed element', '<svg><g></svg>', /does not match <g>/],
    ['a root never closed', '<svg><g/>', /never closed/],
    ['two roots', '<svg/><svg/>', /second root/],
    ['a raw ampersand', '<svg>a & b</svg>', /entity reference/],
    ['an unknown entity', '<svg>&nbsp;</svg>', /unknown entity/],
    ['a raw "<" in text', '<svg>a < b</svg>', /raw "<"/],
    ['a raw "<" in an attribute', '<svg a="<"/>', /raw "<"/],
    ['an unquoted attribute', '<svg a=1/>', /quoted value/],
    ['a repeated attribute', '<svg a="1" a="2"/>', /appears twice/],
    ['text outside the root', '<svg/>text', /outside the root/],
    ['a stray end tag', '</svg>', /without a start tag/],
    ['an unclosed comment', '<svg><!-- x</svg>', /comment is not closed/],
    ['a late XML declaration', '<svg/><?xml version="1.0"?>', /must come first/],
    ['attributes run together', '<svg a="1"b="2"/>', /expected an attribute/],
  ];
  for (const [what, doc, message] of broken) {
    it(`rejects ${what}`, () => {
      expect(checkXml(doc).problems.join('\n')).toMatch(message);
    });
  }

  it('notices external references', () => {
    const report = checkXml('<svg xmlns="http://www.w3.org/2000/svg"><style>@import "x.css"; .a { fill: url(#g) }</style><image href="https://x/y.png"/><use href="#a"/><rect style="fill: url(http://x/p)"/></svg>');
    expect(externalReferences(report)).toEqual(['line 1: @import', 'line 1: <image href="https://x/y.png">', 'line 1: url(http://x/p)']);
  });
});
