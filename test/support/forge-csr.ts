/** PKCS#10 requests made by node-forge: another implementation than the server's reader and writer. */
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** A request for `key`, subject O=Tenant, CN=commonName, with commonName as its DNS name; DER and PEM. */
export function forgeCsr(key: { publicKey: KeyObject; privateKey: KeyObject }, commonName = 'client.example'): { der: Uint8Array; pem: string } {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(key.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  csr.setSubject([
    { name: 'organizationName', value: 'Tenant' },
    { name: 'commonName', value: commonName },
  ]);
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: commonName }] }] }]);
  csr.sign(forge.pki.privateKeyFromPem(key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), forge.md.sha256.create());
  const der = forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes();
  return { der: new Uint8Array(Buffer.from(der, 'binary')), pem: forge.pki.certificationRequestToPem(csr) };
}
