/**
 * `npm run teardown -- <stack>`: refusals and the order of steps, without reaching the cloud. The preflight
 * and the backup are the real kmipctl against real servers on 127.0.0.1 (node certificates from the stack's
 * CA, the stack's admin client certificate); terraform and cdktf are fakes that record their arguments and
 * whether the stack's cdk.tf.json was still protected when they ran.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { parseTeardownArgs } from '../../scripts/teardown/args.js';
import { backupFileName, cdktfDestroyArgs, preflightArgs } from '../../scripts/teardown/commands.js';
import { runTeardown } from '../../scripts/teardown/run.js';
import { pkiPaths } from '../../stacks/pki.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { ROOT } from '../support/cdktf-fixtures.js';
import { KMIPCTL } from '../support/kmipctl.js';
import { assertBuilt } from '../support/process.js';
import { createTestPki } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { OTHER_STACKS, STACK, ZONES, createTeardownProject, treeHashes, type TeardownProject } from '../support/teardown-fixture.js';

const createPayload = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** In-process: the same runTeardown the script calls, with the environment given (fast: no tsx start). */
async function teardown(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTeardown(argv, env, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** As an operator runs it: `tsx scripts/teardown.ts …` (what `npm run teardown --` runs) in the project folder. */
function teardownProcess(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve) =>
    execFile(process.execPath, [TSX, join(ROOT, 'scripts', 'teardown.ts'), ...argv], { cwd, env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/**
 * The calls in the log, named: "preflight <port>", "backup", "verify", "terraform apply", … plus the state
 * of the stack's protection at the call. The nodes are asked at once, so each group of preflights is sorted.
 */
function named(lines: readonly string[]): string[] {
  const names = lines.map((l) => {
    const state = /\[(\w+|-)\][^[]*$/.exec(l)?.[1] ?? '?';
    if (l.startsWith('kmipctl ')) {
      if (l.includes(' preflight-destroy')) return `preflight ${/https:\/\/127\.0\.0\.1:(\d+)/.exec(l)?.[1]} [${state}]`;
      if (l.includes(' backup export ')) return `backup [${state}]`;
      if (l.includes(' backup verify ')) return `verify [${state}]`;
    }
    if (l.startsWith('terraform ')) return `terraform ${/ (init|apply|destroy|output|state list|state rm) /.exec(`${l} `)?.[1]} [${state}]`;
    if (l.startsWith('cdktf ')) return `cdktf ${l.split(' ')[1]} [${state}]`;
    return `? ${l}`;
  });
  const out: string[] = [];
  for (let i = 0; i < names.length; ) {
    let j = i;
    while (j < names.length && names[j]!.startsWith('preflight ')) j++;
    if (j > i) out.push(...names.slice(i, j).sort());
    else out.push(names[j++]!);
    i = j;
  }
  return out;
}

/** The preflight entries of one round, in the order named() gives them. */
const round = (...ports: number[]) => ports.map((p) => `preflight ${p} [protected]`).sort();

const kfvFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.kfv')) : []);
const protectedText = (outDir: string) => readFileSync(join(outDir, 'stacks', STACK, 'cdk.tf.json'), 'utf8');

describe('teardown (scripts/teardown.ts)', () => {
  let project: TeardownProject;
  /** Safe nodes: a tenant with a registered certificate and a destroyed key on one, nothing on the other. */
  let nodeA: TestServer;
  let nodeB: TestServer;
  /** A node whose tenant holds an Active key. */
  let busy: TestServer;
  let activeKey: string;
  let closedPort: number;

  const url = (s: TestServer) => `https://127.0.0.1:${s.adminPort}`;
  const args = (outDir: string, backupDir: string, endpoints: Record<string, string>, ...more: string[]) => [
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
    project.endpointsFile(endpoints),
    ...more,
  ];

  beforeAll(async () => {
    assertBuilt();
    project = createTeardownProject();
    [nodeA, nodeB, busy] = await Promise.all([project.startNode(), project.startNode(), project.startNode()]);

    // A key in use, the way an operator sets a vCenter up: tenant and certificate through kmipctl, then KMIP.
    expect((await project.kmipctl(busy, 'tenant', 'add', 'vc-busy')).code).toBe(0);
    const vcenter = busy.pki.client('vcenter-busy');
    const added = await project.kmipctl(busy, 'cert', 'add', '--tenant', 'vc-busy', '--pem', vcenter.certFile);
    expect(added.code, added.stderr).toBe(0);
    const client = await busy.connect(vcenter);
    activeKey = (await client.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
    await client.ok(Operation.Activate, { uniqueIdentifier: activeKey });

    // Something worth backing up on the safe node, none of it in use: a tenant, its certificate, a destroyed key.
    expect((await project.kmipctl(nodeA, 'tenant', 'add', 'vc-gone')).code).toBe(0);
    const old = nodeA.pki.client('vcenter-gone');
    expect((await project.kmipctl(nodeA, 'cert', 'add', '--tenant', 'vc-gone', '--pem', old.certFile)).code).toBe(0);
    const c = await nodeA.connect(old);
    const uid = (await c.ok(Operation.Create, createPayload))['uniqueIdentifier'] as string;
    await c.ok(Operation.Destroy, { uniqueIdentifier: uid });

    // A port nothing listens on (bound, then released).
    closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
  });
  afterAll(async () => {
    await Promise.all([nodeA?.close(), nodeB?.close(), busy?.close()]);
    if (project) rmSync(project.root, { recursive: true, force: true });
  });

  it('refuses without --confirm <stack> (exit 2) before calling anything; --yes or another name is not a confirmation', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    const before = treeHashes(outDir);
    project.log.clear();
    const base = args(outDir, backupDir, { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(nodeB) });
    // As the operator runs it, in a child process: the exit code is the process's.
    const missing = await teardownProcess(base, project.env(outDir), project.root);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(`destroying ${STACK} needs --confirm ${STACK} (or --dry-run)`);
    const yes = await teardown([...base, '--yes'], project.env(outDir));
    expect(yes.code).toBe(2);
    expect(yes.stderr).toMatch(`--yes is not enough: type the stack name, --confirm ${STACK}`);
    const wrong = await teardown([...base, '--confirm', OTHER_STACKS[0]], project.env(outDir));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/does not name the stack/);
    expect(project.log.lines()).toEqual([]);
    expect(existsSync(backupDir)).toBe(false);
    expect(treeHashes(outDir)).toEqual(before);
  });

  it('setup problems stop it with exit 2 before any call: unknown stack, an endpoints file missing a node, no passphrase', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    project.log.clear();
    const unknown = await teardown(['kmip-t-jp-tok', '--confirm', 'kmip-t-jp-tok', '--config', project.configFile, '--passphrase-file', project.passphraseFile], project.env(outDir));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(`no stack kmip-t-jp-tok in ${project.configFile} (it has ${[STACK, ...OTHER_STACKS].join(', ')})`);
    const oneNode = await teardown(args(outDir, backupDir, { [ZONES[0]]: url(nodeA) }, '--confirm', STACK), project.env(outDir));
    expect(oneNode.code).toBe(2);
    expect(oneNode.stderr).toMatch(/names zones us-south-1; the stack has us-south-1, us-south-2/);
    const noPassphrase = await teardown([STACK, '--confirm', STACK, '--config', project.configFile], project.env(outDir));
    expect(noPassphrase.code).toBe(2);
    expect(noPassphrase.stderr).toMatch(/needs a passphrase/);
    expect(project.log.lines()).toEqual([]);
  });

  it('refuses (exit 3) while a node reports an Active key: blockers printed, no backup, terraform never runs, protection kept', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    project.log.clear();
    const r = await teardown(args(outDir, backupDir, { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(busy) }, '--confirm', STACK), project.env(outDir));
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(`us-south-1 ${url(nodeA)}: safe`);
    expect(r.stdout).toMatch(`us-south-2 ${url(busy)}: NOT safe (1 key(s) in use)`);
    expect(r.stderr).toMatch(new RegExp(`tenant vc-busy {2}key ${activeKey} {2}Active`));
    expect(r.stderr).toMatch(/STOPPED at step \[1\/8\] preflight/);
    // every node was asked, then nothing else ran
    expect(named(project.log.lines())).toEqual(round(nodeA.adminPort, busy.adminPort));
    expect(kfvFiles(backupDir)).toEqual([]);
    expect(protectedText(outDir)).toBe(readFileSync(join(project.pristineOutDir, 'stacks', STACK, 'cdk.tf.json'), 'utf8'));
  });

  it('stops (exit 1) when a node does not answer: a teardown needs positive proof from every node', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    project.log.clear();
    const r = await teardown(args(outDir, backupDir, { [ZONES[0]]: url(nodeA), [ZONES[1]]: `https://127.0.0.1:${closedPort}` }, '--confirm', STACK), project.env(outDir));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/us-south-2 https:\/\/127\.0\.0\.1:\d+: no answer \(kmipctl exit 1: cannot reach the server/);
    expect(r.stderr).toMatch(/no positive answer from us-south-2/);
    expect(named(project.log.lines())).toEqual(round(nodeA.adminPort, closedPort));
    expect(kfvFiles(backupDir)).toEqual([]);
  });

  it('a node whose certificate is not from the stack CA is no proof (exit 1), even if it would say "safe"', async () => {
    // HTTPS for 127.0.0.1 from another CA, taking the stack's admin certificate: only the server CA check stops it
    const pki = createTestPki();
    const stranger = await startTestServer({
      pki,
      config: { admin: { enabled: true, host: '127.0.0.1', port: 0, tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, clientCaFile: pkiPaths(project.pkiDir, STACK).adminCaCert } } },
    });
    try {
      const outDir = project.freshOutDir();
      project.log.clear();
      const r = await teardown(args(outDir, project.freshBackupDir(), { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(stranger) }, '--confirm', STACK), project.env(outDir));
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(`us-south-1 ${url(nodeA)}: safe`);
      expect(r.stdout).toMatch(/us-south-2 \S+: no answer \(kmipctl exit 1: cannot reach the server at \S+: (unable to verify|self.signed|.*certificate)/i);
      expect(named(project.log.lines())).toEqual(round(nodeA.adminPort, stranger.adminPort));
    } finally {
      await stranger.close();
    }
  });

  it('a passphrase too short for the backup stops it with exit 2 before the preflight: nothing runs, nothing is lifted', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    const shortPassphrase = join(project.root, 'short-passphrase');
    writeFileSync(shortPassphrase, 'too-short\n');
    project.log.clear();
    const r = await teardown([...args(outDir, backupDir, { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(nodeB) }, '--confirm', STACK), '--passphrase-file', shortPassphrase], project.env(outDir));
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the backup passphrase in the passphrase file \S+ is 9 characters; it must be at least 12/);
    expect(project.log.lines()).toEqual([]);
    expect(kfvFiles(backupDir)).toEqual([]);
    expect(protectedText(outDir)).toMatch(/prevent_destroy/);
  });

  it('--dry-run: preflight, backup and verify, then prints the rest of the plan and changes nothing', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    const before = treeHashes(outDir);
    project.log.clear();
    const r = await teardown(args(outDir, backupDir, { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(nodeB) }, '--dry-run'), project.env(outDir));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(named(project.log.lines())).toEqual([...round(nodeA.adminPort, nodeB.adminPort), 'backup [protected]', 'verify [protected]']);
    expect(kfvFiles(backupDir)).toHaveLength(1);
    expect(treeHashes(outDir)).toEqual(before);
    expect(r.stdout).toMatch(/dry run: stopping here/);
    expect(r.stdout).toMatch(new RegExp(`${project.terraform} -chdir=\\S+ apply -input=false -auto-approve -target=ibm_database\\.`));
  });

  it('a failed apply stops it before the destroy (exit 1), naming the step', async () => {
    const outDir = project.freshOutDir();
    project.log.clear();
    const r = await teardown(args(outDir, project.freshBackupDir(), { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(nodeB) }, '--confirm', STACK), project.env(outDir, { FAKE_TERRAFORM_FAIL: 'apply' }));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/STOPPED at step \[6\/8\] apply/);
    expect(r.stderr).toMatch(/terraform apply failed \(exit 1\)/);
    expect(named(project.log.lines()).slice(-2)).toEqual(['terraform init [unprotected]', 'terraform apply [unprotected]']);
  });

  it('success: preflight → backup → verify → preflight again → lift (that stack only) → apply → destroy; the backup verifies', async () => {
    const outDir = project.freshOutDir();
    const backupDir = project.freshBackupDir();
    const configBefore = readFileSync(project.configFile, 'utf8');
    const others = Object.fromEntries(OTHER_STACKS.map((s) => [s, treeHashes(join(outDir, 'stacks', s))]));
    const manifestBefore = readFileSync(join(outDir, 'manifest.json'), 'utf8');
    project.log.clear();
    const started = Date.now();
    const r = await teardownProcess(args(outDir, backupDir, { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(nodeB) }, '--confirm', STACK), project.env(outDir), project.root);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const a = nodeA.adminPort;
    const b = nodeB.adminPort;
    expect(named(project.log.lines())).toEqual([
      ...round(a, b),
      'backup [protected]',
      'verify [protected]',
      ...round(a, b),
      // the protection was lifted between the second preflight and the first terraform call
      'terraform init [unprotected]',
      'terraform apply [unprotected]',
      // the root key is kept: what the state holds of Key Protect is taken out before the destroy
      'terraform state list [unprotected]',
      'terraform output [unprotected]',
      'terraform output [unprotected]',
      'terraform destroy [unprotected]',
    ]);
    const steps = r.stdout.split('\n').filter((l) => /^\[\d\/8\]/.test(l));
    expect(steps.map((l) => l.replace(/^\[(\d)\/8\] (\S+).*$/, '$1 $2'))).toEqual(['1 preflight:', '2 backup:', '3 verify', '4 preflight', '5 lift', '6 apply', '7 keep', '8 destroy']);

    const stackDir = join(outDir, 'stacks', STACK);
    const tf = project.log.lines().filter((l) => l.startsWith('terraform '));
    expect(tf[0]).toMatch(`terraform -chdir=${stackDir} init -input=false [`);
    expect(tf[1]).toMatch(new RegExp(`^terraform -chdir=${stackDir} apply -input=false -auto-approve -target=ibm_database\\.[A-Za-z0-9_-]+ \\[`));
    expect(tf.at(-1)).toMatch(`terraform -chdir=${stackDir} destroy -input=false -auto-approve [`);

    // only that stack lost its protection; the other stacks (one of the same environment) and the manifest are byte for byte as before
    const lifted = JSON.parse(protectedText(outDir)) as { resource: Record<string, Record<string, Record<string, unknown>>> };
    // only Key Protect keeps prevent_destroy (it is retained, not destroyed)
    const stillProtected = Object.entries(lifted.resource).flatMap(([type, byName]) => Object.entries(byName).filter(([, r]) => (r['lifecycle'] as { prevent_destroy?: boolean } | undefined)?.prevent_destroy).map(([name]) => `${type}.${name}`));
    expect(stillProtected.sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^ibm_kms_key\.KeyProtect_RootKey_/), expect.stringMatching(/^ibm_resource_instance\.KeyProtect_/)]));
    expect(stillProtected.every((a) => a.includes('KeyProtect_'))).toBe(true);
    expect(Object.values(lifted.resource['ibm_database']!)[0]!['deletion_protection']).toBe(false);
    for (const s of OTHER_STACKS) {
      expect(treeHashes(join(outDir, 'stacks', s)), s).toEqual(others[s]);
      expect(readFileSync(join(outDir, 'stacks', s, 'cdk.tf.json'), 'utf8')).toMatch(/"prevent_destroy": true/);
    }
    expect(readFileSync(join(outDir, 'manifest.json'), 'utf8')).toBe(manifestBefore);
    expect(readFileSync(project.configFile, 'utf8')).toBe(configBefore);

    // the backup: named after the stack and the time, private, and it verifies with the passphrase
    const files = kfvFiles(backupDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${STACK}-\\d{8}T\\d{6}Z\\.kfv$`));
    expect(files[0]! >= backupFileName(STACK, new Date(started - 1000))).toBe(true);
    const verified = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [KMIPCTL, '--json', 'backup', 'verify', '--in', join(backupDir, files[0]!), '--passphrase-file', project.passphraseFile], (err, stdout) =>
        resolve({ code: err ? 1 : 0, stdout }),
      ),
    );
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, tenants: 1, certificates: 1 });
    expect(r.stdout).toMatch(`Keep ${join(backupDir, files[0]!)} and its passphrase`);
  });

  it('with cdktf-cli it destroys through `cdktf destroy <stack>` on the prepared folder (no re-synth), terraform for the apply', async () => {
    const outDir = project.freshOutDir();
    project.log.clear();
    const r = await teardown(args(outDir, project.freshBackupDir(), { [ZONES[0]]: url(nodeA), [ZONES[1]]: url(nodeB) }, '--confirm', STACK, '--cdktf', project.cdktf), project.env(outDir));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(named(project.log.lines()).slice(-6)).toEqual(['terraform init [unprotected]', 'terraform apply [unprotected]', 'terraform state list [unprotected]', 'terraform output [unprotected]', 'terraform output [unprotected]', 'cdktf destroy [unprotected]']);
    expect(project.log.lines().at(-1)).toBe(`cdktf ${cdktfDestroyArgs(STACK, outDir).join(' ')} [unprotected] TERRAFORM_BINARY_NAME=${project.terraform}`);
    // cdktf-cli deletes stack folders its manifest does not list: every one is listed
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as { stacks: Record<string, unknown> };
    expect(Object.keys(manifest.stacks).sort()).toEqual([STACK, ...OTHER_STACKS].sort());
  });

  it('passes the vCenter flags through to the preflight, in order, only when given', () => {
    const parsed = parseTeardownArgs(
      [STACK, '--confirm', STACK, '--provider', 'kp-1', '--vcenter', 'https://vc.example', '--vcenter-user', 'admin@vsphere.local', '--vcenter-password-file', '/run/vc-pass', '--vcenter-ca', '/run/vmca.pem'],
      { KMIPCTL_BACKUP_PASSPHRASE: 'x'.repeat(16) },
    );
    if (parsed === 'help') throw new Error('unexpected help');
    const conn = { url: 'https://10.240.0.4:9696', certFile: 'c.pem', keyFile: 'k.pem', serverCaFile: 'ca.pem' };
    expect(preflightArgs(conn, parsed.preflightExtra)).toEqual([
      '--admin-url', 'https://10.240.0.4:9696', '--client-cert', 'c.pem', '--client-key', 'k.pem', '--server-ca', 'ca.pem', '--json', 'preflight-destroy',
      '--vcenter', 'https://vc.example', '--vcenter-user', 'admin@vsphere.local', '--vcenter-password-file', '/run/vc-pass', '--vcenter-ca', '/run/vmca.pem', '--provider', 'kp-1',
    ]);
    const plain = parseTeardownArgs([STACK, '--dry-run'], { KMIPCTL_BACKUP_PASSPHRASE: 'x'.repeat(16) });
    expect(plain !== 'help' && plain.preflightExtra).toEqual([]);
  });
});
