/**
 * Every relative link and image in README.md and docs/*.md points at a file of the repository, and every anchor
 * (`#troubleshooting`, `deploy.md#7-state`) at a heading that exists. External URLs are not fetched.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { headingAnchors, isExternal, linksOf } from './markdown.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** What is wrong with each relative link of `page` (repository-relative path), as readable lines. */
function brokenLinks(page: string, text: string, readPage: (file: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const { target, line } of linksOf(text)) {
    if (isExternal(target)) continue;
    const hash = target.indexOf('#');
    const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    // "/x" is relative to the repository root on GitHub; anything else to the page's folder.
    const file = pathPart === '' ? join(ROOT, page) : pathPart.startsWith('/') ? join(ROOT, pathPart) : resolve(ROOT, dirname(page), pathPart);
    const where = `${page}:${line} → ${target}`;
    if (!relative(ROOT, file).split(/[\\/]/).every((part) => part !== '..')) {
      problems.push(`${where}: leaves the repository`);
      continue;
    }
    if (!existsSync(file)) {
      problems.push(`${where}: ${relative(ROOT, file)} does not exist`);
      continue;
    }
    if (anchor !== undefined && anchor !== '' && statSync(file).isFile() && file.endsWith('.md')) {
      const target = readPage(file);
      if (target !== undefined && !headingAnchors(target).has(anchor.toLowerCase())) problems.push(`${where}: ${relative(ROOT, file)} has no heading with the anchor #${anchor}`);
    }
  }
  return problems;
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

describe('links in README.md and docs/', () => {
  it('finds the pages, and links in them (so a pass means something)', () => {
    expect(PAGES).toEqual(expect.arrayContaining(['README.md', 'docs/deploy.md']));
    const readme = linksOf(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((l) => l.target);
    expect(readme).toEqual(expect.arrayContaining(['docs/deploy.md', 'docs/deployment.svg', '#troubleshooting']));
  });

  for (const page of PAGES) {
    it(`${page}: every relative link and image exists`, () => {
      expect(brokenLinks(page, readFileSync(join(ROOT, page), 'utf8'), read)).toEqual([]);
    });
  }

  it('reports a missing file, a missing anchor and a link out of the repository, and skips code and URLs', () => {
    const page = [
      '# Title',
      '## Next `step`: one',
      'See [ok](docs/deploy.md), [here](#next-step-one), ![img](docs/nope.svg), [a](#nowhere), [up](../../etc/passwd).',
      '[![nested](docs/deployment.svg)](docs/missing.md)',
      '[ref]: docs/gone.md',
      '`[not a link](docs/none.md)` and [web](https://example.com/x.md)',
      '```sh',
      '[also not](docs/none.md)',
      '```',
    ].join('\n');
    const problems = brokenLinks('README.md', page, (file) => (file === join(ROOT, 'README.md') ? page : read(file)));
    expect(problems).toEqual([
      'README.md:3 → docs/nope.svg: docs/nope.svg does not exist',
      'README.md:3 → #nowhere: README.md has no heading with the anchor #nowhere',
      'README.md:3 → ../../etc/passwd: leaves the repository',
      'README.md:4 → docs/missing.md: docs/missing.md does not exist',
      'README.md:5 → docs/gone.md: docs/gone.md does not exist',
    ]);
  });

  it('makes anchors the way GitHub does', () => {
    const anchors = headingAnchors('# Production: `kmip-server --config FILE`\n## Deploy to IBM Cloud\n## Deploy to IBM Cloud\n### 7. State\n```\n# not a heading\n```');
    expect([...anchors]).toEqual(['production-kmip-server---config-file', 'deploy-to-ibm-cloud', 'deploy-to-ibm-cloud-1', '7-state']);
  });
});
