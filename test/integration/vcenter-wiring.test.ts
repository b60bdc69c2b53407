/**
 * kmipctl vcenter config / register / usage and preflight-destroy's vCenter check, end to end: the
 * real kmipctl process, the real KMIP server, and the fake vCenter over HTTPS on 127.0.0.1 (VI/JSON on
 * a fake 8.0.2, SOAP on a fake 7.0.3). After register, a KMIP client holding the certificate and key
 * vCenter got reaches exactly its tenant's keys. The vCenter password never reaches kmipctl's output.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { startVcenterRig, type VcenterRig } from '../support/fake-vcenter-harness.js';
import { FakeVcenter } from '../support/fake-vcenter.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { kmipctl, type CliResult } from '../support/kmipctl.js';
import { assertBuilt } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';

const createAes = { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } };

describe('kmipctl vcenter', () => {
  let rig: VcenterRig;
  let json: FakeVcenter; // 8.0.2: VI/JSON
  let soap: FakeVcenter; // 7.0.3: SOAP only
  let dir: string;
  const outputs: CliResult[] = [];

  /** kmipctl against the rig's server; every output is kept for the password check at the end. */
  const run = async (...args: string[]) => {
    const r = await kmipctl(rig.kmip, ...args);
    outputs.push(r);
    return r;
  };
  const vc = (fake: FakeVcenter, ...more: string[]) => ['--vcenter', fake.url, '--vcenter-user', fake.user, '--vcenter-password-file', passwordFile(fake), '--vcenter-ca', fake.caFile, ...more];
  const servers = () => ['--endpoints', `127.0.0.1:${rig.kmip.port}`, '--kmip-ca', rig.caCertFile];
  const signing = () => ['--sign-ca-cert', rig.caCertFile, '--sign-ca-key', rig.caKeyFile];
  const passwordFile = (fake: FakeVcenter) => {
    const file = join(dir, `password-${fake.version}`);
    writeFileSync(file, `${fake.password}\n`, { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'vcenter-wiring-'));
    [rig, json, soap] = await Promise.all([startVcenterRig(), FakeVcenter.start({ version: '8.0.2' }), FakeVcenter.start({ version: '7.0.3' })]);
  });
  afterAll(async () => {
    await Promise.all([json?.close(), soap?.close()]);
    await rig?.close();
  });

  describe('config (offline)', () => {
    it('prints the provider, every server and the CA as vSphere Client steps, PowerCLI and govc', async () => {
      const r = await run('vcenter', 'config', '--endpoints', '10.240.0.4:5696,10.240.64.4', '--kmip-ca', rig.caCertFile, '--provider', 'kmip-prod-us-south', '--tenant', 'vc-prod');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Key provider kmip-prod-us-south: 2 KMIP server(s)');
      expect(r.stdout).toContain(rig.kmip.pki.ca.certificatePem.trim());
      expect(r.stdout).toMatch(/== vSphere Client ==[\s\S]*Add Standard Key Provider[\s\S]*== PowerCLI ==[\s\S]*Add-KeyManagementServer -KeyProvider 'kmip-prod-us-south' -Name 'kmip-prod-us-south-2' -Address '10.240.64.4' -Port 5696[\s\S]*== govc ==/);
      expect(r.stdout).toContain('govc kms.add -n kmip-prod-us-south-1 -a 10.240.0.4 -p 5696 kmip-prod-us-south');
      expect(r.stdout).toContain('kmipctl cert add --tenant vc-prod');
    });

    it('--json is one document; --stack reads the synthesized outputs', async () => {
      const out = join(dir, 'cdktf.out');
      mkdirSync(join(out, 'stacks', 'kmip-dev-eu-de'), { recursive: true });
      writeFileSync(
        join(out, 'stacks', 'kmip-dev-eu-de', 'cdk.tf.json'),
        JSON.stringify({ output: { kmip_endpoints: { value: ['10.243.0.4:5696', '10.243.64.4:5696', '10.243.128.4:5696'] }, kmip_server_ca_pem: { value: rig.kmip.pki.ca.certificatePem } } }),
      );
      const r = await run('--json', 'vcenter', 'config', '--stack', 'kmip-dev-eu-de', '--cdktf-out', out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(r.json).toMatchObject({ keyProvider: 'kmip-dev-eu-de', serverCaPem: rig.kmip.pki.ca.certificatePem.trim() + '\n', tenant: 'TENANT' });
      expect(r.json.servers.map((s: { address: string }) => s.address)).toEqual(['10.243.0.4', '10.243.64.4', '10.243.128.4']);
      expect(r.json.govc).toContain('govc kms.trust -server-cert "$(cat ca-cert.pem)" kmip-dev-eu-de');
    });

    it('prints the CA with LF line endings even from a CRLF file, so govc kms.trust can parse it (issue 18 item 12)', async () => {
      const crlf = join(dir, 'ca-crlf.pem');
      writeFileSync(crlf, rig.kmip.pki.ca.certificatePem.replace(/\r?\n/g, '\r\n'));
      const r = await run('vcenter', 'config', '--endpoints', '10.240.0.4:5696', '--kmip-ca', crlf, '--provider', 'kp-lf');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('-----BEGIN CERTIFICATE-----\n');
      expect(r.stdout).not.toContain('\r');
      const j = await run('--json', 'vcenter', 'config', '--endpoints', '10.240.0.4:5696', '--kmip-ca', crlf, '--provider', 'kp-lf');
      expect(j.code, j.stderr).toBe(0);
      expect(j.json.serverCaPem).not.toContain('\r');
      expect(j.json.serverCaPem).toBe(rig.kmip.pki.ca.certificatePem.replace(/\r\n/g, '\n').trim() + '\n');
    });

    it('usage errors exit 2', async () => {
      expect((await run('vcenter', 'config', '--endpoints', '10.0.0.1', '--provider', 'kp')).code).toBe(2);
      expect((await run('vcenter', 'config', '--stack', 'nope', '--cdktf-out', dir)).code).toBe(2);
      expect((await run('vcenter', 'config', '--endpoints', '10.0.0.1:70000', '--kmip-ca', rig.caCertFile, '--provider', 'kp')).code).toBe(2);
    });
  });

  describe('register (VI/JSON)', () => {
    let tenantCert: Awaited<ReturnType<TestServer['tenant']>>;
    let keyOwn = '';
    let keyOther = '';

    beforeAll(async () => {
      tenantCert = await rig.kmip.tenant('vc-prod');
      const other = await rig.kmip.tenant('vc-other');
      keyOwn = (await (await rig.kmip.connect(tenantCert.cert)).ok(Operation.Create, createAes))['uniqueIdentifier'] as string;
      keyOther = (await (await rig.kmip.connect(other.cert)).ok(Operation.Create, createAes))['uniqueIdentifier'] as string;
    });

    it('registers the servers and trust both ways; vCenter’s certificate then reaches exactly its tenant’s keys', async () => {
      const r = await run('--json', 'vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-prod', '--tenant', 'vc-prod', ...signing(), '--default');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.json.changed).toBe(true);
      expect(r.json.actions.map((a: { action: string }) => a.action)).toEqual(['register-server', 'trust-server-ca', 'generate-csr', 'install-client-cert', 'register-client-cert', 'mark-default']);
      expect(r.json.servers).toEqual([expect.objectContaining({ name: 'kp-prod-1', status: 'green', clientTrustServer: true, serverTrustClient: true })]);
      expect(r.json.vcenter).toMatch(/VI\/JSON 8\.0\.2\.0/);
      expect(json.activeSessions).toBe(0);

      // vCenter's identity (its key never left the fake) against the real server.
      const id = json.clientIdentity('kp-prod')!;
      const client = await TestKmipClient.connect(rig.kmip.port, { ca: rig.kmip.pki.ca.certificatePem, cert: id.certificatePem, key: id.privateKeyPem });
      try {
        expect((await client.ok(Operation.Get, { uniqueIdentifier: keyOwn }))['uniqueIdentifier']).toBe(keyOwn);
        const other = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: keyOther } }]);
        expect([other.items[0]!.resultStatus, other.items[0]!.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.ItemNotFound]);
        const made = (await client.ok(Operation.Create, createAes))['uniqueIdentifier'] as string;
        const list = await run('--json', 'keys', 'list', '--tenant', 'vc-prod');
        expect(list.json.keys.map((k: { id: string }) => k.id).sort()).toEqual([keyOwn, made].sort());
      } finally {
        await client.close();
      }
    });

    it('a second run changes nothing and says so', async () => {
      const from = json.calls.length;
      const certsBefore = (await run('--json', 'cert', 'list', '--tenant', 'vc-prod')).json.certificates.length;
      const r = await run('vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-prod', '--tenant', 'vc-prod', ...signing(), '--default');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^no changes: key provider kp-prod on .* is registered and trusted both ways/);
      expect(r.stdout).toMatch(/kp-prod-1 +127\.0\.0\.1:\d+ +green +yes +yes/);
      expect(json.mutatingCalls(from)).toEqual([]);
      expect((await run('--json', 'cert', 'list', '--tenant', 'vc-prod')).json.certificates).toHaveLength(certsBefore);
    });

    it('a permission fault midway exits 1 with the fault; the re-run completes', async () => {
      await rig.addTenant('vc-perm');
      json.failNext('UploadKmipServerCert', 'NoPermission', 'Permission to perform this operation was denied.');
      const failed = await run('vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-perm', '--tenant', 'vc-perm', ...signing());
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/UploadKmipServerCert: NoPermission: Permission to perform this operation was denied/);
      const from = json.calls.length;
      const again = await run('--json', 'vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-perm', '--tenant', 'vc-perm', ...signing());
      expect(again.code, again.stderr).toBe(0);
      expect(json.mutatingCalls(from)).toEqual(['UploadKmipServerCert', 'GenerateClientCsr', 'UpdateKmsSignedCsrClientCert']);
    });

    it('a name clash with a native key provider is refused (exit 3) and changes nothing', async () => {
      json.crypto.seed({ id: 'kp-nkp', managementType: 'nativeProvider' });
      const from = json.calls.length;
      const r = await run('vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-nkp', '--tenant', 'vc-prod', ...signing());
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/key provider named kp-nkp of type nativeProvider/);
      expect(json.mutatingCalls(from)).toEqual([]);
    });

    it('needs the tenant to exist, and the signing CA to match its key (exit 2)', async () => {
      const noTenant = await run('vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-x', '--tenant', 'nobody', ...signing());
      expect(noTenant.code).toBe(2);
      expect(noTenant.stderr).toMatch(/no tenant named nobody.*kmipctl tenant add nobody/);
      const badKey = await run('vcenter', 'register', ...vc(json), ...servers(), '--provider', 'kp-x', '--tenant', 'vc-prod', '--sign-ca-cert', rig.caCertFile, '--sign-ca-key', rig.kmip.pki.serverKeyFile);
      expect(badKey.code).toBe(2);
      expect(badKey.stderr).toMatch(/--sign-ca-key is not the key of --sign-ca-cert/);
    });
  });

  describe('register (SOAP, vCenter 7.0 Update 3)', () => {
    it('does the same over SOAP, and a second run changes nothing', async () => {
      await rig.addTenant('vc-seventy');
      const first = await run('--json', 'vcenter', 'register', ...vc(soap), ...servers(), '--provider', 'kp-70', '--tenant', 'vc-seventy', ...signing());
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.json.vcenter).toMatch(/7\.0\.3.*\(SOAP\)/);
      expect(first.json.servers[0]).toMatchObject({ status: 'green', clientTrustServer: true, serverTrustClient: true });
      // Auto-detection asked for hello (absent on 7.0) and then spoke SOAP only.
      expect(soap.calls.filter((c) => c.transport !== 'soap').map((c) => c.method)).toEqual(['hello']);
      const from = soap.calls.length;
      const second = await run('--json', 'vcenter', 'register', ...vc(soap), ...servers(), '--provider', 'kp-70', '--tenant', 'vc-seventy', ...signing());
      expect(second.code).toBe(0);
      expect(second.json.changed).toBe(false);
      expect(soap.mutatingCalls(from)).toEqual([]);
      expect(soap.activeSessions).toBe(0);
    });

    it('forcing VI/JSON on 7.0 says that 7.0 needs SOAP', async () => {
      const r = await run('vcenter', 'usage', ...vc(soap), '--provider', 'kp-70', '--vcenter-api', 'json');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not offer the VI\/JSON API .*--vcenter-api soap/);
    });
  });

  describe('usage', () => {
    it('lists the VMs, hosts and vSAN clusters that use the provider, paging through the inventory', async () => {
      json.inventory.seedVms(250, 'db', 'kp-prod');
      json.inventory.seedVms(20, 'web');
      json.inventory.hosts.push({ id: 'host-9', name: 'esx-09', key: { keyId: 'hk', providerId: 'kp-prod' } });
      json.inventory.clusters.push({ id: 'domain-c9', name: 'vsan-prod', vsan: { enabled: true, encryptionProvider: 'kp-prod' } });
      const pages = json.inventory.pagesServed;
      const r = await run('--json', 'vcenter', 'usage', ...vc(json), '--provider', 'kp-prod');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.counts).toEqual({ vms: 250, hosts: 1, clusters: 1, scanned: 272 });
      expect(r.json.isDefault).toBe(true);
      expect(r.json.inUse).toBe(true);
      expect(json.inventory.pagesServed - pages).toBe(3);
      const human = await run('vcenter', 'usage', ...vc(json), '--provider', 'kp-prod');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/in use: 250 VM\(s\) or template\(s\), 1 host\(s\), 1 cluster\(s\), default provider/);
      expect(human.stdout).toMatch(/vsan-cluster +vsan-prod +domain-c9/);
    });

    it('verifies vCenter’s certificate unless --insecure, which warns', async () => {
      const noCa = await run('vcenter', 'usage', '--vcenter', json.url, '--vcenter-user', json.user, '--vcenter-password-file', passwordFile(json), '--provider', 'kp-prod');
      expect(noCa.code).toBe(1);
      expect(noCa.stderr).toMatch(/did not verify.*--vcenter-ca FILE/);
      const insecure = await run('--json', 'vcenter', 'usage', '--vcenter', json.url, '--vcenter-user', json.user, '--vcenter-password-file', passwordFile(json), '--insecure', '--provider', 'kp-none');
      expect(insecure.code).toBe(0);
      expect(insecure.stderr).toMatch(/warning: --insecure/);
    });

    it('a provider vCenter does not list is reported as not registered, with the providers it does list (exit 0)', async () => {
      const r = await run('--json', 'vcenter', 'usage', ...vc(json), '--provider', 'kp-prdo');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ provider: 'kp-prdo', registered: false, inUse: false });
      expect(r.json.knownProviders).toEqual(expect.arrayContaining(['kp-prod', 'kp-perm']));
      const human = await run('vcenter', 'usage', ...vc(json), '--provider', 'kp-prdo');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/key provider kp-prdo on .*: NOT REGISTERED: vCenter has no key provider of that name \(check the name\); the key providers vCenter knows: .*kp-prod/);
      const known = await run('--json', 'vcenter', 'usage', ...vc(json), '--provider', 'kp-prod');
      expect(known.json.registered).toBe(true);
      expect(known.json.knownProviders).toBeUndefined();
    });

    it('a wrong password is refused without printing it', async () => {
      const file = join(dir, 'wrong-password');
      writeFileSync(file, 'Not-The-Right-Passw0rd\n');
      const r = await run('vcenter', 'usage', '--vcenter', json.url, '--vcenter-user', json.user, '--vcenter-password-file', file, '--vcenter-ca', json.caFile, '--provider', 'kp-prod');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/refused the login of administrator@vsphere.local/);
      expect(r.stdout + r.stderr).not.toContain('Not-The-Right-Passw0rd');
    });
  });

  describe('a wrong password that is a word of the message (issue 18 item 10)', () => {
    it.each(['json', 'soap'] as const)('prints the same refusal whatever the password, with no mask in it (%s)', async (which) => {
      const fake = which === 'json' ? json : soap;
      const seen = new Set<string>();
      for (const word of ['wrong', 'password', 'vCenter', 'login', 'user', 'refused']) {
        const file = join(dir, `word-password-${word}`);
        writeFileSync(file, `${word}\n`, { mode: 0o600 });
        const r = await run('vcenter', 'usage', '--vcenter', fake.url, '--vcenter-user', fake.user, '--vcenter-password-file', file, '--vcenter-ca', fake.caFile, '--provider', 'kp-prod');
        expect(r.code, word).toBe(1);
        expect(r.stderr, word).not.toContain('*');
        seen.add(r.stderr);
      }
      expect([...seen]).toHaveLength(1);
      expect([...seen][0]).toMatch(/vCenter refused the login of administrator@vsphere\.local \(wrong user name or password\)/);
    });
  });

  describe('preflight-destroy with vCenter', () => {
    let empty: TestServer;
    let fake: FakeVcenter;
    beforeAll(async () => {
      [empty, fake] = await Promise.all([startTestServer(), FakeVcenter.start({ version: '8.0.1' })]);
      fake.crypto.seed({ id: 'kp-teardown' });
    });
    afterAll(async () => {
      await fake?.close();
      await empty?.close();
    });
    const preflight = async (...args: string[]) => {
      const r = await kmipctl(empty, 'preflight-destroy', ...args);
      outputs.push(r);
      return r;
    };

    it('refuses (exit 3) while a VM uses the provider, naming it; passes once none does and no key is live', async () => {
      const [vm] = fake.inventory.seedVms(1, 'finance', 'kp-teardown');
      const refused = await preflight('--json', ...vc(fake, '--provider', 'kp-teardown'));
      expect(refused.code).toBe(3);
      expect(refused.json.safe).toBe(false);
      expect(refused.json.blockers).toEqual([]);
      expect(refused.json.vcenter.users).toEqual([{ id: vm!.id, name: 'finance-0001', kind: 'vm', detail: expect.stringMatching(/^key /), keyId: expect.any(String) }]);
      const human = await preflight(...vc(fake, '--provider', 'kp-teardown'));
      expect(human.code).toBe(3);
      expect(human.stdout).toMatch(/NOT safe to tear down: vCenter still uses key provider kp-teardown[\s\S]*vm +finance-0001/);

      fake.inventory.vms.splice(fake.inventory.vms.indexOf(vm!), 1);
      const safe = await preflight('--json', ...vc(fake, '--provider', 'kp-teardown'));
      expect(safe.code, safe.stdout + safe.stderr).toBe(0);
      expect(safe.json).toMatchObject({ safe: true, blockers: [], vcenter: { provider: 'kp-teardown', inUse: false, users: [] } });
      const safeHuman = await preflight(...vc(fake, '--provider', 'kp-teardown'));
      expect(safeHuman.code).toBe(0);
      expect(safeHuman.stdout).toMatch(/^safe to tear down: .*and vCenter does not use key provider kp-teardown\nvCenter: .*\nnot in use/);
      expect(fake.activeSessions).toBe(0);
    });

    it('refuses while the provider is vCenter’s default; without vCenter flags nothing changes', async () => {
      fake.crypto.providers.get('kp-teardown')!.useAsDefault = true;
      const r = await preflight('--json', ...vc(fake, '--provider', 'kp-teardown'));
      expect(r.code).toBe(3);
      expect(r.json.vcenter.isDefault).toBe(true);
      const calls = fake.calls.length;
      const plain = await preflight('--json');
      expect(plain.code).toBe(0);
      expect(plain.json.vcenter).toBeUndefined();
      expect(fake.calls.length).toBe(calls);
      expect((await preflight(...vc(fake))).code).toBe(2); // --provider missing
    });

    it('a provider name vCenter does not know is an error (exit 2) listing the ones it knows, never "safe" (issue 18 item 11)', async () => {
      const [vm] = fake.inventory.seedVms(1, 'payroll', 'kp-teardown');
      try {
        const calls = fake.calls.length;
        const human = await preflight(...vc(fake, '--provider', 'kp-tear-down'));
        expect(human.code, human.stdout + human.stderr).toBe(2);
        expect(human.stdout).not.toMatch(/safe to tear down/);
        expect(human.stderr).toMatch(/has no key provider named kp-tear-down.*check --provider; the key providers vCenter knows: kp-teardown/);
        const j = await preflight('--json', ...vc(fake, '--provider', 'kp-tear-down'));
        expect(j.code).toBe(2);
        expect(j.json).toMatchObject({ code: 'USAGE', cause: 'VC_ERR_INPUT', provider: 'kp-tear-down', knownProviders: ['kp-teardown'] });
        expect(j.json.safe).toBeUndefined();
        expect(fake.calls.length).toBeGreaterThan(calls);
        expect(fake.activeSessions).toBe(0);
      } finally {
        fake.inventory.vms.splice(fake.inventory.vms.indexOf(vm!), 1);
      }
    });

    it('a provider vCenter no longer lists but whose keys VMs still hold is in use (exit 3), not a typo', async () => {
      const [vm] = fake.inventory.seedVms(1, 'orphan', 'kp-unlisted');
      try {
        const r = await preflight('--json', ...vc(fake, '--provider', 'kp-unlisted'));
        expect(r.code, r.stdout + r.stderr).toBe(3);
        expect(r.json.safe).toBe(false);
        expect(r.json.vcenter).toMatchObject({ registered: false, inUse: true, knownProviders: ['kp-teardown'] });
        const human = await preflight(...vc(fake, '--provider', 'kp-unlisted'));
        expect(human.code).toBe(3);
        expect(human.stdout).toMatch(/NOT safe to tear down: vCenter still uses key provider kp-unlisted[\s\S]*NOT REGISTERED[\s\S]*vm +orphan-0001/);
      } finally {
        fake.inventory.vms.splice(fake.inventory.vms.indexOf(vm!), 1);
      }
    });
  });

  it('the vCenter password never appears in kmipctl’s output', () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const fake of [json, soap]) {
      for (const o of outputs) {
        expect(o.stdout).not.toContain(fake.password);
        expect(o.stderr).not.toContain(fake.password);
      }
    }
  });
});
