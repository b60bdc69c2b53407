/**
 * `kmipctl vcenter config`: what an operator types to register our servers as one Standard Key
 * Provider and set up trust both ways, three ways — vSphere Client steps, PowerCLI and govc.
 * PowerCLI and govc cannot sign a CSR, so the client-trust step signs it with openssl (or kmipctl
 * vcenter register does all of it). Cmdlet and flag names: PowerCLI reference (Add-KeyManagementServer,
 * New-KmipClientCertificate, Set-KeyProvider) and govmomi cli/kms (kms.add -n -a -p, kms.trust
 * -server-cert, kms.default, kms.ls).
 */
import { lfPem } from '../pki/certificates.js';
import type { ProviderSpec } from './provider-spec.js';
import { shellWord } from '../util/shell.js';

export interface ConfigDocument {
  readonly keyProvider: string;
  readonly servers: ReadonlyArray<{ name: string; address: string; port: number }>;
  readonly serverCaPem: string;
  readonly tenant: string;
  readonly vsphereClient: readonly string[];
  readonly powercli: readonly string[];
  readonly govc: readonly string[];
}

const psQuote = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function configDocument(spec: ProviderSpec, tenant = 'TENANT'): ConfigDocument {
  const p = spec.provider;
  const signCsr = 'openssl x509 -req -in vcenter.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 730 -sha256 -out vcenter-cert.pem';
  const registerCert = `kmipctl cert add --tenant ${shellWord(tenant)} --pem vcenter-cert.pem --name ${shellWord(`vcenter ${p}`)}`;
  const vsphereClient = [
    `In the vSphere Client, select the vCenter Server, then Configure > Security > Key Providers > Add > Add Standard Key Provider.`,
    `Name the provider ${p} and add ${spec.servers.length === 1 ? 'the server' : `all ${spec.servers.length} servers`} (one provider, every node of the region):\n${spec.servers
      .map((s) => `     ${s.name}  address ${s.address}  port ${s.port}`)
      .join('\n')}`,
    `When vCenter shows the server certificate, compare it with the CA below (it must be issued by it), then trust it; or select the provider > Establish Trust > Make vCenter Trust KMS and paste the CA certificate below.`,
    `Select the provider > Establish Trust > Make KMS Trust vCenter > New Certificate Signing Request (CSR); download it as vcenter.csr.`,
    `Sign it with the stack CA on the machine that holds ca-key.pem: ${signCsr}`,
    `Register the certificate with the KMIP servers: ${registerCert}`,
    `Back in the vSphere Client: Make KMS Trust vCenter > Upload Signed CSR Certificate > vcenter-cert.pem.`,
    `Check that every server shows Connected with both certificates valid; optionally Set as Default.`,
    `Or do all of this, idempotently: kmipctl vcenter register --vcenter https://VCENTER --vcenter-user USER --vcenter-password-file FILE --provider ${shellWord(p)} --tenant ${shellWord(tenant)} --sign-ca-cert ca-cert.pem --sign-ca-key ca-key.pem (plus --stack or --endpoints/--kmip-ca)`,
  ];
  const powercli = [
    `Connect-VIServer -Server VCENTER`,
    ...spec.servers.map((s) => `Add-KeyManagementServer -KeyProvider ${psQuote(p)} -Name ${psQuote(s.name)} -Address ${psQuote(s.address)} -Port ${s.port} -TrustKeyManagementServer $false`),
    `# vCenter trusts the CA that issued the servers' certificates (saved as ca-cert.pem):`,
    `$cm = Get-View (Get-View ServiceInstance).Content.CryptoManager`,
    `$cm.UploadKmipServerCert((New-Object VMware.Vim.KeyProviderId -Property @{ Id = ${psQuote(p)} }), (Get-Content -Raw ca-cert.pem))`,
    `# The KMIP servers trust vCenter: a CSR signed by the CA, registered with kmipctl:`,
    `New-KmipClientCertificate -KeyProvider (Get-KeyProvider ${psQuote(p)}) -CertificateSigningRequest -FilePath vcenter.csr`,
    `# ${signCsr}`,
    `# ${registerCert}`,
    `Set-KeyProvider -KeyProvider (Get-KeyProvider ${psQuote(p)}) -KmsSignedClientCertificateFilePath vcenter-cert.pem`,
    `# optional: Set-KeyProvider -KeyProvider (Get-KeyProvider ${psQuote(p)}) -DefaultForSystem`,
  ];
  const govc = [
    ...spec.servers.map((s) => `govc kms.add -n ${shellWord(s.name)} -a ${shellWord(s.address)} -p ${s.port} ${shellWord(p)}`),
    `govc kms.trust -server-cert "$(cat ca-cert.pem)" ${shellWord(p)}`,
    `# govc cannot create a CSR: make the KMIP servers trust vCenter with the vSphere Client or PowerCLI steps above, or kmipctl vcenter register`,
    `# optional: govc kms.default ${shellWord(p)}`,
    `govc kms.ls ${shellWord(p)}`,
  ];
  return { keyProvider: p, servers: spec.servers.map((s) => ({ ...s })), serverCaPem: lfPem(spec.caPem), tenant, vsphereClient, powercli, govc };
}

/** The text is printed with LF only: a CA file written with CRLF would make the govc kms.trust step fail in Go's PEM parser. */
export function configText(doc: ConfigDocument): string {
  return lfPem([
    `Key provider ${doc.keyProvider}: ${doc.servers.length} KMIP server(s)`,
    ...doc.servers.map((s) => `  ${s.name}  ${s.address}:${s.port}`),
    '',
    'Server CA certificate (save as ca-cert.pem; vCenter must trust it):',
    doc.serverCaPem.trimEnd(),
    '',
    '== vSphere Client ==',
    ...doc.vsphereClient.map((s, i) => `${String(i + 1).padStart(2)}. ${s}`),
    '',
    '== PowerCLI ==',
    ...doc.powercli,
    '',
    '== govc ==',
    ...doc.govc,
  ].join('\n'));
}
