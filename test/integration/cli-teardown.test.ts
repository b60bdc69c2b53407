/**
 * `npm run teardown` as CI runs it (tsx scripts/teardown.ts in a child process): every usage problem, the
 * backup passphrase's length included, ends it with exit 2 before anything runs (no kmipctl call, no
 * backup, no terraform), and --json gives one JSON document on stdout (the steps, the backup, or the
 * error with a stable code) while the step-by-step log goes to stderr.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { ROOT } from '../support/cdktf-fixtures.js';
import { assertBuilt } from '../support/process.js';
import { noteOutput } from '../support/secrets-ledger.js';
import type { TestServer } from '../support/server.js';
import { STACK, ZONES, createTeardownProject, type TeardownProject } from '../support/teardown-fixture.js';

const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function teardownProcess(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve) =>
    execFile(process.execPath, [TSX, join(ROOT, 'scripts', 'teardown.ts'), ...argv], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      noteOutput(`teardown ${argv.join(' ')} (stdout)`, stdout);
      noteOutput(`teardown ${argv.join(' ')} (stderr)`, stderr);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    }),
  );
}

/** stdout must be exactly one JSON document. */
function onlyJson(r: Run): Record<string, any> {
  const lines = r.stdout.trim().split('\n');
  expect(lines, r.stdout).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, any>;
}

describe('teardown: usage problems exit 2 before anything runs; --json for CI', () => {
  let project: TeardownProject;
  let nodeA: TestServer;
  let nodeB: TestServer;
  const url = (s: TestServer) => `https://127.0.0.1:${s.adminPort}`;
  const args = (outDir: string, backupDir: string, b: TestServer, ...more: string[]) => [
    STACK,
    '--config',
    project.configFile,
    '--out-dir',
    outDir,
    '--backup-dir',
    backupDir,
    '--passphrase-file',
    project.passphraseFile,
    '--terraform',
    project.terraform,
    '--endpoints-file',
    project.endpointsFile({ [ZONES[0]]: url(nodeA), [ZONES[1]]: url(b) }),
    ...more,
  ];

  beforeAll(async () => {
    assertBuilt();
    project = createTeardownProject();
    [nodeA, nodeB] = await Promise.all([project.startNode(), project.startNode()]);
  });
  afterAll(async () => {
    await Promise.all([nodeA?.close(), nodeB?.close()]);
    if (project) rmSync(project.root, { recursive: true, force: true });
  });

  it('a passphrase too short for the backup is refused with exit 2 before the preflight, and with --json as {code: USAGE}', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    const short = join(project.root, 'short-passphrase');
    writeFileSync(short, 'too-short\n', { mode: 0o600 });
    project.log.clear();
    const r = await teardownProcess([...args(outDir, backupDir, nodeB, '--confirm', STACK), '--passphrase-file', short], project.env(outDir), project.root);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`teardown: the backup passphrase in the passphrase file ${short} is 9 characters; it must be at least 12`);
    expect(r.stderr).toContain('teardown: nothing was done');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const json = await teardownProcess([...args(outDir, backupDir, nodeB, '--confirm', STACK), '--passphrase-file', short, '--json'], project.env(outDir), project.root);
    expect(json.code).toBe(2);
    expect(onlyJson(json)).toMatchObject({ ok: false, exitCode: 2, code: 'USAGE', error: expect.stringMatching(/at least 12/), steps: [] });
    // A half set of vCenter flags would fail each node's preflight later: also refused now.
    const vcenter = await teardownProcess([...args(outDir, backupDir, nodeB, '--confirm', STACK), '--vcenter', 'https://vc.example'], project.env(outDir), project.root);
    expect(vcenter.code).toBe(2);
    expect(vcenter.stderr).toMatch(/the vCenter check needs --vcenter-user USER, --vcenter-password-file FILE, --provider NAME too/);
    // Nothing ran: no kmipctl call, no terraform, no backup folder.
    expect(project.log.lines()).toEqual([]);
    expect(existsSync(backupDir)).toBe(false);
  });

  it('--json dry run: one document with each step, the backup and the rest of the plan; the log on stderr', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    const r = await teardownProcess([...args(outDir, backupDir, nodeB, '--dry-run'), '--json'], project.env(outDir), project.root);
    expect(r.code, r.stderr).toBe(0);
    const doc = onlyJson(r);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, stack: STACK, dryRun: true });
    expect(doc['steps'].map((s: { step: number }) => s.step)).toEqual([1, 2, 3]);
    expect(doc['steps'][0].result).toBe('all 2 node(s) answer: safe to tear down');
    expect(doc['backup']).toMatchObject({ file: expect.stringContaining(backupDir), tenants: 0, objects: 0 });
    expect(existsSync(doc['backup'].file)).toBe(true);
    expect(doc['plan'].at(-1)).toMatch(/destroy/);
    // The human log still exists, on stderr.
    expect(r.stderr).toMatch(/\[1\/3\] preflight/);
  });

  it('--json when a node holds an Active key: exit 3, code REFUSED_IN_USE, the failed step and the blockers', async () => {
    const busy = await project.startNode();
    try {
      const { cert } = await busy.tenant('vc-busy');
      const client = await busy.connect(cert);
      const uid = (await client.ok(Operation.Create, { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } }))['uniqueIdentifier'] as string;
      await client.ok(Operation.Activate, { uniqueIdentifier: uid });
      const outDir = project.freshOutDir();
      const backupDir = project.freshBackupDir();
      const r = await teardownProcess([...args(outDir, backupDir, busy, '--confirm', STACK), '--json'], project.env(outDir), project.root);
      expect(r.code, r.stderr).toBe(3);
      const doc = onlyJson(r);
      expect(doc).toMatchObject({ ok: false, exitCode: 3, code: 'REFUSED_IN_USE', failedStep: { step: 1 }, refusedBy: [ZONES[1]], steps: [] });
      expect(doc['error']).toMatch(/NOT safe to tear down .*1 key\(s\) still in use/);
      expect(doc['blockers']).toEqual([expect.objectContaining({ tenant: 'vc-busy', id: uid, state: 'Active' })]);
      expect(existsSync(backupDir)).toBe(false);
    } finally {
      await busy.close();
    }
  });
});
