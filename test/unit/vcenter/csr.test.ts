/**
 * Signing vCenter's CSR: the result chains to the CA, carries the CSR's key and subject, is for
 * client authentication and never outlives the CA; bad requests and mismatched CA files are refused.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { generateRsaKeyPair, issueCertificate } from '../../../server/pki/certificates.js';
import { issuedBy, loadSigningCa, signCsr } from '../../../server/vcenter/csr.js';
import { makeCsr } from '../../support/fake-vcenter-crypto.js';

const ca = issueCertificate({ commonName: 'stack CA', isCa: true });
const signing = loadSigningCa(ca.certificatePem, ca.privateKeyPem);

describe('signing vCenter’s certificate request', () => {
  it('issues a client certificate for the requested key and subject, chained to the CA', () => {
    const csr = makeCsr('vCenter kp');
    const signed = signCsr(csr.pem, signing);
    const cert = new X509Certificate(signed.certificatePem);
    expect(issuedBy(cert, signing.cert)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(csr.keyPem))).toBe(true);
    expect(cert.subject).toBe('CN=vCenter kp\nO=VMware');
    expect(cert.ca).toBe(false);
    expect(forge.pki.certificateFromPem(signed.certificatePem).getExtension('extKeyUsage')).toMatchObject({ clientAuth: true });
    expect(Date.parse(cert.validTo)).toBeLessThanOrEqual(Date.parse(signing.cert.validTo));
  });

  it('never outlives the CA', () => {
    const shortCa = issueCertificate({ commonName: 'short CA', isCa: true, notAfter: new Date(Date.now() + 10 * 86_400_000) });
    const cert = new X509Certificate(signCsr(makeCsr('x').pem, loadSigningCa(shortCa.certificatePem, shortCa.privateKeyPem)).certificatePem);
    expect(cert.validTo).toBe(new X509Certificate(shortCa.certificatePem).validTo);
  });

  it('refuses a request whose signature does not verify, and garbage', () => {
    // Flip one bit of the signature (the last byte of the DER): the request no longer proves the key.
    const der = Buffer.from(makeCsr('x').pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 1]! ^= 1;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => signCsr(tampered, signing)).toThrow(/valid signature/);
    expect(() => signCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', signing)).toThrow(/cannot be read/);
  });

  it('refuses a CA key that is not the CA certificate’s, and a CA file that is not a CA', () => {
    expect(() => loadSigningCa(ca.certificatePem, generateRsaKeyPair().privateKeyPem)).toThrow(/not the key of --sign-ca-cert/);
    const leaf = issueCertificate({ commonName: 'leaf' }, ca);
    expect(() => loadSigningCa(leaf.certificatePem, leaf.privateKeyPem)).toThrow(/not a CA certificate/);
    expect(() => loadSigningCa(ca.certificatePem, 'nope')).toThrow(/not a PEM private key/);
  });
});
