import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueStackPki } from '../../scripts/pki.js';
import { PkiError, loadStackPki, pkiPaths } from '../../stacks/pki.js';

const nodes = [
  { zone: 'us-south-1', ip: '10.240.0.4' },
  { zone: 'us-south-2', ip: '10.240.64.4' },
];

describe('server TLS material', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-pki-'));
  const first = issueStackPki({ pkiDir: dir, stack: 'kmip-t-us-south', nodes, dnsSuffix: 'kmip.example.com' });
  const p = pkiPaths(dir, 'kmip-t-us-south');

  it('issues a CA, one server certificate per node naming its address, and ticket keys; keys are private', () => {
    expect(first.created).toHaveLength(11);
    const ca = new X509Certificate(readFileSync(p.caCert));
    expect(ca.ca).toBe(true);
    const cert = new X509Certificate(readFileSync(p.nodeCert('us-south-2')));
    expect(cert.checkIP('10.240.64.4')).toBe('10.240.64.4');
    expect(cert.checkHost('us-south-2.kmip.example.com')).toBe('us-south-2.kmip.example.com');
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(readFileSync(p.caCert, 'utf8')).not.toContain('\r');
    for (const f of [p.caKey, p.nodeKey('us-south-1'), p.ticketKeys, p.adminCaKey, p.adminClientKey]) expect(statSync(f).mode & 0o077, f).toBe(0);
    expect(statSync(p.ticketKeys).size).toBe(48);
  });

  it('issues a separate admin CA and one operator client certificate (clientAuth only) signed by it', () => {
    expect(first.created).toEqual(expect.arrayContaining([p.adminCaCert, p.adminCaKey, p.adminClientCert, p.adminClientKey]));
    const serverCa = new X509Certificate(readFileSync(p.caCert));
    const adminCa = new X509Certificate(readFileSync(p.adminCaCert));
    expect(adminCa.ca).toBe(true);
    expect(adminCa.fingerprint256).not.toBe(serverCa.fingerprint256);
    expect(adminCa.subject).toMatch(/CN=kmip-t-us-south KMIP admin CA/);
    const client = new X509Certificate(readFileSync(p.adminClientCert));
    expect(client.ca).toBe(false);
    expect(client.checkIssued(adminCa) && client.verify(adminCa.publicKey)).toBe(true);
    // a certificate of the server CA is no admin credential, and the operator's is no server certificate
    expect(client.checkIssued(serverCa)).toBe(false);
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(new X509Certificate(readFileSync(p.nodeCert('us-south-1'))).checkIssued(adminCa)).toBe(false);
    expect(readFileSync(p.adminClientCert, 'utf8')).not.toContain('\r');
  });

  it('loads and checks it for the stack; a second run keeps everything', () => {
    const pki = loadStackPki(dir, 'kmip-t-us-south', nodes);
    expect(Object.keys(pki.nodes)).toEqual(['us-south-1', 'us-south-2']);
    expect(pki.caFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(pki.warnings).toEqual([]);
    expect(issueStackPki({ pkiDir: dir, stack: 'kmip-t-us-south', nodes }).created).toEqual([]);
  });

  it('reports every unusable file with the fix', () => {
    const moved = [{ zone: 'us-south-1', ip: '10.240.0.9' }, { zone: 'us-south-2', ip: '10.240.64.4' }, { zone: 'us-south-3', ip: '10.240.128.4' }];
    let error: PkiError | undefined;
    try {
      loadStackPki(dir, 'kmip-t-us-south', moved);
    } catch (err) {
      error = err as PkiError;
    }
    expect(error).toBeInstanceOf(PkiError);
    expect(error!.problems).toEqual([`${p.nodeCert('us-south-1')} does not name 10.240.0.9, the address of the us-south-1 node`, `missing ${p.nodeCert('us-south-3')}`, `missing ${p.nodeKey('us-south-3')}`]);
    expect(error!.message).toMatch(/npm run pki -- --config <config file> --stack kmip-t-us-south; replace what exists but does not fit with --renew/);
  });

  it('--renew re-issues node certificates that no longer fit, never the CA; near expiry is a warning', () => {
    const caBefore = readFileSync(p.caCert, 'utf8');
    const moved = [{ zone: 'us-south-1', ip: '10.240.0.9' }, nodes[1]!];
    const renewed = issueStackPki({ pkiDir: dir, stack: 'kmip-t-us-south', nodes: moved, renew: true });
    expect(renewed.created).toEqual([]);
    expect(renewed.renewed).toEqual([p.nodeCert('us-south-1'), p.nodeKey('us-south-1')]);
    expect(readFileSync(p.caCert, 'utf8')).toBe(caBefore);
    expect(loadStackPki(dir, 'kmip-t-us-south', moved).nodes['us-south-1']).toBeDefined();
    const later = new Date(Date.now() + 810 * 86_400_000);
    const warnings = loadStackPki(dir, 'kmip-t-us-south', moved, later).warnings;
    expect(warnings.filter((w) => /us-south-\d-cert\.pem expires/.test(w))).toHaveLength(2);
    expect(warnings).toContain(`${p.adminClientCert} expired on ${new X509Certificate(readFileSync(p.adminClientCert)).validTo} (npm run pki -- --renew)`);
    expect(() => loadStackPki(dir, 'kmip-t-us-south', moved, new Date(Date.now() + 900 * 86_400_000))).toThrow(/expired/);
  });

  it('--renew after the CA was replaced re-issues every node certificate (same CA name, another key)', () => {
    const d = mkdtempSync(join(tmpdir(), 'kmip-pki-'));
    const q = pkiPaths(d, 'kmip-t-us-south');
    issueStackPki({ pkiDir: d, stack: 'kmip-t-us-south', nodes });
    rmSync(q.caCert);
    rmSync(q.caKey);
    const renewed = issueStackPki({ pkiDir: d, stack: 'kmip-t-us-south', nodes, renew: true });
    // The CA is new (its files were gone); the node certificates it signs replace the old ones.
    expect(renewed.created).toEqual(expect.arrayContaining([q.caCert, q.caKey]));
    expect(renewed.renewed).toEqual(expect.arrayContaining([q.nodeCert('us-south-1'), q.nodeCert('us-south-2')]));
    expect(loadStackPki(d, 'kmip-t-us-south', nodes).nodes['us-south-2']).toBeDefined();
    rmSync(d, { recursive: true, force: true });
  });

  it('the admin CA is required, must not be the server CA, and --renew replaces an operator certificate it did not sign', () => {
    const other = mkdtempSync(join(tmpdir(), 'kmip-pki-admin-'));
    issueStackPki({ pkiDir: other, stack: 'kmip-t-us-south', nodes });
    const q = pkiPaths(other, 'kmip-t-us-south');
    const problemsOf = (): readonly string[] => {
      try {
        loadStackPki(other, 'kmip-t-us-south', nodes);
        return [];
      } catch (err) {
        return (err as PkiError).problems;
      }
    };
    const adminCa = readFileSync(q.adminCaCert);
    rmSync(q.adminCaCert);
    expect(problemsOf()).toEqual([`missing ${q.adminCaCert}`]);
    writeFileSync(q.adminCaCert, readFileSync(q.caCert));
    expect(problemsOf()).toEqual([`${q.adminCaCert} must be a CA of its own, not the server CA ${q.caCert}`]);
    writeFileSync(q.adminCaCert, adminCa);
    expect(problemsOf()).toEqual([]);
    // an operator certificate from another admin CA: a warning at synth, replaced by --renew
    writeFileSync(q.adminClientCert, readFileSync(p.adminClientCert));
    writeFileSync(q.adminClientKey, readFileSync(p.adminClientKey));
    expect(loadStackPki(other, 'kmip-t-us-south', nodes).warnings).toEqual([`${q.adminClientCert} is not signed by the admin CA: the nodes will refuse it (npm run pki -- --renew)`]);
    expect(issueStackPki({ pkiDir: other, stack: 'kmip-t-us-south', nodes }).created).toEqual([]);
    const renewed = issueStackPki({ pkiDir: other, stack: 'kmip-t-us-south', nodes, renew: true });
    expect(renewed.created).toEqual([]);
    expect(renewed.renewed).toEqual([q.adminClientCert, q.adminClientKey]);
    expect(loadStackPki(other, 'kmip-t-us-south', nodes).warnings).toEqual([]);
  });

  it('a certificate from another CA or a key of another certificate is refused', () => {
    const other = mkdtempSync(join(tmpdir(), 'kmip-pki-other-'));
    issueStackPki({ pkiDir: other, stack: 'kmip-t-us-south', nodes });
    const q = pkiPaths(other, 'kmip-t-us-south');
    writeFileSync(q.nodeKey('us-south-2'), readFileSync(q.nodeKey('us-south-1')));
    writeFileSync(q.caCert, readFileSync(p.caCert));
    let problems: readonly string[] = [];
    try {
      loadStackPki(other, 'kmip-t-us-south', nodes);
    } catch (err) {
      problems = (err as PkiError).problems;
    }
    expect(problems).toEqual(expect.arrayContaining([`${q.nodeCert('us-south-1')} is not signed by ${q.caCert}`, `${q.nodeKey('us-south-2')} does not belong to ${q.nodeCert('us-south-2')}`]));
  });
});
