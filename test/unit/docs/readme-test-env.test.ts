/**
 * README's Troubleshooting lists every environment variable the tests read, so a reader who wonders why a test
 * skipped or where a cache lives finds it there. The names come from the test sources themselves: a new
 * `process.env['X']` in test/ without a README line fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
/** The system's own, not the project's. */
const SYSTEM = new Set(['HOME', 'PATH']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** String constants a source defines (`const NAME = 'value'`, exported or not): names read through them. */
function constantsIn(source: string): Map<string, string> {
  return new Map([...source.matchAll(/\bconst\s+([A-Za-z_]\w*)\s*=\s*(?:'([^']*)'|"([^"]*)")/g)].map((m) => [m[1]!, (m[2] ?? m[3])!]));
}

/**
 * Environment variable names a source file reads: `process.env.X`, `process.env['X']`, and `process.env[CONST]`
 * with `const CONST = 'X'` in the file itself or, when imported, in `shared` (the constants of every test file).
 */
function envNamesIn(source: string, shared: ReadonlyMap<string, string> = new Map()): string[] {
  const own = constantsIn(source);
  const names: string[] = [];
  for (const m of source.matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*(?:'([^']+)'|"([^"]+)"|([A-Za-z_]\w*))\s*\])/g)) {
    const constant = m[4];
    if (constant) names.push(own.get(constant) ?? shared.get(constant) ?? `<unresolved ${constant}>`);
    else names.push((m[1] ?? m[2] ?? m[3])!);
  }
  return names;
}

function troubleshooting(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Troubleshooting\n');
  expect(start, 'README.md has a "## Troubleshooting" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe("README's Troubleshooting and the tests' environment variables", () => {
  it('the name finder sees each way of reading a variable (so a pass means something)', () => {
    const source = "const K = 'KMIP_A';\nprocess.env['KMIP_B'] ?? process.env[\"KMIP_C\"]; process.env.KMIP_D; process.env[K]; process.env[IMPORTED]; process.env[UNKNOWN]";
    expect(envNamesIn(source, new Map([['IMPORTED', 'KMIP_E']]))).toEqual(['KMIP_B', 'KMIP_C', 'KMIP_D', 'KMIP_A', 'KMIP_E', '<unresolved UNKNOWN>']);
  });

  it('lists every variable the tests read', () => {
    const section = troubleshooting();
    const files = sourceFiles(join(ROOT, 'test')).filter((file) => file !== SELF);
    const shared = new Map(files.flatMap((file) => [...constantsIn(readFileSync(file, 'utf8'))]));
    const byName = new Map<string, string[]>();
    for (const file of files) {
      for (const name of envNamesIn(readFileSync(file, 'utf8'), shared)) {
        if (!SYSTEM.has(name)) byName.set(name, [...(byName.get(name) ?? []), relative(ROOT, file)]);
      }
    }
    expect(byName.size).toBeGreaterThan(3);
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['CI', 'KMIP_TEST_PG_URL', 'KMIP_BOOT_CACHE']));
    const missing = [...byName].filter(([name]) => !section.includes(`\`${name}\``)).map(([name, files]) => `${name} (read in ${files.join(', ')})`);
    expect(missing, 'add them to README "Troubleshooting", "Environment variables the tests read"').toEqual([]);
  });
});
