/**
 * Every stack of the example config under the real terraform CLI, against the fake ibm-cloud/ibm 1.89.0 and
 * hashicorp/time providers (test/support/terraform/): init, validate (no error, no warning), plan, apply, a
 * second plan with nothing to do, and a destroy that prevent_destroy refuses. Terraform reads what we synthesize;
 * the checks below are about what it did with it (the operation log of the fake cloud), not our reading of JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStacks, REQUIRED_TERRAFORM } from '../../stacks/kmip-stack.js';
import { exampleConfig } from '../support/cdktf-fixtures.js';
import { installFakeProviders, stateResources, terraformAvailable, workspace, type OpRecord, type Workspace } from '../support/terraform/harness.js';

const skip = terraformAvailable();

/** Secure-import values for the stack with an imported root key (the fake provider only checks their shape). */
const IMPORT_VARS = {
  TF_VAR_root_key_material: Buffer.alloc(256, 7).toString('base64'),
  TF_VAR_root_key_encrypted_nonce: Buffer.alloc(28, 1).toString('base64'),
  TF_VAR_root_key_iv: Buffer.alloc(12, 2).toString('base64'),
};

interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail: string;
  readonly address?: string;
}

const created = (ops: OpRecord[], type: string) => ops.filter((o) => o.op === 'create' && o.type === type);
const firstStart = (ops: OpRecord[]) => Math.min(...ops.map((o) => o.start ?? o.time));
const lastEnd = (ops: OpRecord[]) => Math.max(...ops.map((o) => o.time));

describe.skipIf(skip)('the example stacks under real terraform', () => {
  let outdir: string;
  let names: string[];
  const workspaces: Workspace[] = [];

  beforeAll(async () => {
    await installFakeProviders();
    outdir = mkdtempSync(join(tmpdir(), 'kmip-tf-synth-'));
    const app = new App({ outdir });
    names = buildStacks(app, exampleConfig()).map((s) => s.stackName);
    app.synth();
  });
  afterAll(() => {
    for (const ws of workspaces) ws.dispose();
    rmSync(outdir, { recursive: true, force: true });
  });

  const lifecycle = (name: string) => async () => {
    const ws = workspace(join(outdir, 'stacks', name), { env: IMPORT_VARS });
    workspaces.push(ws);
    // init reads every expression: `depends_on` must hold plain references, never "${…}" templates
    await ws.ok(['init', '-input=false']);
    const validate = await ws.run(['validate', '-json']);
    const diagnostics = (JSON.parse(validate.stdout) as { valid: boolean; diagnostics: Diagnostic[] }).diagnostics;
    expect(diagnostics.map((d) => `${d.severity}: ${d.summary} ${d.detail} ${d.address ?? ''}`)).toEqual([]);
    expect(validate.code).toBe(0);

    const plan = await ws.plan();
    expect(plan.changed.length).toBeGreaterThan(30);
    expect(plan.changed.filter((c) => c.mode === 'managed').every((c) => c.actions.join() === 'create')).toBe(true);
    await ws.ok(['apply', '-input=false', '-auto-approve']);
    // applied twice, nothing to do: the stack converges
    const again = await ws.planIsEmpty();
    expect(again.empty, again.run.stdout).toBe(true);

    const ops = ws.operations();
    // IAM propagation: a database or bucket encrypted with the root key is created only after its
    // service-to-service authorization has settled (a 30 s time_sleep between them)
    const state = await stateResources(ws.dir, { env: ws.env });
    const byAddress = new Map(state.map((r) => [r.address, r]));
    const config = JSON.parse(readFileSync(join(ws.dir, 'cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, { depends_on?: string[]; key_protect_key?: string; kms_key_crn?: string }>> };
    let settled = 0;
    for (const type of ['ibm_database', 'ibm_cos_bucket']) {
      for (const [name, body] of Object.entries(config.resource[type] ?? {})) {
        if (!body.key_protect_key && !body.kms_key_crn) continue;
        const sleepAddress = (body.depends_on ?? []).find((d) => d.startsWith('time_sleep.'));
        expect(sleepAddress, `${type}.${name} waits for its authorization`).toBeDefined();
        const sleep = created(ops, 'time_sleep').find((o) => o.id === byAddress.get(sleepAddress!)!.values['id']);
        expect(sleep?.durationMs).toBe(30_000);
        const target = created(ops, type).find((o) => o.id === byAddress.get(`${type}.${name}`)!.values['id']);
        // time_sleep runs in the time provider's process: compare positions in the shared, append-only log, not clocks
        expect(ops.indexOf(target!)).toBeGreaterThan(ops.indexOf(sleep!));
        expect(ops.indexOf(sleep!)).toBeGreaterThan(Math.min(...created(ops, 'ibm_iam_authorization_policy').map((a) => ops.indexOf(a))));
        settled++;
      }
    }
    expect(settled).toBe(name === 'kmip-dev-us-east' ? 1 : 2);
    // Ordering, per zone, from the operation log: the ibm provider is one process per command, so its records share
    // one clock; each dependent starts after what it depends on has completed.
    const named = (type: string, nameOf: string) => created(ops, type).find((o) => o.name === nameOf);
    const zones = [...new Set(created(ops, 'ibm_is_instance').map((o) => String(o.name).slice(name.length + 1)))];
    expect(zones.length).toBeGreaterThanOrEqual(2);
    for (const zone of zones) {
      const prefix = named('ibm_is_vpc_address_prefix', `${name}-${zone}`)!;
      const subnet = named('ibm_is_subnet', `${name}-${zone}`)!;
      const reserved = named('ibm_is_subnet_reserved_ip', `${name}-${zone}-node`)!;
      const node = named('ibm_is_instance', `${name}-${zone}`)!;
      // a subnet lies in an address prefix that exists first; the node binds the address reserved before it
      expect(subnet.start!, zone).toBeGreaterThanOrEqual(prefix.time);
      expect(node.start!, zone).toBeGreaterThanOrEqual(reserved.time);
    }
    // a load balancer and endpoint gateways take automatic addresses: only after every node's is reserved
    for (const type of ['ibm_is_lb', 'ibm_is_virtual_endpoint_gateway']) {
      for (const o of created(ops, type)) expect(o.start!, type).toBeGreaterThanOrEqual(lastEnd(created(ops, 'ibm_is_subnet_reserved_ip')));
    }
    // nodes start once their identity may read Key Protect and the bucket, and the assets are uploaded
    expect(firstStart(created(ops, 'ibm_is_instance'))).toBeGreaterThanOrEqual(lastEnd([...created(ops, 'ibm_iam_trusted_profile_policy'), ...created(ops, 'ibm_cos_bucket_object')]));
    // no API key anywhere: the nodes run as a trusted profile
    expect(created(ops, 'ibm_iam_service_api_key')).toEqual([]);
    expect(created(ops, 'ibm_iam_trusted_profile')).toHaveLength(1);

    // the nodes boot the region's available stock image of the operating system, found at plan time
    // (two Debian 13 images available while a point release rolls out, an older one deprecated: the later release
    // wins, its numbers compared as numbers: 13-10 after 13-9)
    const images = state.find((r) => r.address === 'data.ibm_is_images.StockImages')!.values['images'] as { id: string; name: string; os: string; status: string }[];
    const debian = images.filter((i) => i.os === 'debian-13-amd64');
    expect(debian.map((i) => i.status).sort()).toEqual(['available', 'available', 'deprecated']);
    const newest = debian.find((i) => i.name === 'ibm-debian-13-10-minimal-amd64-1')!;
    for (const node of state.filter((r) => r.type === 'ibm_is_instance')) expect(node.values['image']).toBe(newest.id);
    // context-based restrictions on the instances the stack owns (an existing Key Protect instance is left alone)
    const rules = state.filter((r) => r.type === 'ibm_cbr_rule');
    expect(rules.map((r) => r.values['enforcement_mode'])).toEqual(rules.map(() => (name === 'kmip-prod-us-south' ? 'enabled' : 'report')));
    expect(rules).toHaveLength(name === 'kmip-prod-eu-de' ? 2 : 3);
    expect(state.filter((r) => r.type === 'ibm_is_virtual_endpoint_gateway')).toHaveLength(name === 'kmip-prod-eu-de' ? 3 : 0);

    // an operating system the region does not offer stops the plan with the fix
    const text = readFileSync(join(ws.dir, 'cdk.tf.json'), 'utf8');
    ws.writeConfig(text.replaceAll('debian-13-amd64', 'debian-99-amd64'));
    const noImage = await ws.run(['plan', '-input=false']);
    expect(noImage.code).toBe(1);
    expect(noImage.stderr.replace(/[│\s]+/g, ' ')).toMatch(/No public image for debian-99-amd64 in [a-z-]+: set instance\.imageOs to one the region offers, or pin instance\.image/);
    ws.writeConfig(text);

    // what keeps keys (root key, database) cannot be destroyed by a plain destroy
    const destroy = await ws.run(['destroy', '-input=false', '-auto-approve']);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toMatch(/Instance cannot be destroyed[\s\S]*lifecycle\.prevent_destroy/);
    expect(ws.operations().filter((o) => o.op === 'delete')).toEqual([]);
  };

  it('kmip-prod-us-south (new Key Protect, generated root key, three zones): init, validate, plan, apply, empty plan, protected destroy', lifecycle('kmip-prod-us-south'), 240_000);
  it('kmip-prod-eu-de (existing instance and key, load balancer): the same', lifecycle('kmip-prod-eu-de'), 240_000);
  it('kmip-dev-us-east (root key by secure import): the same', lifecycle('kmip-dev-us-east'), 240_000);

  it('the synthesized stacks ask for the Terraform version the docs name', () => {
    expect(names).toEqual(['kmip-prod-us-south', 'kmip-prod-eu-de', 'kmip-dev-us-east']);
    const doc = JSON.parse(readFileSync(join(outdir, 'stacks', names[0]!, 'cdk.tf.json'), 'utf8')) as { terraform: { required_version: string } };
    expect(doc.terraform.required_version).toBe(REQUIRED_TERRAFORM);
    expect(readFileSync(join(__dirname, '..', '..', 'docs', 'deploy.md'), 'utf8')).toContain(`Terraform ${REQUIRED_TERRAFORM.replace('>= ', '')} or later`);
  });
});
