/**
 * What users actually run: `cdktf deploy`, `cdktf diff`, `cdktf output` and `cdktf destroy` from cdktf-cli 0.21.0
 * (a pinned devDependency), with cdktf.json as shipped, in a CI-style run (no TTY, --auto-approve, outputs read as
 * JSON), driving the real terraform against the fake providers. And the teardown destroying through cdktf.
 * The project folder is a scratch copy: cdktf.json, a config and PKI of its own, the sources linked in.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueStackPki } from '../../scripts/pki.js';
import { planSubnets } from '../../modules/network/plan-subnets.js';
import { BUNDLE_FILE, ROOT, exampleInput } from '../support/cdktf-fixtures.js';
import { installFakeProviders, readOperationLog, terraform, terraformAvailable, type FakeProviderInstall } from '../support/terraform/harness.js';

const skip = terraformAvailable();
const CDKTF = join(ROOT, 'node_modules', '.bin', 'cdktf');
const STACK = 'kmip-dev-us-east';

interface Run {
  readonly code: number;
  readonly out: string;
}

describe.skipIf(skip)('cdktf-cli 0.21.0 with cdktf.json as shipped, against the fake providers', () => {
  let dir: string;
  let install: FakeProviderInstall;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    install = await installFakeProviders();
    dir = mkdtempSync(join(tmpdir(), 'kmip-cdktf-project-'));
    for (const entry of ['stacks', 'modules', '.gen', 'node_modules', 'package.json', 'tsconfig.json', 'scripts', 'server', 'dist']) symlinkSync(join(ROOT, entry), join(dir, entry));
    copyFileSync(join(ROOT, 'cdktf.json'), join(dir, 'cdktf.json'));
    const input = exampleInput() as { environments: { name: string; regions: { region: string; zones?: number[] }[] }[] } & Record<string, unknown>;
    const config = { ...input, serverBundle: BUNDLE_FILE, pkiDir: join(dir, 'pki'), environments: input.environments.filter((e) => e.name === 'dev') };
    writeFileSync(join(dir, 'kmip.config.json'), JSON.stringify(config, null, 2));
    const plan = planSubnets({ region: 'us-east', zones: [1, 2] });
    issueStackPki({ pkiDir: join(dir, 'pki'), stack: STACK, nodes: plan.zoneNames.map((z) => ({ zone: z, ip: plan.zones[z]!.nodeIp })) });
    env = {
      PATH: process.env['PATH'],
      HOME: dir,
      ...install.env,
      FAKE_TF_CLOUD_FILE: join(dir, 'cloud.json'),
      FAKE_TF_LOG: join(dir, 'operations.jsonl'),
      CI: 'true',
      TF_VAR_root_key_material: Buffer.alloc(256, 7).toString('base64'),
      TF_VAR_root_key_encrypted_nonce: Buffer.alloc(28, 1).toString('base64'),
      TF_VAR_root_key_iv: Buffer.alloc(12, 2).toString('base64'),
    };
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** No TTY: stdin closed, output to pipes, as in a pipeline. */
  const cdktf = (...args: string[]) =>
    new Promise<Run>((resolve) =>
      execFile(CDKTF, args, { cwd: dir, env, timeout: 240_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') }),
      ).stdin?.end(),
    );

  it('deploy (--auto-approve), then diff says nothing changes, outputs come out as JSON, and destroy is refused by the protection', async () => {
    // --skip-provider-lock: providers come from a filesystem mirror here, and `terraform providers lock` (which
    // cdktf runs after init otherwise) would ask the public registry
    const deploy = await cdktf('deploy', STACK, '--auto-approve', '--skip-provider-lock');
    expect(deploy.code, deploy.out.slice(-3000)).toBe(0);
    expect(readOperationLog(join(dir, 'operations.jsonl')).filter((o) => o.op === 'create' && o.type === 'ibm_is_instance')).toHaveLength(2);

    const diff = await cdktf('diff', STACK, '--skip-provider-lock');
    expect(diff.code, diff.out.slice(-3000)).toBe(0);
    expect(diff.out).toMatch(/No changes\. Your infrastructure matches the configuration/);

    const outputsFile = join(dir, 'outputs.json');
    const output = await cdktf('output', STACK, '--skip-synth', '--outputs-file', outputsFile);
    expect(output.code, output.out.slice(-2000)).toBe(0);
    const outputs = (JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, unknown>>)[STACK]!;
    expect(outputs['kmip_endpoints']).toEqual(['10.201.0.4:5696', '10.201.64.4:5696']);
    expect(outputs['trusted_profile_id']).toMatch(/^Profile-/);
    expect(JSON.parse(String(outputs['vcenter_key_provider'])).servers).toHaveLength(2);

    const destroy = await cdktf('destroy', STACK, '--auto-approve', '--skip-provider-lock');
    expect(destroy.code).not.toBe(0);
    // What refused it, from terraform itself in the folder cdktf used (cdktf's own rendering of a long destroy plan
    // may drop its last lines when it is not on a terminal, so its text is not the evidence).
    const why = await terraform(join(dir, 'cdktf.out', 'stacks', STACK), ['plan', '-destroy', '-input=false'], { env: env as Record<string, string> });
    expect(why.code).toBe(1);
    expect(why.stderr.replace(/[│╷╵\s]+/g, ' ')).toMatch(/Error: Instance cannot be destroyed .*lifecycle\.prevent_destroy/);
    expect(readOperationLog(join(dir, 'operations.jsonl')).filter((o) => o.op === 'delete')).toEqual([]);
    expect(existsSync(join(dir, `terraform.${STACK}.tfstate`))).toBe(true);
  }, 600_000);
});
