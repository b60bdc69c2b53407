/**
 * What the README tells a new user to type, and what it says they will see, against the real programs: the
 * PyKMIP snippet (run as written, by /usr/bin/python3, against a `--dev` server started from the built
 * dist/server/main.js) and the busy-port message of Troubleshooting.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pykmipAvailable, requirement } from '../../support/env.js';
import { assertBuilt, ROOT, runToExit, SERVER_MAIN, startServerProcess, type RunningServer } from '../../support/process.js';
import { noteOutput } from '../../support/secrets-ledger.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The body of the first fenced block after `marker` whose first line satisfies `first`. */
function fencedBlockAfter(marker: string, first: (line: string) => boolean): string {
  const from = README.indexOf(marker);
  expect(from, `README.md contains ${JSON.stringify(marker)}`).toBeGreaterThanOrEqual(0);
  for (const m of README.slice(from).matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)) if (first(m[1]!.split('\n')[0]!)) return m[1]!;
  throw new Error(`no code block after ${JSON.stringify(marker)} in README.md`);
}

const skipPykmip = requirement('PyKMIP (python3-pykmip for /usr/bin/python3)', pykmipAvailable(), 'apt-get install python3-pykmip');

describe('README snippets against the real server', () => {
  let dir: string;
  let server: RunningServer;
  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'kmip-readme-'));
    // As the README has it: a --dev server whose data folder is .kmip-dev in the folder the snippet runs in.
    server = await startServerProcess(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', join(dir, '.kmip-dev'), '--port', '0', '--admin-port', '0', '--log-level', 'warn'], dir);
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skipPykmip)('the PyKMIP snippet creates a key and gets it back, printing its length and never the key', async () => {
    const snippet = fencedBlockAfter('Try it with PyKMIP', (line) => line.includes('python3'));
    // The system Python by its path: another python3 earlier on PATH lacks Debian's PyKMIP.
    expect(snippet.startsWith("/usr/bin/python3 - <<'EOF'\n")).toBe(true);
    // The only change: the port this test's server got instead of the default 5696.
    expect(snippet.match(/port=5696\b/g)).toHaveLength(1);
    const script = snippet.replace(/port=5696\b/, `port=${server.kmipPort}`);
    const { stdout, stderr } = await promisify(execFile)('sh', ['-c', script], { cwd: dir, timeout: 60_000 });
    noteOutput('README PyKMIP snippet', stdout + stderr);
    const [uid, length, ...rest] = stdout.trim().split(' ');
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(length).toBe('32');
    expect(rest.join(' ')).toBe('bytes of key material');
    expect(stdout).not.toMatch(/[0-9a-f]{64}/);
  });

  it('a second server on a busy port prints what Troubleshooting quotes and exits 1', async () => {
    const quoted = fencedBlockAfter('### A port is busy', (line) => line.startsWith('kmip-server:')).trim();
    expect(quoted).toMatch(/127\.0\.0\.1:5696$/);
    expect(README.slice(README.indexOf('### A port is busy'))).toMatch(/^`kmip-server` stops with exit code 1/m);
    const other = join(dir, 'second');
    const run = await runToExit(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', other, '--port', String(server.kmipPort), '--admin-port', '0', '--log-level', 'warn'], 60_000);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toContain(quoted.replace(/5696$/, String(server.kmipPort)));
  });
});
