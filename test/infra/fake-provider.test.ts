/**
 * The fake `ibm-cloud/ibm` 1.89.0 and `hashicorp/time` providers under the real terraform CLI:
 * lifecycle, plan-time rules with the attribute they are about, ForceNew replacement, drift,
 * injected failures, time_sleep ordering, and the schema served back unchanged. Small hand-written
 * configurations; the project's stacks are exercised elsewhere with the same harness.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaFiles } from '../support/terraform/provider/schema-files.js';
import { REPO_ROOT } from '../support/terraform/build.js';
import { installFakeProviders, outputs, terraformAvailable, workspace, type OpRecord, type Workspace } from '../support/terraform/harness.js';

const skip = terraformAvailable();
const files = schemaFiles(REPO_ROOT);

const IBM = { source: 'ibm-cloud/ibm', version: '1.89.0' };
const TIME = { source: 'hashicorp/time', version: '0.13.1' };

/** A CDKTF-shaped main.tf.json. */
function config(parts: { resource?: object; data?: object; output?: object; time?: boolean }): object {
  return {
    terraform: { required_providers: { ibm: IBM, ...(parts.time ? { time: TIME } : {}) }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { ibm: [{ region: 'eu-de', ibmcloud_api_key: 'not-a-real-key' }] },
    ...(parts.data ? { data: parts.data } : {}),
    resource: parts.resource ?? {},
    ...(parts.output ? { output: parts.output } : {}),
  };
}

const vpc = { name: 'kmip-test-vpc', resource_group: '${data.ibm_resource_group.group.id}' };
const sshRule = { group: '${ibm_is_vpc.vpc.default_security_group}', direction: 'inbound', remote: '10.0.0.0/8', protocol: 'tcp', port_min: 22, port_max: 22 };
const groupLookup = { ibm_resource_group: { group: { name: 'Default' } } };

const timing: Record<string, number> = {};

/** A diagnostic of `terraform validate -json`. */
interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail: string;
  readonly address?: string;
  readonly snippet?: { readonly code: string };
}
const opsOf = (ws: Workspace, op: OpRecord['op']) => ws.operations().filter((o) => o.op === op);

describe.skipIf(skip)('fake IBM Cloud provider under terraform', () => {
  const workspaces: Workspace[] = [];
  const fresh = (source: object, env?: Record<string, string>) => {
    const ws = workspace(source, env ? { env } : {});
    workspaces.push(ws);
    return ws;
  };

  beforeAll(async () => {
    const started = performance.now();
    await installFakeProviders();
    timing['install (cached after the first run)'] = Math.round(performance.now() - started);
  });
  afterAll(() => {
    for (const ws of workspaces) ws.dispose();
    console.info(`terraform with the fake providers, ms: ${JSON.stringify(timing)}`);
  });

  describe('one configuration through its whole life', () => {
    let ws: Workspace;
    beforeAll(() => {
      ws = fresh(
        config({
          time: true,
          data: { ...groupLookup, ibm_is_image: { debian: { name: 'ibm-debian-13-9-minimal-amd64-1' } }, ibm_is_images: { stock: { visibility: 'public', status: 'available' } } },
          resource: {
            ibm_is_vpc: { vpc },
            time_sleep: { settle: { create_duration: '90s', destroy_duration: '5s', depends_on: ['ibm_is_vpc.vpc'] } },
            ibm_is_security_group_rule: { ssh: { ...sshRule, depends_on: ['time_sleep.settle'] } },
            ibm_resource_instance: { kms: { name: 'kmip-test-kms', service: 'kms', plan: 'tiered-pricing', location: 'eu-de' } },
            ibm_kms_key: { root: { instance_id: '${ibm_resource_instance.kms.guid}', key_name: 'kmip-root', standard_key: false } },
          },
          output: {
            default_sg: { value: '${ibm_is_vpc.vpc.default_security_group}' },
            rule_group: { value: '${ibm_is_security_group_rule.ssh.group}' },
            image_os: { value: '${data.ibm_is_image.debian.os}' },
            debian_images: { value: '${[for i in data.ibm_is_images.stock.images : i.os if startswith(i.os, "debian-")]}' },
            key_crn: { value: '${ibm_kms_key.root.crn}' },
            instance_crn: { value: '${ibm_resource_instance.kms.crn}' },
          },
        }),
      );
    });

    it('init, validate, plan: every resource to add, computed attributes known after apply, SDK defaults filled', async () => {
      timing['init'] = (await ws.ok(['init', '-input=false'])).ms;
      timing['validate'] = (await ws.ok(['validate'])).ms;
      const started = performance.now();
      const { changed } = await ws.plan();
      timing['plan + show -json'] = Math.round(performance.now() - started);
      expect(changed.map((c) => `${c.address}:${c.actions.join('+')}`).sort()).toEqual([
        'ibm_is_security_group_rule.ssh:create',
        'ibm_is_vpc.vpc:create',
        'ibm_kms_key.root:create',
        'ibm_resource_instance.kms:create',
        'time_sleep.settle:create',
      ]);
      const planned = changed.find((c) => c.address === 'ibm_is_vpc.vpc');
      expect(planned?.afterUnknown).toMatchObject({ id: true, crn: true, default_security_group: true });
      // SDK defaults of the IBM provider, filled in by the plan as the real one does.
      expect(planned?.after).toMatchObject({ name: 'kmip-test-vpc', address_prefix_management: 'auto', classic_access: false, no_sg_acl_rules: false });
    });

    it('apply creates in dependency order with time_sleep between its dependency and its dependents; a second plan is empty', async () => {
      const apply = await ws.ok(['apply', '-auto-approve', '-input=false']);
      timing['apply'] = apply.ms;
      const creates = opsOf(ws, 'create');
      const at = (type: string) => creates.find((o) => o.type === type) as OpRecord;
      expect(creates.map((o) => o.type).sort()).toEqual(['ibm_is_security_group_rule', 'ibm_is_vpc', 'ibm_kms_key', 'ibm_resource_instance', 'time_sleep']);
      // Different provider processes: order by position in the shared append-only log (lines are written as each
      // operation completes), not by comparing two processes' clocks.
      const line = (type: string) => creates.indexOf(at(type));
      expect(line('ibm_is_vpc')).toBeLessThan(line('time_sleep'));
      expect(line('time_sleep')).toBeLessThan(line('ibm_is_security_group_rule'));
      expect(at('time_sleep')).toMatchObject({ provider: 'time', durationMs: 90_000 });
      expect(at('ibm_is_vpc')).toMatchObject({ provider: 'ibm', name: 'kmip-test-vpc' });
      expect(at('ibm_is_vpc').id).toMatch(/^r006-[0-9a-f]{8}-/);

      const out = await outputs(ws.dir, { env: ws.env });
      expect(out['rule_group']).toBe(out['default_sg']);
      expect(out['image_os']).toBe('debian-13-amd64');
      expect(out['debian_images']).toEqual(['debian-13-amd64', 'debian-13-amd64', 'debian-12-amd64']);
      expect(out['instance_crn']).toMatch(/^crn:v1:bluemix:public:kms:eu-de:a\/[0-9a-f]{32}:[0-9a-f-]{36}::$/);
      expect(out['key_crn']).toMatch(new RegExp(`^crn:v1:bluemix:public:kms:eu-de:a/[0-9a-f]{32}:${String(out['instance_crn']).split(':')[7]}:key:[0-9a-f-]{36}$`));
      // The VPC's default security group exists in the fake cloud too.
      expect(Object.values(ws.cloud().objects).some((o) => o.type === 'ibm_is_security_group' && o.id === out['default_sg'])).toBe(true);

      const again = await ws.planIsEmpty();
      timing['plan (no changes)'] = again.run.ms;
      expect(again.empty, again.run.stdout).toBe(true);
    });

    it('a changed ForceNew attribute plans a replacement that names it; an ordinary change plans an update in place', async () => {
      ws.writeConfig(
        config({
          time: true,
          data: { ...groupLookup, ibm_is_image: { debian: { name: 'ibm-debian-13-9-minimal-amd64-1' } } },
          resource: {
            ibm_is_vpc: { vpc: { ...vpc, tags: ['env:test'] } },
            time_sleep: { settle: { create_duration: '90s', destroy_duration: '5s', depends_on: ['ibm_is_vpc.vpc'] } },
            ibm_is_security_group_rule: { ssh: { ...sshRule, protocol: 'udp', depends_on: ['time_sleep.settle'] } },
            ibm_resource_instance: { kms: { name: 'kmip-test-kms', service: 'kms', plan: 'tiered-pricing', location: 'eu-de' } },
            ibm_kms_key: { root: { instance_id: '${ibm_resource_instance.kms.guid}', key_name: 'kmip-root', standard_key: false } },
          },
        }),
      );
      const { changed } = await ws.plan();
      const byAddress = Object.fromEntries(changed.map((c) => [c.address, c]));
      expect(byAddress['ibm_is_security_group_rule.ssh']).toMatchObject({ replace: true, replacePaths: [['protocol']] });
      expect(byAddress['ibm_is_vpc.vpc']?.actions).toEqual(['update']);
      expect(opsOf(ws, 'plan-replace').at(-1)).toMatchObject({ type: 'ibm_is_security_group_rule', requiresReplace: ['protocol'] });

      await ws.ok(['apply', '-auto-approve', '-input=false']);
      const ruleOps = ws.operations().filter((o) => o.type === 'ibm_is_security_group_rule' && (o.op === 'create' || o.op === 'delete'));
      expect(ruleOps.map((o) => o.op)).toEqual(['create', 'delete', 'create']);
      expect((await ws.planIsEmpty()).empty).toBe(true);
    });

    it('an object deleted behind terraform’s back is planned again (drift), dependents replaced through their ForceNew reference', async () => {
      // As in the cloud, the VPC's default security group and ACL go with it.
      const vpcId = Object.values(ws.cloud().objects).find((o) => o.type === 'ibm_is_vpc')?.id;
      expect(ws.removeFromCloud((o) => o.id === vpcId || o.value['vpc'] === vpcId)).toBeGreaterThanOrEqual(2);
      const { changed } = await ws.plan();
      const actions = Object.fromEntries(changed.map((c) => [c.address, c.actions.join('+')]));
      expect(actions['ibm_is_vpc.vpc']).toBe('create');
      expect(actions['ibm_is_security_group_rule.ssh']).toMatch(/delete\+create|create\+delete/);
      expect(opsOf(ws, 'read').some((o) => o.type === 'ibm_is_vpc' && o.gone)).toBe(true);
      await ws.ok(['apply', '-auto-approve', '-input=false']);
      expect((await ws.planIsEmpty()).empty).toBe(true);
    });

    it('destroy deletes everything, time_sleep after its dependents and before its dependency, and empties the fake cloud', async () => {
      const destroy = await ws.ok(['destroy', '-auto-approve', '-input=false']);
      timing['destroy'] = destroy.ms;
      const deletes = ws.operations().filter((o) => o.op === 'delete');
      const last = (type: string) => deletes.filter((o) => o.type === type).at(-1) as OpRecord;
      expect(last('ibm_is_security_group_rule').time).toBeLessThan(last('time_sleep').start as number);
      expect(last('time_sleep')).toMatchObject({ durationMs: 5000 });
      expect(last('time_sleep').time).toBeLessThan(last('ibm_is_vpc').start as number);
      expect(Object.keys(ws.cloud().objects)).toEqual([]);
    });
  });

  it('plan-time rules are enforced with SDK semantics and point at the attribute they are about', async () => {
    const ws = fresh(
      config({
        time: true,
        resource: {
          time_sleep: { go_form: { create_duration: '1h30m' }, neither: { triggers: { a: 'b' } } },
          ibm_is_vpc: { vpc: { name: 'v', crn: 'crn:v1:set-by-hand', classic_access: false, tags: ['bad/tag'] } },
          // A literal group: terraform validates no further than a resource whose dependency failed.
          ibm_is_security_group_rule: {
            all: { group: 'r006-sg', direction: 'inbound', protocol: 'all' },
            clash: { group: 'r006-sg', direction: 'inbound', protocol: 'icmp', tcp: [{ port_min: 1, port_max: 2 }] },
            range: { group: 'r006-sg', direction: 'inbound', protocol: 'tcp', port_min: 0, port_max: 22 },
            legacy: { group: 'r006-sg', direction: 'inbound', tcp: [{ port_min: 22, port_max: 22 }] },
            fine: { group: 'r006-sg', direction: 'outbound', protocol: 'udp', port_min: 53, port_max: 53, remote: '10.0.0.0/8' },
          },
          ibm_kms_key_policies: { neither: { instance_id: 'x', rotation: [{ interval_month: 3 }] } },
        },
      }),
    );
    await ws.ok(['init', '-input=false']);
    const run = await ws.run(['validate', '-json']);
    expect(run.code).toBe(1);
    const { diagnostics } = JSON.parse(run.stdout) as { diagnostics: Diagnostic[] };
    const about = (address: string, text: string) => diagnostics.filter((d) => d.address === address && `${d.summary}\n${d.detail}`.includes(text));
    const line = (address: string, text: string) => about(address, text).map((d) => `${d.severity}: ${d.snippet?.code.split('\n')[0]?.trim()}`);

    // Allowed values; the diagnostic points at the attribute, so terraform shows its line.
    expect(line('ibm_is_security_group_rule.all', '"protocol" must contain a value from []string{"tcp", "udp", "icmp", "icmp_tcp_udp"}, got "all"')).toEqual(['error: "protocol": "all"']);
    expect(line('ibm_is_security_group_rule.range', 'expected port_min to be in the range (1 - 65535), got 0')).toEqual(['error: "port_min": 0,']);
    expect(line('ibm_is_vpc.vpc', 'Can\'t configure a value for "crn"')).toEqual(['error: "crn": "crn:v1:set-by-hand",']);
    expect(line('ibm_is_vpc.vpc', '"tags.0" ("bad/tag") should match regexp ^[A-Za-z0-9:_ .-]+$')).toEqual(['error: "bad/tag"']);
    expect(line('ibm_is_vpc.vpc', 'Classic access is deprecated')).toEqual(['warning: "classic_access": false,']);
    // Cross-field rules, with the SDK's wording.
    expect(about('ibm_is_security_group_rule.clash', '"protocol": conflicts with tcp')).toHaveLength(1);
    // Deprecated attributes warn, as the SDK does (and only once the conflicts are settled).
    expect(line('ibm_is_security_group_rule.legacy', 'tcp is deprecated')).toEqual(['warning: "tcp": [']);
    expect(about('ibm_is_security_group_rule.clash', 'tcp is deprecated')).toEqual([]);
    expect(about('ibm_kms_key_policies.neither', '"alias": one of `alias,key_id` must be specified')[0]?.summary).toBe('Invalid combination of arguments');
    // time_sleep: a single number and unit, and one of the two durations.
    expect(line('time_sleep.go_form', 'invalid value for create_duration (must be a number immediately followed by ms')).toEqual(['error: "create_duration": "1h30m"']);
    expect(about('time_sleep.neither', '"create_duration": one of `create_duration,destroy_duration` must be specified')).toHaveLength(1);
    // A valid resource gets nothing.
    expect(diagnostics.filter((d) => d.address === 'ibm_is_security_group_rule.fine')).toEqual([]);
  });

  it('core refuses what the provider never sees: a prevent_destroy instance, and depends_on with an interpolation', async () => {
    const guarded = fresh(config({ resource: { ibm_is_vpc: { vpc: { name: 'guarded', lifecycle: { prevent_destroy: true } } } } }));
    await guarded.ok(['init', '-input=false']);
    await guarded.ok(['apply', '-auto-approve', '-input=false']);
    const destroy = await guarded.run(['destroy', '-auto-approve', '-input=false']);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toContain('Instance cannot be destroyed');
    expect(guarded.operations().filter((o) => o.op === 'delete')).toEqual([]);

    const interpolated = fresh(config({ resource: { ibm_is_vpc: { a: { name: 'a' }, b: { name: 'b', depends_on: ['${ibm_is_vpc.a}'] } } } }));
    const init = await interpolated.run(['init', '-input=false']);
    expect(init.code).toBe(1);
    expect(init.stderr).toContain('A single static variable reference is required');
  });

  it('an injected failure fails the apply with its message, and the next apply succeeds', async () => {
    const fail = JSON.stringify({ type: 'ibm_is_vpc', op: 'create', times: 1, message: 'The quota of VPCs for this account is exhausted' });
    const ws = fresh(config({ resource: { ibm_is_vpc: { vpc: { name: 'quota' } } } }), { FAKE_TF_FAIL: fail });
    await ws.ok(['init', '-input=false']);
    const first = await ws.run(['apply', '-auto-approve', '-input=false']);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('The quota of VPCs for this account is exhausted');
    expect(Object.keys(ws.cloud().objects)).toEqual([]);
    await ws.ok(['apply', '-auto-approve', '-input=false']);
    expect(opsOf(ws, 'create').map((o) => o.failed ?? 'ok')).toEqual(['The quota of VPCs for this account is exhausted', 'ok']);
  });

  it('FAKE_TF_SEED makes the fake ids the same on every run', async () => {
    const source = config({ resource: { ibm_is_vpc: { vpc: { name: 'seeded' } }, ibm_iam_service_id: { id: { name: 'kmip-node' } } } });
    const ids = async () => {
      const ws = fresh(source, { FAKE_TF_SEED: 'fake-provider-test' });
      await ws.ok(['init', '-input=false']);
      await ws.ok(['apply', '-auto-approve', '-input=false']);
      return Object.keys(ws.cloud().objects).sort();
    };
    const first = await ids();
    expect(first).toContainEqual(expect.stringMatching(/^ibm_iam_service_id\/ServiceId-[0-9a-f-]{36}$/));
    expect(await ids()).toEqual(first);
  });

  it('`terraform providers schema -json` gives back exactly the pinned schemas', async () => {
    const ws = fresh(config({ time: true, resource: { time_sleep: { t: { create_duration: '1s' } } } }));
    await ws.ok(['init', '-input=false']);
    const run = await ws.ok(['providers', 'schema', '-json']);
    timing['providers schema -json'] = run.ms;
    const served = JSON.parse(run.stdout) as { provider_schemas: Record<string, unknown> };
    const pinned = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { provider_schemas: Record<string, unknown> }).provider_schemas;
    expect(served.provider_schemas['registry.terraform.io/ibm-cloud/ibm']).toEqual(pinned(files.ibmSchema)['registry.terraform.io/ibm-cloud/ibm']);
    expect(served.provider_schemas['registry.terraform.io/hashicorp/time']).toEqual(pinned(files.timeSchema)['registry.terraform.io/hashicorp/time']);
  });
});
