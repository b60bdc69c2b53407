/** The names the development and init server certificates carry (server/pki/server-names.ts). */
import { X509Certificate } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { certificateNames, describeNames, isWildcardHost, sameNames, sanProblem, serverNames } from '../../../server/pki/server-names.js';

describe('server certificate names', () => {
  it('accepts IP addresses and DNS names for --san, and says why it refuses anything else', () => {
    for (const ok of ['10.0.0.5', '::1', '[fd00::2]', 'kmip.lab.example', 'esx-01', '*.lab.example']) expect(sanProblem(ok), ok).toBeUndefined();
    for (const bad of ['', ' ', 'two words', 'under_score.example', 'a..b', '-lead.example', 'x'.repeat(64) + '.example', 'https://host']) {
      expect(sanProblem(bad), bad).toMatch(/neither an IP address nor a DNS name|empty/);
    }
  });

  it('a specific listen address is named with localhost and 127.0.0.1, and the --san values, once each', () => {
    expect(serverNames('10.1.2.3', ['kmip.lab.example', 'KMIP.lab.example', '10.1.2.3', '[2001:db8::1]'])).toEqual({
      dnsNames: ['kmip.lab.example', 'localhost'],
      ipAddresses: ['10.1.2.3', '127.0.0.1', '2001:db8::1'],
    });
    expect(serverNames('kmip01.lab.example')).toEqual({ dnsNames: ['kmip01.lab.example', 'localhost'], ipAddresses: ['127.0.0.1'] });
  });

  it('0.0.0.0 names this machine\'s IPv4 interface addresses and host name; :: adds routable IPv6 ones', () => {
    expect(isWildcardHost('0.0.0.0') && isWildcardHost('::') && isWildcardHost('[::]')).toBe(true);
    const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => !a.internal);
    const v4 = serverNames('0.0.0.0');
    for (const a of all.filter((a) => a.family === 'IPv4')) expect(v4.ipAddresses).toContain(a.address);
    expect(v4.ipAddresses.some((ip) => ip.includes(':'))).toBe(false);
    expect(v4.dnsNames).toContain(hostname().toLowerCase());
    const v6 = serverNames('::');
    for (const a of all.filter((a) => a.family === 'IPv6' && !a.address.startsWith('fe80'))) expect(v6.ipAddresses).toContain(a.address);
    expect(v6.ipAddresses.some((ip) => ip.startsWith('fe80'))).toBe(false);
  });

  it('reads back from a certificate exactly the names it was issued with (IPv6 spelled one way)', () => {
    const names = serverNames('2001:db8:0:0:0:0:0:7', ['kmip.lab.example']);
    const cert = issueCertificate({ commonName: 'x', dnsNames: names.dnsNames, ipAddresses: names.ipAddresses });
    const read = certificateNames(new X509Certificate(cert.certificatePem).subjectAltName);
    expect(sameNames(read, names)).toBe(true);
    expect(sameNames(read, serverNames('2001:db8::7'))).toBe(false);
    expect(describeNames(read)).toBe('DNS:kmip.lab.example, DNS:localhost, IP:127.0.0.1, IP:2001:db8::7');
  });
});
