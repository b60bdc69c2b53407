/**
 * Issue 18 item 12: every PEM the project writes or prints ends its lines with LF. node-forge emits
 * CRLF; Go's PEM parser (govc kms.trust, the step `kmipctl vcenter config` suggests) rejects the
 * stray CR. The development PKI's files, the certificates issueCertificate returns, and `kmipctl
 * vcenter config` printing the development CA have no CR, and openssl (a real consumer) reads them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../server/pki/certificates.js';
import { devPkiPaths, ensureDevPki } from '../../server/pki/dev-pki.js';
import { kmipctl } from '../support/kmipctl.js';
import { notePrivateKeyPem } from '../support/secrets-ledger.js';
import { assertBuilt } from '../support/process.js';

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('PEM line endings', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pem-lf-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issueCertificate returns LF-only PEM', () => {
    const ca = issueCertificate({ commonName: 'lf CA', isCa: true });
    const leaf = issueCertificate({ commonName: 'lf leaf', extendedKeyUsage: ['clientAuth'] }, ca);
    for (const pem of [ca.certificatePem, ca.privateKeyPem, leaf.certificatePem, leaf.privateKeyPem]) expect(pem).not.toContain('\r');
  });

  it('the development PKI writes every file with LF only, and openssl reads each one', () => {
    const data = join(dir, 'fresh');
    const { paths, created } = ensureDevPki(data);
    expect(created).toBe(true);
    for (const file of [paths.caCert, paths.caKey, paths.serverCert, paths.serverKey, paths.clientCert, paths.clientKey]) {
      expect(readFileSync(file, 'utf8'), file).not.toContain('\r');
    }
    for (const cert of [paths.caCert, paths.serverCert, paths.clientCert]) expect(openssl('x509', '-noout', '-subject', '-in', cert)).toMatch(/subject=/);
    for (const key of [paths.caKey, paths.serverKey, paths.clientKey]) openssl('pkey', '-noout', '-in', key);
    // The chain file holds the server certificate and the CA: both verify against the CA.
    expect(openssl('verify', '-CAfile', paths.caCert, paths.clientCert)).toMatch(/OK/);
  });

  it('files an older version wrote with CRLF are rewritten with LF at the next start, keeping the key mode', () => {
    const data = join(dir, 'old');
    const { paths } = ensureDevPki(data);
    for (const file of [paths.caCert, paths.serverCert, paths.clientCert]) writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    const again = ensureDevPki(data);
    expect(again.created).toBe(false);
    for (const file of [paths.caCert, paths.serverCert, paths.clientCert]) {
      expect(readFileSync(file, 'utf8'), file).not.toContain('\r');
      openssl('x509', '-noout', '-in', file);
    }
    expect(statSync(paths.caKey).mode & 0o777).toBe(0o600);
  });

  it('kmipctl vcenter config prints the development CA with LF only', async () => {
    assertBuilt();
    const data = join(dir, 'config');
    ensureDevPki(data);
    const ca = devPkiPaths(data).caCert;
    // The suite's secrets scan checks that the CA's key never reaches kmipctl's output.
    notePrivateKeyPem('development CA key', readFileSync(devPkiPaths(data).caKey, 'utf8'));
    // vcenter config is offline: the admin target is never contacted.
    const token = join(dir, 'token');
    writeFileSync(token, 'unused\n', { mode: 0o600 });
    const r = await kmipctl({ adminPort: 1, tokenFile: token }, 'vcenter', 'config', '--endpoints', '127.0.0.1:5696', '--kmip-ca', ca, '--provider', 'kp-dev');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(readFileSync(ca, 'utf8').trim());
    expect(r.stdout).not.toContain('\r');
    // What the govc step would be handed, "$(cat ca-cert.pem)" of the saved text, parses.
    const saved = join(dir, 'ca-cert.pem');
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/.exec(r.stdout)![0];
    writeFileSync(saved, pem);
    openssl('x509', '-noout', '-in', saved);
  });
});
