/**
 * HTML escaping for the status page. Every value goes through `html` templates, which escape each
 * interpolation unless it is already escaped markup (an `Html` made by another template): tenant
 * names, key names, VM names and error messages come from clients, vCenter and databases, and must
 * show as text whatever they contain.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or a quoted attribute value. Control characters other than tab and newline are shown as U+FFFD. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd');
}

/** Markup that is already escaped; only `html` templates make it. */
export class Html {
  private constructor(readonly markup: string) {}
  /** For constant markup of this folder only (the stylesheet); never for a value. */
  static trusted(markup: string): Html {
    return new Html(markup);
  }
  toString(): string {
    return this.markup;
  }
}

function part(value: unknown): string {
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

/** A template whose interpolations are escaped; arrays are joined; null, undefined and false render nothing. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return Html.trusted(out);
}
