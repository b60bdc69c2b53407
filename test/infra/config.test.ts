import { describe, expect, it } from 'vitest';
import { StacksConfigError, formatPath, loadStacksConfig, parseStacksConfig } from '../../stacks/config.js';
import { EXAMPLE_CONFIG_FILE, exampleInput } from '../support/cdktf-fixtures.js';

function problemsOf(input: unknown): string[] {
  try {
    parseStacksConfig(input, 'test.json');
  } catch (err) {
    if (err instanceof StacksConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('stacks config', () => {
  it('the example config is valid and gets safe defaults', () => {
    const cfg = loadStacksConfig(EXAMPLE_CONFIG_FILE);
    expect(cfg.environments.map((e) => e.name)).toEqual(['prod', 'dev']);
    const euDe = cfg.environments[0]!.regions[1]!;
    expect(euDe.identity).toEqual({ keyProtectRole: 'Reader', policyScope: 'key' });
    expect(euDe.ssh).toEqual({ keyIds: [], allowedCidrs: [] });
    // the image follows the operating system, not a point-release name IBM deprecates
    expect(euDe.instance.imageOs).toBe('debian-13-amd64');
    expect(euDe.instance.image).toBeUndefined();
    expect(euDe.database.encryptWithRootKey).toBe(true);
    expect(cfg.environments[1]!.destroyProtection).toBe(true);
    expect(cfg.backend).toEqual({ kind: 'local' });
  });

  it('destroy protection is on unless the config turns it off', () => {
    const input = exampleInput() as { environments: { destroyProtection?: boolean }[] };
    delete input.environments[0]!.destroyProtection;
    expect(parseStacksConfig(input).environments[0]!.destroyProtection).toBe(true);
  });

  it('reports every problem at once, each with its path', () => {
    // GIVEN a config with many independent mistakes
    const input = exampleInput() as any;
    input.environments[0].regions[0].zones = [1];
    input.environments[0].regions[0].kmipClientCidrs = ['0.0.0.0/0', '10.1.2.3/16'];
    input.environments[0].regions[0].keyProtect.rotationMonths = 13;
    input.environments[0].regions[0].identity.keyProtectRole = 'Administrator';
    input.environments[0].regions[1].keyProtect.instance.existingCrn = 'crn:v1:bluemix:public:kms:us-south:a/0123:6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a::';
    input.environments[1].regions[0].keyProtect.rotationMonths = 6;
    input.environments[1].regions[0].bogus = true;
    input.environments[1].name = 'Dev';
    // WHEN
    const problems = problemsOf(input);
    // THEN
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.zones: at least 2 zones/),
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.kmipClientCidrs\[0\]: 0\.0\.0\.0\/0 would open the port to every address/),
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.kmipClientCidrs\[1\]: 10\.1\.2\.3\/16 has host bits set/),
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.keyProtect\.rotationMonths: /),
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.identity\.keyProtectRole: /),
        expect.stringMatching(/^environments\[1\]\.regions\[0\]: Unrecognized key: "bogus"/i),
        expect.stringMatching(/^environments\[1\]\.name: 1-12 lower-case letters/),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(7);
  });

  it('cross-field rules name the field to fix', () => {
    const input = exampleInput() as any;
    const usSouth = input.environments[0].regions[0];
    usSouth.keyProtect.rootKey = { source: 'existing', id: '3f1c2b4a-5d6e-4f70-8192-a3b4c5d6e7f8' };
    usSouth.ssh = { allowedCidrs: ['10.9.0.0/24'] };
    usSouth.identity = { policyScope: 'key-ring' };
    delete usSouth.keyProtect.keyRing;
    usSouth.keyProtect.instance.allowedNetwork = 'private-only';
    const euDe = input.environments[0].regions[1];
    euDe.keyProtect.instance.existingCrn = 'crn:v1:bluemix:public:kms:us-south:a/0123:6c7a3b1e-0d5f-4c1e-9b8a-2f3e4d5c6b7a::';
    const dev = input.environments[1].regions[0];
    dev.keyProtect.rotationMonths = 6;
    dev.region = 'xx-nowhere';
    input.environments.push({ name: 'prod', regions: [{ ...euDe }] });
    const problems = problemsOf(input);
    const at = (path: string, re: RegExp) => expect(problems.some((p) => p.startsWith(`${path}: `) && re.test(p)), `${path} ${re}\n${problems.join('\n')}`).toBe(true);
    at('environments[0].regions[0].keyProtect.rootKey', /existing root key needs the existing instance/);
    at('environments[0].regions[0].ssh.keyIds', /no key is given/);
    at('environments[0].regions[0].identity.policyScope', /needs keyProtect.keyRing/);
    at('environments[0].regions[0].keyProtect.managementEndpoint', /private-only instance/);
    at('environments[0].regions[1].keyProtect.instance.existingCrn', /the stack is in "eu-de"/);
    at('environments[1].regions[0].keyProtect.rotationMonths', /rotates only keys it generated/);
    at('environments[1].regions[0].network', /no default address prefix is known for region xx-nowhere/);
    at('environments[2].name', /already defined at environments\[0\]/);
  });

  it('operator networks for the admin port: none by default, validated like every CIDR; adminCidrs says what replaced it', () => {
    const input = exampleInput() as any;
    expect(parseStacksConfig(input).environments[0]!.regions[1]!.operatorNetworks).toEqual([]);
    expect(parseStacksConfig(input).environments[0]!.regions[0]!.operatorNetworks).toEqual(['10.50.16.0/28']);
    input.environments[0].regions[0].operatorNetworks = ['0.0.0.0/0', '10.9.9.9/24'];
    input.environments[0].regions[1].adminCidrs = ['10.9.0.0/24'];
    const problems = problemsOf(input);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.operatorNetworks\[0\]: 0\.0\.0\.0\/0 would open the port to every address/),
        expect.stringMatching(/^environments\[0\]\.regions\[0\]\.operatorNetworks\[1\]: 10\.9\.9\.9\/24 has host bits set/),
        'environments[0].regions[1].adminCidrs: renamed to operatorNetworks: list only the operator networks; the node subnets now always reach the admin port (HTTPS health checks)',
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it('context-based restrictions: report by default; enforcing needs the deployer networks', () => {
    const input = exampleInput() as any;
    expect(parseStacksConfig(input).environments[1]!.regions[0]!.contextRestrictions).toEqual({ enforcement: 'report', deployerNetworks: [] });
    input.environments[1].regions[0].contextRestrictions = { enforcement: 'enabled' };
    expect(problemsOf(input)).toEqual([expect.stringMatching(/^environments\[1\]\.regions\[0\]\.contextRestrictions\.deployerNetworks: enforcing context-based restrictions needs the networks Terraform runs from/)]);
  });

  it('address prefixes: a stack overlapping another stack of the config, or the vCenter and operator networks, is refused with the fix', () => {
    const input = exampleInput() as any;
    // a second environment in us-south gets the same default prefixes as prod's
    input.environments[1].regions[0].region = 'us-south';
    input.environments[0].regions[1].kmipClientCidrs = ['10.203.0.0/24'];
    const problems = problemsOf(input);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^environments\[1\]\.regions\[0\]\.network\.zonePrefixes: us-south-1 10\.200\.0\.0\/18 overlaps kmip-prod-us-south us-south-1 10\.200\.0\.0\/18: VPCs joined by a Transit Gateway must not overlap/),
        expect.stringMatching(/^environments\[0\]\.regions\[1\]\.kmipClientCidrs: 10\.203\.0\.0\/24 overlaps the VPC's address prefix 10\.203\.0\.0\/18 of eu-de-1/),
      ]),
    );
    input.environments[1].regions[0].network = { zonePrefixes: { 'us-south-1': '172.20.0.0/20', 'us-south-2': '172.20.16.0/20' } };
    input.environments[0].regions[1].kmipClientCidrs = ['10.60.0.0/24'];
    expect(problemsOf(input)).toEqual([]);
  });

  it('file errors are reported as config errors', () => {
    expect(() => loadStacksConfig('/nonexistent/kmip.config.json')).toThrow(StacksConfigError);
    expect(() => loadStacksConfig('/nonexistent/kmip.config.json')).toThrow(/cannot read/);
  });

  it('formats paths with array indexes', () => {
    expect(formatPath(['environments', 0, 'regions', 12, 'zones'])).toBe('environments[0].regions[12].zones');
    expect(formatPath([])).toBe('(root)');
  });
});
