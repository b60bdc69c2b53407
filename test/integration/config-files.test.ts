/**
 * Issue 19: every file a configuration names is checked at start with every other problem (exists,
 * readable, holds what it should, a certificate and its key belong together), and all of them are
 * listed at once with exit 2 — before, a missing file ended the start alone (exit 1) and a missing
 * certificate file not at all. The built server, as a process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../server/pki/certificates.js';
import { assertBuilt, runToExit, SERVER_MAIN, startServerProcess } from '../support/process.js';
import { notePrivateKeyPem, noteSecret } from '../support/secrets-ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'kmip-config-files-'));
const at = (f: string) => join(dir, f);
beforeAll(() => assertBuilt());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, doc: unknown): string {
  const file = at(name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('kmip-server --config: the files it names', () => {
  const ca = issueCertificate({ commonName: 'config test CA', isCa: true });
  const leaf = issueCertificate({ commonName: 'localhost', extendedKeyUsage: ['serverAuth'], dnsNames: ['localhost'] }, ca);
  const other = issueCertificate({ commonName: 'other', extendedKeyUsage: ['serverAuth'] }, ca);
  const rootKey = JSON.stringify({ id: 'local-test', current: '1', versions: { '1': Buffer.alloc(32, 7).toString('base64') } });
  beforeAll(() => {
    for (const k of [ca, leaf, other]) notePrivateKeyPem('config test key', k.privateKeyPem);
    noteSecret('config test root key', Buffer.alloc(32, 7).toString('base64'));
    writeFileSync(at('cert.pem'), leaf.certificatePem + ca.certificatePem);
    writeFileSync(at('key.pem'), leaf.privateKeyPem, { mode: 0o600 });
    writeFileSync(at('other-key.pem'), other.privateKeyPem, { mode: 0o600 });
    writeFileSync(at('garbage.pem'), 'not a key\n', { mode: 0o600 });
    writeFileSync(at('empty-token'), '\n', { mode: 0o600 });
    writeFileSync(at('open-root-key.json'), rootKey, { mode: 0o644 });
  });

  it('lists every problem together, schema and files alike, and exits 2', async () => {
    const file = write('many.json', {
      listen: { host: '127.0.0.1', port: 70000 },
      admin: { host: '127.0.0.1', port: 0, tokenFile: at('empty-token') },
      tls: { certFile: at('missing-cert.pem'), keyFile: at('garbage.pem'), clientCaFile: at('key.pem') },
      store: { kind: 'sqlite', path: at('no-such-folder/kmip.db') },
      wrap: { kind: 'local', keyFile: at('open-root-key.json') },
      extra: true,
    });
    const r = await runToExit(process.execPath, [SERVER_MAIN, '--config', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    const expected = [
      /listen\.port/,
      /extra/,
      new RegExp(`tls\\.certFile: .*missing-cert\\.pem does not exist \\(kmip-server init --config .*many\\.json creates it\\)`),
      /tls\.keyFile: .*garbage\.pem is not a PEM private key/,
      /tls\.clientCaFile: .*key\.pem is not a PEM certificate/,
      /admin\.tokenFile: .*empty-token is empty/,
      /store\.path: .*kmip\.db cannot be created: its folder .*no-such-folder does not exist/,
      /wrap\.keyFile: .*open-root-key\.json must not be readable by group or others/,
    ];
    for (const re of expected) expect(lines.some((l) => re.test(l)), `${re} in\n${r.stderr}`).toBe(true);
    expect(lines).toHaveLength(expected.length);
  });

  it('a key that is not the certificate\'s, and a missing root key, in an otherwise valid config: exit 2, nothing listens', async () => {
    const file = write('pair.json', {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      tls: { certFile: at('cert.pem'), keyFile: at('other-key.pem') },
      store: { kind: 'sqlite', path: at('kmip.db') },
      wrap: { kind: 'local', keyFile: at('gone/root-key.json') },
    });
    const r = await runToExit(process.execPath, [SERVER_MAIN, '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tls\.keyFile: .*other-key\.pem is not the private key of the first certificate in tls\.certFile/);
    expect(r.stderr).toMatch(/wrap\.keyFile: .*gone\/root-key\.json does not exist \(kmip-server init/);
    expect(r.stdout).not.toContain('listening');
  });

  it('the same files, put right, start the server', async () => {
    const file = write('good.json', {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      tls: { certFile: at('cert.pem'), keyFile: at('key.pem'), clientCaFile: at('cert.pem') },
      store: { kind: 'sqlite', path: at('kmip.db') },
      wrap: { kind: 'local', keyFile: at('good-root-key.json') },
    });
    writeFileSync(at('good-root-key.json'), rootKey, { mode: 0o600 });
    const server = await startServerProcess(process.execPath, [SERVER_MAIN, '--config', file], undefined, 30_000, /"kmip":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/);
    expect(server.stderr.join('')).toBe('');
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
