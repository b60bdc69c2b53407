/**
 * kmipctl's errors, as an operator and a CI pipeline see them from the built kmipctl: one line and the
 * command that gives help (never the whole help), with --json one small object with a stable code,
 * the documented exit codes, and the failures of issue 19 each with its own case: a backup import that
 * crashed when the passphrase was wrong and the server unreachable, `rewrap --after bogus` that did
 * nothing and exited 0, `backup export` into a missing folder, the KMIP Name missing from `keys list`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr, nameAttr } from '../support/attributes.js';
import { freePort } from '../support/free-port.js';
import { kmipctl, runKmipctl } from '../support/kmipctl.js';
import { assertBuilt, ROOT } from '../support/process.js';
import { noteOutput, noteSecret } from '../support/secrets-ledger.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PASSPHRASE = 'correct horse battery staple';
const WRONG = 'incorrect donkey battery clip';

/** What every error must look like on stderr: one message line, at most a help hint, never the usage text or a stack. */
function expectOneLineError(stderr: string, message: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^kmipctl: /);
  expect(lines[0]).toMatch(message);
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(stderr).not.toMatch(/usage: kmipctl|\n\s+at |Unhandled|Error: /);
}

describe('kmipctl errors name the fix, one line each; --json gives a stable code', () => {
  let server: TestServer;
  let dir: string;
  let pass: string;
  let wrong: string;
  let backupFile: string;
  let offline: { adminPort: number; tokenFile: string };

  beforeAll(async () => {
    assertBuilt();
    noteSecret('backup passphrase', PASSPHRASE);
    noteSecret('backup passphrase', WRONG);
    dir = mkdtempSync(join(tmpdir(), 'kmipctl-errors-'));
    pass = join(dir, 'passphrase');
    wrong = join(dir, 'wrong-passphrase');
    writeFileSync(pass, `${PASSPHRASE}\n`, { mode: 0o600 });
    writeFileSync(wrong, `${WRONG}\n`, { mode: 0o600 });
    server = await startTestServer();
    offline = { adminPort: await freePort(), tokenFile: server.tokenFile };
    // A real backup of a real server, for the import cases.
    expect((await kmipctl(server, 'tenant', 'add', 'vc-backup')).code).toBe(0);
    backupFile = join(dir, 'real.kfv');
    const exported = await kmipctl(server, '--passphrase-file', pass, 'backup', 'export', '--out', backupFile);
    expect(exported.code, exported.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a usage error is one line and the command that gives help, not the whole help; --json is {error, code: USAGE}', async () => {
    const unknown = await runKmipctl(['--bogus', 'tenant', 'list']);
    expect(unknown.code).toBe(2);
    expectOneLineError(unknown.stderr, /^kmipctl: unknown option --bogus$/);
    expect(unknown.stderr).toContain(`run 'kmipctl tenant list --help'`);
    expect(unknown.stdout).toBe('');

    const missing = await kmipctl(server, 'cert', 'add', '--tenant', 'vc-backup');
    expect(missing.code).toBe(2);
    expectOneLineError(missing.stderr, /--pem FILE is required/);
    expect(missing.stderr.trim().split('\n')[1]).toBe(`run 'kmipctl cert add --help' (or 'kmipctl --help')`);

    const group = await runKmipctl(['backup']);
    expect(group.code).toBe(2);
    expectOneLineError(group.stderr, /backup needs a command: backup export, backup import, backup verify/);

    const json = await runKmipctl(['--json', 'frobnicate']);
    expect(json.code).toBe(2);
    // One small object on stdout: nothing else, no help text inside it.
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    expect(json.json).toEqual({ error: 'unknown command: frobnicate', code: 'USAGE' });
    expect(json.stderr).toBe('');
  });

  it('kmipctl COMMAND --help prints that command and its options; kmipctl --help documents every error code', async () => {
    const one = await runKmipctl(['backup', 'export', '--help']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/backup export --out FILE/);
    expect(one.stdout).toMatch(/--passphrase-file FILE/);
    expect(one.stdout).toMatch(/--admin-url URL --token-file FILE/);
    expect(one.stdout).not.toMatch(/vcenter migrate|keyprotect import-prepare/);
    const keys = await runKmipctl(['keys', 'list', '--help']);
    expect(keys.stdout).toMatch(/keys list \[--tenant NAME\] \[--state S\] \[--after ID\]/);
    const all = await runKmipctl(['--help']);
    expect(all.code).toBe(0);
    for (const code of ['USAGE', 'NOT_FOUND', 'UNREACHABLE', 'UNAUTHORIZED', 'UNAVAILABLE', 'BAD_BACKUP', 'SERVER_ERROR', 'FAILED', 'INTERNAL', 'CONFLICT', 'REFUSED_IN_USE', 'REFUSED']) {
      expect(all.stdout).toMatch(new RegExp(`^  ${code} +[123]  `, 'm'));
    }
  });

  it('the server’s refusals keep their exit codes and get codes: UNAUTHORIZED 1, NOT_FOUND 2, CONFLICT 3, REFUSED_IN_USE 3, UNREACHABLE 1', async () => {
    const badToken = join(dir, 'bad-token');
    writeFileSync(badToken, 'not-the-token\n', { mode: 0o600 });
    const unauthorized = await kmipctl({ adminPort: server.adminPort, tokenFile: badToken }, '--json', 'tenant', 'list');
    expect([unauthorized.code, unauthorized.json.code]).toEqual([1, 'UNAUTHORIZED']);

    const notFound = await kmipctl(server, '--json', 'tenant', 'remove', 'vc-nobody');
    expect([notFound.code, notFound.json.code]).toEqual([2, 'NOT_FOUND']);
    expect(notFound.json.error).toMatch(/vc-nobody/);
    const notFoundText = await kmipctl(server, 'tenant', 'remove', 'vc-nobody');
    // Not a usage error: no help hint.
    expect(notFoundText.stderr.trim().split('\n')).toHaveLength(1);

    const conflict = await kmipctl(server, '--json', 'tenant', 'add', 'vc-backup');
    expect([conflict.code, conflict.json.code]).toEqual([3, 'CONFLICT']);

    const { cert } = await server.tenant('vc-busy');
    const client = await server.connect(cert);
    await client.ok(Operation.Create, { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } });
    const inUse = await kmipctl(server, '--json', 'tenant', 'remove', 'vc-busy');
    expect([inUse.code, inUse.json.code]).toEqual([3, 'REFUSED_IN_USE']);
    expect(inUse.json.blockers).toHaveLength(1);

    const unreachable = await kmipctl(offline, '--json', 'tenant', 'list');
    expect([unreachable.code, unreachable.json.code]).toEqual([1, 'UNREACHABLE']);
    expect(unreachable.json.error).toMatch(new RegExp(`cannot reach the server at http://127\\.0\\.0\\.1:${offline.adminPort}: .*ECONNREFUSED.*is the server running`));
    const text = await kmipctl(offline, 'tenant', 'list');
    expectOneLineError(text.stderr, /cannot reach the server/);
  });

  it('backup import with a wrong passphrase and no server: a clean BAD_BACKUP (exit 1), never a crash, in every order of the two failures', async () => {
    // Wrong passphrase, server unreachable: the file is checked first, the process does not crash.
    const both = await kmipctl(offline, 'backup', 'import', '--in', backupFile, '--passphrase-file', wrong);
    expect(both.code).toBe(1);
    expectOneLineError(both.stderr, /^kmipctl: wrong passphrase, or the backup file was changed$/);
    const bothJson = await kmipctl(offline, '--json', 'backup', 'import', '--in', backupFile, '--passphrase-file', wrong);
    expect(bothJson.json).toEqual({ error: 'wrong passphrase, or the backup file was changed', code: 'BAD_BACKUP', cause: 'BACKUP_ERR_AUTH' });
    // Right passphrase, server unreachable: the file is fine, the server is the problem.
    const noServer = await kmipctl(offline, '--json', 'backup', 'import', '--in', backupFile, '--passphrase-file', pass);
    expect([noServer.code, noServer.json.code]).toEqual([1, 'UNREACHABLE']);
    // Wrong passphrase, server up (and holding keys): the passphrase is said, nothing is sent.
    const serverUp = await kmipctl(server, '--json', 'backup', 'import', '--in', backupFile, '--passphrase-file', wrong);
    expect([serverUp.code, serverUp.json.code]).toEqual([1, 'BAD_BACKUP']);
    for (const r of [both, bothJson, noServer, serverUp]) expect(r.stdout + r.stderr).not.toContain(WRONG);
  });

  it('rewrap --after and keys list --after take an object ID: a bogus one is a usage error (exit 2) before the server is asked', async () => {
    const rewrap = await kmipctl(offline, 'rewrap', '--after', 'bogus');
    expect(rewrap.code).toBe(2);
    expectOneLineError(rewrap.stderr, /--after takes an object ID \(a UUID such as .*\), got "bogus"/);
    expect(rewrap.stderr).toContain(`run 'kmipctl rewrap --help'`);
    const keys = await kmipctl(offline, '--json', 'keys', 'list', '--after', '12345');
    expect([keys.code, keys.json.code]).toEqual([2, 'USAGE']);
    // A well-formed cursor goes through (the server answers; here it has nothing after it).
    const fine = await kmipctl(server, '--json', 'rewrap', '--after', 'ffffffff-ffff-7fff-bfff-ffffffffffff');
    expect(fine.code, fine.stdout + fine.stderr).toBe(0);
    expect(fine.json).toMatchObject({ rewrapped: 0, failed: 0 });
  });

  it('backup export into a folder that does not exist says so (exit 2) before contacting the server, and leaves no partial file', async () => {
    const missingDir = join(dir, 'no-such-folder');
    const r = await kmipctl(offline, 'backup', 'export', '--out', join(missingDir, 'b.kfv'), '--passphrase-file', pass);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, new RegExp(`the folder ${missingDir} does not exist: create it \\(mkdir -p ${missingDir}\\) or give another --out`));
    expect(r.stderr).not.toMatch(/partial|ENOENT/);
    const intoDir = await kmipctl(offline, 'backup', 'export', '--out', dir, '--passphrase-file', pass);
    expect(intoDir.code).toBe(2);
    expect(intoDir.stderr).toMatch(/is a folder: give a file name/);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('keys list shows the KMIP Name a KMIP client gave beside vCenter’s name', async () => {
    const { cert } = await server.tenant('vc-named');
    const client = await server.connect(cert);
    const uid = (await client.ok(Operation.Create, {
      objectType: 2,
      templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), nameAttr('pykmip-app-key')] },
    }))['uniqueIdentifier'] as string;
    const r = await kmipctl(server, 'keys', 'list', '--tenant', 'vc-named');
    expect(r.code, r.stderr).toBe(0);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header).toMatch(/KMIP NAME .*VCENTER NAME/);
    expect(row).toContain(uid);
    // The value sits under its header.
    expect(row!.slice(header!.indexOf('KMIP NAME')).startsWith('pykmip-app-key')).toBe(true);
    const json = await kmipctl(server, '--json', 'keys', 'list', '--tenant', 'vc-named');
    expect(json.json.keys[0]).toMatchObject({ id: uid, kmipName: 'pykmip-app-key' });
  });

  it('npm run -s kmipctl -- … --json leaves stdout to kmipctl alone (one JSON document)', async () => {
    const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile('npm', ['run', '-s', 'kmipctl', '--', '--admin-url', `http://127.0.0.1:${server.adminPort}`, '--token-file', server.tokenFile, '--json', 'tenant', 'list'], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
        noteOutput('npm run -s kmipctl -- --json tenant list (stdout)', stdout);
        noteOutput('npm run -s kmipctl -- --json tenant list (stderr)', stderr);
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout });
      }),
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tenants: expect.arrayContaining([expect.objectContaining({ name: 'vc-backup' })]) });
  });
});
