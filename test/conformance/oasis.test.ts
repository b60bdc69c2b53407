/**
 * The OASIS KMIP profile test cases (1.4 and 2.1, mandatory and optional) replayed over TTLV and
 * real TLS against the real server, the message-encoding cases (MSGENC-HTTPS/XML/JSON) over the
 * HTTPS transport in their encodings (test/conformance/oasis/README.md). A ratchet:
 * oasis/expected.json says which cases pass; a case marked pass must pass, and a case marked with a
 * reason must still fail, so the list stays exact in both directions.
 *
 * OASIS_CASE=SKLC-M-1-14 runs one case (on a fresh server: cases that read another's objects fail alone).
 * OASIS_WRITE_EXPECTED=1 rewrites expected.json from this run (review the diff before committing it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseFiles, FOLDERS, loadCase } from './oasis/load.js';
import { FolderRun, type CaseResult } from './oasis/runner.js';

const EXPECTED_FILE = fileURLToPath(new URL('./oasis/expected.json', import.meta.url));
const expected = JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as Record<string, string>;
const only = process.env['OASIS_CASE'];
const write = process.env['OASIS_WRITE_EXPECTED'] === '1';

const results = new Map<string, CaseResult>();

for (const folder of FOLDERS) {
  const files = caseFiles(folder).filter((f) => !only || f === `${only}.xml`);
  if (files.length === 0) continue;
  describe(`OASIS ${folder}`, () => {
    let run: FolderRun;
    beforeAll(async () => {
      run = await FolderRun.start();
    });
    afterAll(async () => {
      await run?.close();
    });

    for (const file of files) {
      const tc = loadCase(folder, file);
      it(tc.name, async () => {
        const listed = expected[tc.name];
        const result = await run.runCase(tc);
        results.set(tc.name, result);
        if (write) return;
        expect(listed, `${tc.name} is not in oasis/expected.json`).toBeDefined();
        // The whole reason, untruncated: it is the first difference to look at.
        if (listed === 'pass' && !result.pass) expect.fail(`${tc.name} is marked pass but fails: ${result.reason}`);
        if (listed !== 'pass') expect(result.pass, `${tc.name} now passes: mark it pass in oasis/expected.json (was: ${listed})`).toBe(false);
      });
    }
  });
}

afterAll(() => {
  // A fixture folder gone missing or renamed would drop its cases while every test still passes.
  if (!only && !write && results.size !== Object.keys(expected).length) {
    throw new Error(`ran ${results.size} OASIS cases, but oasis/expected.json lists ${Object.keys(expected).length}`);
  }
  const lines: string[] = [];
  let total = 0;
  let passing = 0;
  for (const folder of FOLDERS) {
    const names = caseFiles(folder).map((f) => f.replace(/\.xml$/, '')).filter((n) => results.has(n));
    if (names.length === 0) continue;
    const ok = names.filter((n) => results.get(n)!.pass).length;
    lines.push(`  ${folder}: ${ok}/${names.length} pass`);
    total += names.length;
    passing += ok;
  }
  console.log(`OASIS test cases over TTLV and HTTPS: ${passing}/${total} pass\n${lines.join('\n')}`);
  if (write && !only) {
    const next: Record<string, string> = {};
    for (const [name, r] of [...results].sort(([a], [b]) => a.localeCompare(b))) next[name] = r.pass ? 'pass' : r.reason!;
    writeFileSync(EXPECTED_FILE, `${JSON.stringify(next, null, 2)}\n`);
  }
});
