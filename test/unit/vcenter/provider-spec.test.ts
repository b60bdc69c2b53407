/**
 * Where the servers come from: --endpoints parsing (names, default port, IPv6, refusals) and the
 * synthesized stack's outputs (literal values only), and what `vcenter config` makes of them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { configDocument, configText } from '../../../server/vcenter/config-text.js';
import { VcenterError } from '../../../server/vcenter/errors.js';
import { endpointsSpec, parseEndpoints, readStackSpec } from '../../../server/vcenter/provider-spec.js';

const ca = issueCertificate({ commonName: 'stack CA', isCa: true });

function stackFixture(outputs: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
  mkdirSync(join(dir, 'stacks', 'kmip-prod-us-south'), { recursive: true });
  writeFileSync(join(dir, 'stacks', 'kmip-prod-us-south', 'cdk.tf.json'), JSON.stringify({ output: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { value: v }])) }));
  return dir;
}

describe('--endpoints', () => {
  it('names servers by position unless named, and defaults the port to 5696', () => {
    expect(parseEndpoints('10.0.0.4:5696, 10.0.64.4 ,kms-c=kms.example.com:15696,[fd00::5]:5697', 'kp')).toEqual([
      { name: 'kp-1', address: '10.0.0.4', port: 5696 },
      { name: 'kp-2', address: '10.0.64.4', port: 5696 },
      { name: 'kms-c', address: 'kms.example.com', port: 15696 },
      { name: 'kp-4', address: 'fd00::5', port: 5697 },
    ]);
  });

  it.each([
    ['', /no server/],
    ['10.0.0.4:99999', /not host\[:port\]/],
    ['bad host:5696', /not host\[:port\]/],
    ['a=10.0.0.1,a=10.0.0.2', /names a server twice/],
    ['-x=10.0.0.1', /server name/],
  ])('refuses %j', (text, why) => {
    expect(() => parseEndpoints(text, 'kp')).toThrow(why);
  });

  it('needs a provider name and a CA certificate (not a leaf)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-'));
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
    writeFileSync(join(dir, 'leaf.pem'), issueCertificate({ commonName: 'leaf' }, ca).certificatePem);
    expect(() => endpointsSpec('10.0.0.1', join(dir, 'ca.pem'), undefined)).toThrow(/--provider/);
    expect(() => endpointsSpec('10.0.0.1', join(dir, 'leaf.pem'), 'kp')).toThrow(/not a CA certificate/);
    expect(() => endpointsSpec('10.0.0.1', join(dir, 'missing.pem'), 'kp')).toThrow(/cannot read --kmip-ca/);
    expect(endpointsSpec('10.0.0.1', join(dir, 'ca.pem'), 'kp')).toMatchObject({ provider: 'kp', servers: [{ name: 'kp-1', address: '10.0.0.1', port: 5696 }] });
  });
});

describe('--stack (synthesized Terraform JSON)', () => {
  const keyProvider = JSON.stringify({
    keyProvider: 'kmip-prod-us-south',
    servers: [
      { clusterId: { id: 'kmip-prod-us-south' }, info: { name: 'kmip-prod-us-south-us-south-1', address: '10.240.0.4', port: 5696, protocol: 'KMIP1' } },
      { clusterId: { id: 'kmip-prod-us-south' }, info: { name: 'kmip-prod-us-south-us-south-2', address: '10.240.64.4', port: 5696, protocol: 'KMIP1' } },
    ],
  });

  it('reads the endpoints, the CA and the zone names of the servers', () => {
    const dir = stackFixture({ kmip_endpoints: ['10.240.0.4:5696', '10.240.64.4:5696'], kmip_server_ca_pem: ca.certificatePem, vcenter_key_provider: keyProvider });
    const spec = readStackSpec('kmip-prod-us-south', dir);
    expect(spec.provider).toBe('kmip-prod-us-south');
    expect(spec.servers.map((s) => s.name)).toEqual(['kmip-prod-us-south-us-south-1', 'kmip-prod-us-south-us-south-2']);
    expect(spec.caPem).toBe(ca.certificatePem.trim() + '\n');
    // Without the key-provider document the servers are named by position.
    const bare = readStackSpec('kmip-prod-us-south', stackFixture({ kmip_endpoints: ['10.240.0.4:5696'], kmip_server_ca_pem: ca.certificatePem }), 'my-kp');
    expect(bare.servers).toEqual([{ name: 'my-kp-1', address: '10.240.0.4', port: 5696 }]);
  });

  it('refuses outputs that are Terraform references, and a stack that was not synthesized', () => {
    const dir = stackFixture({ kmip_endpoints: ['${ibm_is_instance.node.primary_network_interface[0].primary_ip[0].address}:5696'], kmip_server_ca_pem: ca.certificatePem });
    expect(() => readStackSpec('kmip-prod-us-south', dir)).toThrow(/Terraform reference.*--endpoints/);
    const err = (() => {
      try {
        readStackSpec('nope', dir);
      } catch (e) {
        return e as VcenterError;
      }
    })();
    expect(err?.code).toBe('VC_ERR_INPUT');
    expect(err?.message).toMatch(/npm run synth/);
  });
});

describe('vcenter config document', () => {
  it('gives every server to each tool, and the CA to trust', () => {
    const doc = configDocument({ provider: 'kp', servers: parseEndpoints('10.0.0.4,10.0.64.4:15696', 'kp'), caPem: ca.certificatePem, source: 'x' }, 'vc-prod');
    expect(doc.govc).toEqual(
      expect.arrayContaining(['govc kms.add -n kp-1 -a 10.0.0.4 -p 5696 kp', 'govc kms.add -n kp-2 -a 10.0.64.4 -p 15696 kp', 'govc kms.trust -server-cert "$(cat ca-cert.pem)" kp', 'govc kms.ls kp']),
    );
    expect(doc.powercli).toEqual(expect.arrayContaining([`Add-KeyManagementServer -KeyProvider 'kp' -Name 'kp-2' -Address '10.0.64.4' -Port 15696 -TrustKeyManagementServer $false`]));
    expect(doc.powercli.join('\n')).toMatch(/UploadKmipServerCert[\s\S]*New-KmipClientCertificate -KeyProvider \(Get-KeyProvider 'kp'\) -CertificateSigningRequest[\s\S]*-KmsSignedClientCertificateFilePath/);
    expect(doc.vsphereClient.join('\n')).toMatch(/kp-2 {2}address 10\.0\.64\.4 {2}port 15696/);
    expect(doc.vsphereClient.join('\n')).toMatch(/kmipctl cert add --tenant vc-prod --pem vcenter-cert.pem/);
    const text = configText(doc);
    expect(text).toContain(ca.certificatePem.trim());
    expect(text.indexOf('== vSphere Client ==')).toBeLessThan(text.indexOf('== PowerCLI =='));
    expect(text.indexOf('== PowerCLI ==')).toBeLessThan(text.indexOf('== govc =='));
  });

  it('quotes what a shell or PowerShell would otherwise split', () => {
    const doc = configDocument({ provider: "o'kp", servers: [{ name: 'a', address: '10.0.0.1', port: 5696 }], caPem: ca.certificatePem, source: 'x' });
    expect(doc.govc[0]).toBe(`govc kms.add -n a -a 10.0.0.1 -p 5696 'o'\\''kp'`);
    expect(doc.powercli[1]).toContain(`-KeyProvider 'o''kp'`);
  });
});
