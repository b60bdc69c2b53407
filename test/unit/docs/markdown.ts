/**
 * Just enough Markdown for the docs tests: the links and images a page points at, and the anchors GitHub gives
 * its headings. Code (fenced blocks and inline spans) is skipped, since a link there is an example, not a link.
 */

export interface MarkdownLink {
  /** As written: `docs/deploy.md#state`, `#troubleshooting`, `https://…`. */
  readonly target: string;
  /** 1-based line of the link, for the failure message. */
  readonly line: number;
}

/** The text with fenced code blocks blanked out, line breaks kept (so line numbers hold). */
export function withoutFences(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  const kept = lines.map((line) => {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence !== undefined) {
      if (opener && opener[1]!.startsWith(fence)) fence = undefined;
      return '';
    }
    if (opener) {
      fence = opener[1]!;
      return '';
    }
    return line;
  });
  return kept.join('\n');
}

/** The text with fenced code blocks and inline code spans blanked out, line breaks kept. */
export function withoutCode(markdown: string): string {
  // Inline spans: a run of backticks up to the same run (CommonMark); they do not cross paragraphs here.
  return withoutFences(markdown).replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
}

/** Inline links and images (`[text](target)`, `![alt](target "title")`, nested ones too) and reference definitions. */
export function linksOf(markdown: string): MarkdownLink[] {
  const text = withoutCode(markdown);
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const out: MarkdownLink[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) out.push({ target: m[1]!, line: lineAt(m.index!) });
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/gm)) out.push({ target: m[1]!, line: lineAt(m.index!) });
  for (const m of text.matchAll(/<(?:img|a|source)\s[^>]*?\b(?:src|href)\s*=\s*"([^"]+)"/gi)) out.push({ target: m[1]!, line: lineAt(m.index!) });
  return out;
}

/** A link that leaves the repository (a URL with a scheme, or mail). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/**
 * The anchors GitHub generates for the page's headings: lower case, punctuation removed (hyphens and underscores
 * stay), each space a hyphen; a repeated heading gets -1, -2, ….
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).replace(/`/g, '').split('\n')) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}
