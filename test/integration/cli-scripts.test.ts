/**
 * The operator scripts' messages, each run as a real process: `npm run pki` sums up each stack the same
 * way whatever was there before (it said "created 13 file(s)" on one run and "kept 7" on the next),
 * `npm run fuzz` has --help and clean usage errors (it ended in ERR_PARSE_ARGS_UNKNOWN_OPTION, and
 * `--replay /nope` printed a raw ENOENT stack), and the benchmark waits for PyKMIP to accept connections
 * (it said "ready" before listening, and the benchmark crashed on ECONNREFUSED), failing with a message
 * that names it and what to check.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { assertBuilt, ROOT } from '../support/process.js';
import { noteOutput } from '../support/secrets-ledger.js';

const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function tsx(script: string, args: readonly string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve) =>
    execFile(process.execPath, [TSX, join(ROOT, script), ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      noteOutput(`${script} ${args.join(' ')} (stdout)`, stdout);
      noteOutput(`${script} ${args.join(' ')} (stderr)`, stderr);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    }),
  );
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |ERR_PARSE_ARGS|Error: ENOENT/);

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'kmip-cli-scripts-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run pki: one coherent summary per stack', () => {
  it('counts every file of the stack once, as created, renewed or kept, on every run', async () => {
    const pkiDir = join(dir, 'pki');
    const config = join(dir, 'kmip.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        serverBundle: join(dir, 'bundle.mjs'),
        pkiDir,
        environments: [
          {
            name: 't',
            regions: [{ region: 'us-south', zones: [1, 2], kmipClientCidrs: ['10.50.0.0/24'], keyProtect: { instance: { create: true }, rootKey: { source: 'generate', name: 'crk' } } }],
          },
        ],
      }),
    );
    const stackDir = join(pkiDir, 'kmip-t-us-south');
    const summary = (r: Run) => {
      const m = new RegExp(`^kmip-t-us-south: (\\d+) file\\(s\\) in ${stackDir}: (\\d+) created, (\\d+) renewed, (\\d+) kept as they were$`, 'm').exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      const [total, created, renewed, kept] = m!.slice(1).map(Number) as [number, number, number, number];
      // One way of counting: the parts add up to the files the stack has on disk.
      expect(created + renewed + kept).toBe(total);
      expect(total).toBe(readdirSync(stackDir).length);
      return { total, created, renewed, kept, listed: r.stdout.split('\n').filter((l) => /^ {2}[+~] /.test(l)).length };
    };

    const first = await tsx('scripts/pki.ts', ['--config', config]);
    expect(first.code, first.stderr).toBe(0);
    expect(summary(first)).toEqual({ total: 11, created: 11, renewed: 0, kept: 0, listed: 11 });

    const again = await tsx('scripts/pki.ts', ['--config', config]);
    expect(summary(again)).toEqual({ total: 11, created: 0, renewed: 0, kept: 11, listed: 0 });

    // A lost node certificate: issued again with a new key (the old key is replaced), the rest kept.
    unlinkSync(join(stackDir, 'us-south-1-cert.pem'));
    const repaired = await tsx('scripts/pki.ts', ['--config', config]);
    expect(summary(repaired)).toEqual({ total: 11, created: 1, renewed: 1, kept: 9, listed: 2 });
    expect(repaired.stdout).toContain(`  + ${join(stackDir, 'us-south-1-cert.pem')}`);
    expect(repaired.stdout).toContain(`  ~ ${join(stackDir, 'us-south-1-key.pem')} (renewed)`);

    const bad = await tsx('scripts/pki.ts', ['--config', config, '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^pki: unknown option --bogus\nusage: npm run pki -- /);
    noStack(bad.stderr);
  }, 120_000);
});

describe('npm run fuzz: help and clean usage errors', () => {
  it('--help prints the options (exit 0); an unknown option or a missing --replay file is one line (exit 2)', async () => {
    const help = await tsx('test/fuzz/main.ts', ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run fuzz -- \[options\]/);
    for (const option of ['--count N', '--seed S', '--replay FILE', '--print K', '--in-process']) expect(help.stdout).toContain(option);

    const unknown = await tsx('test/fuzz/main.ts', ['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("fuzz: unknown option --bogus\nfuzz: run 'npm run fuzz -- --help' for the options\n");

    const missing = await tsx('test/fuzz/main.ts', ['--replay', '/nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^fuzz: --replay \/nope: no such file \(failures are saved under --out, e\.g\. .*fuzz-SEED-INDEX\.hex\)\n/);
    noStack(missing.stderr);
    // Said before a server starts: nothing on stdout about a replay.
    expect(missing.stdout).toBe('');

    const notHex = join(dir, 'not-a-failure.txt');
    writeFileSync(notHex, 'hello, this is not hex\n');
    const garbage = await tsx('test/fuzz/main.ts', ['--replay', notHex]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/is not a saved fuzz failure/);
    noStack(garbage.stderr);
  }, 120_000);
});

describe('benchmark: PyKMIP is waited for until it accepts connections', () => {
  type Servers = typeof import('../../bench/servers.js');
  let servers: Servers;
  beforeAll(async () => {
    // The built module, as `npm run bench` runs it.
    servers = (await import(join(ROOT, 'dist', 'bench', 'servers.js'))) as Servers;
  });

  /**
   * A stand-in for `python3 pykmip_server.py PORT …` that behaves like PyKMIP at start: it prints
   * "ready" first and listens `listenAfterMs` later (never, when undefined), or exits at once.
   */
  function fakePython(name: string, behaviour: { listenAfterMs?: number; exitCode?: number }): string {
    const js = join(dir, `${name}.mjs`);
    writeFileSync(
      js,
      `import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
const port = Number(process.argv[3]);
writeFileSync(${JSON.stringify(join(dir, `${name}.pid`))}, String(process.pid));
${behaviour.exitCode !== undefined ? `process.exit(${behaviour.exitCode});` : ''}
console.log('ready');
${behaviour.listenAfterMs !== undefined ? `setTimeout(() => createServer((s) => s.destroy()).listen(port, '127.0.0.1'), ${behaviour.listenAfterMs});` : ''}
setInterval(() => {}, 1000);
`,
    );
    const sh = join(dir, name);
    writeFileSync(sh, `#!/bin/sh\nexec "${process.execPath}" "${js}" "$@"\n`);
    chmodSync(sh, 0o755);
    return sh;
  }

  const accepts = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('a server that says "ready" before it listens is used only once it accepts connections', async () => {
    const port = await freePort();
    const started = Date.now();
    const server = await servers.startPyKmip(fakePython('late', { listenAfterMs: 1500 }), port, { readyTimeoutMs: 20_000 });
    try {
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(await accepts(port)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('one that never listens fails within the bound, naming PyKMIP, the port and what to check, and is stopped', async () => {
    const port = await freePort();
    const python = fakePython('never', {});
    const err = (await servers.startPyKmip(python, port, { readyTimeoutMs: 2000 }).then(
      () => undefined,
      (e: Error) => e,
    )) as Error | undefined;
    expect(err?.message).toMatch(new RegExp(`^PyKMIP did not accept connections on 127\\.0\\.0\\.1:${port} within 2 s \\(\\d+ attempts, last: ECONNREFUSED\\): check that ${python} imports PyKMIP \\(apt-get install python3-pykmip\\), that port ${port} is free, and PyKMIP's log .*pykmip\\.log; or run the benchmark with --no-pykmip$`));
    // What it started is not left running.
    const pidFile = join(dir, 'never.pid');
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(false);
  });

  it('one that exits at once fails at once with its exit code, not after the timeout', async () => {
    const started = Date.now();
    const err = (await servers.startPyKmip(fakePython('exits', { exitCode: 3 }), 1, { readyTimeoutMs: 30_000 }).then(
      () => undefined,
      (e: Error) => e,
    )) as Error | undefined;
    expect(err?.message).toMatch(/^PyKMIP did not start: server exited with 3.*apt-get install python3-pykmip/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a Python that does not exist is a clean error, not an unhandled spawn error', async () => {
    const missing = join(dir, 'no-such-python');
    const err = (await servers.startPyKmip(missing, 1, { readyTimeoutMs: 10_000 }).then(
      () => undefined,
      (e: Error) => e,
    )) as Error | undefined;
    expect(err?.message).toMatch(new RegExp(`^PyKMIP did not start: cannot run ${missing}: ENOENT; check that`));
  });
});
