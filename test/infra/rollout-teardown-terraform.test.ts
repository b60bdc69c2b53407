/**
 * The two flows that change a running region, end to end through the real terraform CLI against the fake
 * providers: `npm run roll` (a new server bundle reaches the nodes one zone at a time, each ready before the
 * next) and `npm run teardown` (every step, the root key kept out of the destroy). The nodes' admin ports are
 * KMIP servers on 127.0.0.1 presenting certificates from the stack's CA, as in test/infra/teardown.test.ts.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdktf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRoll } from '../../scripts/roll/run.js';
import { waitUntilReady } from '../../scripts/roll/ready.js';
import { runTeardown } from '../../scripts/teardown/run.js';
import { loadStacksConfig } from '../../stacks/config.js';
import { buildStacks } from '../../stacks/kmip-stack.js';
import { pkiPaths } from '../../stacks/pki.js';
import { issueStackPki } from '../../scripts/pki.js';
import { planSubnets } from '../../modules/network/plan-subnets.js';
import { readReleases } from '../../stacks/releases.js';
import { assertBuilt } from '../support/process.js';
import { ROOT } from '../support/cdktf-fixtures.js';
import { STACK, ZONES, createTeardownProject, type TeardownProject } from '../support/teardown-fixture.js';
import { installFakeProviders, planChanges, planIsEmpty, readOperationLog, stateResources, terraformAvailable, terraformOk, type FakeProviderInstall, type OpRecord } from '../support/terraform/harness.js';
import type { TestServer } from '../support/server.js';
import { readCloudFile } from '../support/terraform/provider/store.js';
import { which } from '../../scripts/teardown/exec.js';

const skip = terraformAvailable();

interface Io {
  readonly out: string[];
  readonly err: string[];
  readonly io: { out(l: string): void; err(l: string): void };
}
const capture = (): Io => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => void out.push(l), err: (l) => void err.push(l) } };
};

describe.skipIf(skip)('roll and teardown through real terraform', () => {
  let project: TeardownProject;
  let install: FakeProviderInstall;
  let terraformBinary: string;
  let nodes: TestServer[];

  beforeAll(async () => {
    assertBuilt();
    install = await installFakeProviders();
    terraformBinary = which('terraform', process.env['PATH'])!;
    project = createTeardownProject();
    nodes = await Promise.all([project.startNode(), project.startNode()]);
  });
  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.close()));
    if (project) rmSync(project.root, { recursive: true, force: true });
  });

  /** A deployed copy of the project's stacks (as a synth renders them now): its own out dir, fake cloud and operation log. */
  async function deployed(tag: string) {
    const outDir = project.freshOutDir();
    synth(outDir);
    const dir = join(outDir, 'stacks', STACK);
    const env = { ...install.env, FAKE_TF_CLOUD_FILE: join(project.root, `cloud-${tag}.json`), FAKE_TF_LOG: join(project.root, `ops-${tag}.jsonl`) };
    await terraformOk(dir, ['init', '-input=false'], { env });
    await terraformOk(dir, ['apply', '-input=false', '-auto-approve'], { env });
    return { outDir, dir, env, ops: () => readOperationLog(env.FAKE_TF_LOG) };
  }
  const synth = (outDir: string) => {
    const app = new App({ outdir: outDir });
    buildStacks(app, loadStacksConfig(project.configFile), { only: [STACK] });
    app.synth();
  };
  /** `npm run teardown` of STACK against the local nodes, through the real terraform. */
  const teardownArgv = (outDir: string, backupDir: string) => [
    STACK, '--confirm', STACK, '--config', project.configFile, '--out-dir', outDir, '--backup-dir', backupDir, '--passphrase-file', project.passphraseFile,
    '--terraform', terraformBinary, '--endpoints-file', project.endpointsFile(Object.fromEntries(ZONES.map((z, i) => [z, `https://127.0.0.1:${nodes[i]!.adminPort}`]))),
  ];
  const instanceOps = (ops: OpRecord[]) => ops.filter((o) => o.type === 'ibm_is_instance' && (o.op === 'create' || o.op === 'delete'));
  const bundle = () => join(project.root, 'kmip-server.mjs');

  it('a new bundle: a plain deploy uploads it and replaces no node; the roll replaces one zone at a time, each ready before the next', async () => {
    const d = await deployed('roll');
    writeFileSync(bundle(), '// server bundle, version 2\n');
    synth(d.outDir);
    const plan = await planChanges(d.dir, { env: d.env });
    // the deploy alone changes no node: it only uploads what the roll needs (the old release stays in the bucket)
    expect(plan.changed.filter((c) => c.type === 'ibm_is_instance')).toEqual([]);
    expect(plan.changed.filter((c) => c.type === 'ibm_cos_bucket_object').map((c) => c.actions.join())).toEqual(['create']);
    await terraformOk(d.dir, ['apply', '-input=false', '-auto-approve'], { env: d.env });
    const before = d.ops().length;

    const ready: { zone: string; start: number; end: number }[] = [];
    const urls = Object.fromEntries(ZONES.map((z, i) => [z, `https://127.0.0.1:${nodes[i]!.adminPort}`]));
    const io = capture();
    const code = await runRoll(
      [STACK, '--config', project.configFile, '--out-dir', d.outDir, '--terraform', terraformBinary, ...ZONES.flatMap((z) => ['--admin-url', `${z}=${urls[z]}`])],
      { ...process.env, ...d.env },
      io.io,
      {
        // the real readiness probe against the node's admin port (stack CA), timed
        waitReady: async (url, ca, timeoutMs) => {
          const zone = ZONES.find((z) => urls[z] === url)!;
          const start = performance.timeOrigin + performance.now();
          await waitUntilReady(url, ca, timeoutMs);
          ready.push({ zone, start, end: performance.timeOrigin + performance.now() });
        },
      },
    );
    expect(code, [...io.out, ...io.err].join('\n')).toBe(0);
    expect(ready.map((r) => r.zone)).toEqual([...ZONES]);
    const rolled = instanceOps(d.ops().slice(before));
    expect(rolled.map((o) => `${o.op} ${o.name}`)).toEqual([`delete ${STACK}-${ZONES[0]}`, `create ${STACK}-${ZONES[0]}`, `delete ${STACK}-${ZONES[1]}`, `create ${STACK}-${ZONES[1]}`]);
    // zone 2 went down only after zone 1 was back and ready
    expect(rolled[2]!.start ?? rolled[2]!.time).toBeGreaterThan(ready[0]!.end);
    expect(ready[0]!.start).toBeGreaterThan(rolled[1]!.time);
    expect(io.out.join('\n')).toMatch(/roll of kmip-t-us-south done: 2 zone\(s\) moved, one at a time/);
    expect((await planIsEmpty(d.dir, { env: d.env })).empty).toBe(true);
    expect(Object.values(readReleases(pkiPaths(project.pkiDir, STACK).dir)).every((z) => z.release.assets['server-bundle']!.name === 'kmip-server.mjs')).toBe(true);
    // nothing left to roll
    const again = capture();
    expect(await runRoll([STACK, '--config', project.configFile, '--out-dir', d.outDir, '--terraform', terraformBinary], { ...process.env, ...d.env }, again.io)).toBe(0);
    expect(again.out.join('\n')).toMatch(/every zone runs the current release: nothing to do/);

    // a new certificate for one node (npm run pki re-issues what is missing): a deploy changes no node, a roll only that one
    const pki = pkiPaths(project.pkiDir, STACK);
    rmSync(pki.nodeCert(ZONES[1]));
    rmSync(pki.nodeKey(ZONES[1]));
    const plan2 = planSubnets({ region: 'us-south', zones: [1, 2] });
    issueStackPki({ pkiDir: project.pkiDir, stack: STACK, nodes: plan2.zoneNames.map((z) => ({ zone: z, ip: plan2.zones[z]!.nodeIp })) });
    synth(d.outDir);
    expect((await planChanges(d.dir, { env: d.env })).changed.filter((c) => c.type === 'ibm_is_instance')).toEqual([]);
    const beforeCert = d.ops().length;
    const certRoll = capture();
    expect(await runRoll([STACK, '--config', project.configFile, '--out-dir', d.outDir, '--terraform', terraformBinary, ...ZONES.flatMap((z) => ['--admin-url', `${z}=${urls[z]}`])], { ...process.env, ...d.env }, certRoll.io)).toBe(0);
    expect(instanceOps(d.ops().slice(beforeCert)).map((o) => `${o.op} ${o.name}`)).toEqual([`delete ${STACK}-${ZONES[1]}`, `create ${STACK}-${ZONES[1]}`]);
    // --all: every zone again (after a change outside the release, such as new database credentials)
    const all = capture();
    expect(await runRoll([STACK, '--config', project.configFile, '--out-dir', d.outDir, '--all', '--dry-run'], { ...process.env, ...d.env }, all.io)).toBe(0);
    expect(all.out.join('\n')).toMatch(new RegExp(`dry run: would move ${ZONES.join(', ')}, one at a time`));
  }, 400_000);

  it('a node that does not become ready stops the roll (exit 1) with the other zones untouched', async () => {
    const d = await deployed('stuck');
    writeFileSync(bundle(), '// server bundle, version 3\n');
    const before = d.ops().length;
    const io = capture();
    const code = await runRoll([STACK, '--config', project.configFile, '--out-dir', d.outDir, '--terraform', terraformBinary, '--ready-timeout', '1'], { ...process.env, ...d.env }, io.io, {
      waitReady: async () => {
        throw new Error('answered 503');
      },
    });
    expect(code).toBe(1);
    expect(io.err.join('\n')).toMatch(new RegExp(`STOPPED at ${ZONES[0]}: ${ZONES[0]} runs release \\w+ but is not ready: answered 503`));
    expect(instanceOps(d.ops().slice(before)).map((o) => `${o.op} ${o.name}`)).toEqual([`delete ${STACK}-${ZONES[0]}`, `create ${STACK}-${ZONES[0]}`]);
    const releases = readReleases(pkiPaths(project.pkiDir, STACK).dir);
    expect(releases[ZONES[0]]!.id).not.toBe(releases[ZONES[1]]!.id);
  }, 300_000);

  const teardownCase = (tag: string, extra: () => string[]) => async () => {
    const d = await deployed(tag);
    const cloudBefore = readCloudFile(d.env.FAKE_TF_CLOUD_FILE);
    const rootKey = Object.values(cloudBefore.objects).find((o) => o.type === 'ibm_kms_key')!;
    const backupDir = project.freshBackupDir();
    const io = capture();
    const code = await runTeardown(
      [...teardownArgv(d.outDir, backupDir), ...extra()],
      { ...project.env(d.outDir), ...d.env },
      io.io,
    );
    expect(code, [...io.out, ...io.err].join('\n')).toBe(0);
    expect(io.out.filter((l) => /^\[\d\/8\]/.test(l)).map((l) => l.slice(0, 5))).toEqual(['[1/8]', '[2/8]', '[3/8]', '[4/8]', '[5/8]', '[6/8]', '[7/8]', '[8/8]']);
    // nothing is left in the state; the cloud keeps only Key Protect (instance and root key)
    expect(await stateResources(d.dir, { env: d.env })).toEqual([]);
    const left = Object.values(readCloudFile(d.env.FAKE_TF_CLOUD_FILE).objects).map((o) => o.type);
    expect(left.filter((t) => !t.startsWith('ibm_is_vpc_default') && t !== 'ibm_is_security_group_default' && t !== 'ibm_is_network_acl_default').sort()).toEqual(['ibm_kms_key', 'ibm_resource_instance']);
    const deleted = d.ops().filter((o) => o.op === 'delete').map((o) => o.type);
    expect(deleted).toContain('ibm_database');
    expect(deleted).toContain('ibm_is_instance');
    expect(deleted).not.toContain('ibm_kms_key');
    // the record beside the backup says which key to delete, once no backup needs it
    const record = JSON.parse(readFileSync(join(backupDir, `${STACK}-retained-root-key.json`), 'utf8')) as { rootKeyId: string; addresses: string[]; backup: string };
    expect(record.rootKeyId).toBe(rootKey.value['key_id']);
    expect(record.addresses.some((a) => a.startsWith('ibm_kms_key.'))).toBe(true);
    expect(existsSync(record.backup)).toBe(true);
    expect(io.out.join('\n')).toMatch(/The root key and its Key Protect instance were kept/);
  };

  it('a destroy that fails after the root key left the state: the teardown says not to deploy, and a second run finishes without losing the record', async () => {
    const d = await deployed('teardown-fails');
    const backupDir = project.freshBackupDir();
    const argv = teardownArgv(d.outDir, backupDir);
    const first = capture();
    const failing = { ...project.env(d.outDir), ...d.env, FAKE_TF_FAIL: JSON.stringify({ type: 'ibm_database', op: 'delete', times: 1, message: 'the database is busy' }) };
    expect(await runTeardown(argv, failing, first.io)).toBe(1);
    const err = first.err.join('\n');
    expect(err).toMatch(/STOPPED at step \[8\/8\] destroy/);
    expect(err).toMatch(/do NOT deploy this stack before `terraform -chdir=\S+ state push -force` of the state saved before \(the record names it\)/);
    expect(err).not.toMatch(/run npm run synth/);
    const saved = (JSON.parse(readFileSync(join(backupDir, `${STACK}-retained-root-key.json`), 'utf8')) as { stateBeforeRetain: string }).stateBeforeRetain;
    expect(saved).toMatch(new RegExp(`${STACK}-state-before-retain-\\d{8}T\\d{6}Z\\.tfstate$`));
    expect(readFileSync(saved, 'utf8')).toMatch(/"type": "ibm_kms_key"/);
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    const record = readFileSync(join(backupDir, `${STACK}-retained-root-key.json`), 'utf8');
    const created0 = d.ops().filter((o) => o.op === 'create' && (o.type === 'ibm_kms_key' || o.type === 'ibm_resource_instance')).length;
    const again = capture();
    expect(await runTeardown(argv, { ...project.env(d.outDir), ...d.env }, again.io), [...again.out, ...again.err].join('\n')).toBe(0);
    expect(again.out.join('\n')).toMatch(/already applied by an earlier run/);
    expect(again.out.join('\n')).toMatch(/already out of the state/);
    // the second run created nothing: no second root key, no second Key Protect instance
    expect(d.ops().filter((o) => o.op === 'create' && (o.type === 'ibm_kms_key' || o.type === 'ibm_resource_instance')).length).toBe(created0);
    expect(readFileSync(join(backupDir, `${STACK}-retained-root-key.json`), 'utf8')).toBe(record);
    expect(await stateResources(d.dir, { env: d.env })).toEqual([]);
  }, 400_000);

  it('teardown: every step through terraform; everything is destroyed except Key Protect, which is taken out of the state and kept', teardownCase('teardown', () => []), 300_000);
  it('teardown with cdktf-cli for the destroy (what `npm run teardown` picks when cdktf is on PATH): the same', teardownCase('teardown-cdktf', () => ['--cdktf', join(ROOT, 'node_modules', '.bin', 'cdktf')]), 300_000);
});
