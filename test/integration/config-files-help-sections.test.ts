/**
 * Issue 19: `kmip-server --help` sent readers to a README section "Configuration" that did not exist.
 * Every README section (and docs/ file and section) that `kmip-server --help` and `kmipctl --help`
 * name must exist as a heading. Runs the built commands; reads README.md and docs/ only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KMIPCTL } from '../support/kmipctl.js';
import { assertBuilt, ROOT, SERVER_MAIN } from '../support/process.js';

/** Heading texts of a Markdown file, inline code marks removed ("Production: `kmip-server --config FILE`" → without backticks). */
function headings(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6}\s/.test(l))
    .map((l) => l.replace(/^#+\s+/, '').replace(/`/g, '').trim());
}

/** Section references in help text: README "X", README's "X", docs/FILE.md, docs/FILE.md, "X". */
function references(help: string): Array<{ file: string; section?: string }> {
  const text = help.replace(/\s*\n\s*/g, ' ');
  const out: Array<{ file: string; section?: string }> = [];
  for (const m of text.matchAll(/README(?:\.md)?(?:'s)?(?: section)?,? "([^"]+)"/g)) out.push({ file: 'README.md', section: m[1]! });
  for (const m of text.matchAll(/(docs\/[\w.-]+\.md)(?:,? "([^"]+)")?/g)) out.push({ file: m[1]!, ...(m[2] ? { section: m[2] } : {}) });
  return out;
}

describe('sections named by --help exist', () => {
  beforeAll(() => assertBuilt());

  it('the reference finder sees a heading reference (so a pass means something)', () => {
    expect(references('see README "Quick start" and docs/deploy.md, "The boot test"')).toEqual([
      { file: 'README.md', section: 'Quick start' },
      { file: 'docs/deploy.md', section: 'The boot test' },
    ]);
    expect(headings(join(ROOT, 'README.md'))).toContain('Production: kmip-server --config FILE');
  });

  for (const [name, main] of [['kmip-server', SERVER_MAIN], ['kmipctl', KMIPCTL]] as const) {
    it(`${name} --help`, () => {
      // Help text holds no secret: read directly, not through the secrets ledger.
      const refs = references(execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8' }));
      if (name === 'kmip-server') expect(refs.some((ref) => ref.file === 'README.md')).toBe(true);
      for (const ref of refs) {
        const file = join(ROOT, ref.file);
        expect(existsSync(file), `${name} --help names ${ref.file}`).toBe(true);
        if (ref.section) expect(headings(file), `${name} --help names ${ref.file} "${ref.section}"`).toContain(ref.section);
      }
    });
  }
});
