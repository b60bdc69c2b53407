/**
 * Issue 19, "Production without --dev": `kmip-server init --config FILE` makes every missing file a
 * production-style configuration names, `kmip-server --config FILE` starts on them, and a client
 * registered through kmipctl is served; a second init keeps everything; the local root key rotates
 * with `kmip-server rotate-root-key` and `kmipctl rewrap`. All as real processes, openssl and TLS.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { issueCertificate } from '../../server/pki/certificates.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { runKmipctl } from '../support/kmipctl.js';
import { assertBuilt, runToExit, SERVER_MAIN, startServerProcess, type RunningServer } from '../support/process.js';
import { notePrivateKeyPem, noteSecret } from '../support/secrets-ledger.js';

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const dir = mkdtempSync(join(tmpdir(), 'kmip-init-'));
const at = (...parts: string[]) => join(dir, ...parts);
const files = {
  token: at('etc', 'admin-token'),
  adminCert: at('etc', 'admin-cert.pem'),
  adminKey: at('etc', 'admin-key.pem'),
  adminCa: at('etc', 'admin-ca.pem'),
  serverCert: at('etc', 'tls', 'server-cert.pem'),
  serverKey: at('etc', 'tls', 'server-key.pem'),
  clientCa: at('etc', 'tls', 'client-ca.pem'),
  tickets: at('etc', 'tls', 'tickets.bin'),
  rootKey: at('secrets', 'root-key.json'),
};
/** What init makes beside the named files: the server CA, the client CAs' keys, an administrator certificate. */
const beside = {
  serverCa: at('etc', 'tls', 'server-ca.pem'),
  serverCaKey: at('etc', 'tls', 'server-ca-key.pem'),
  clientCaKey: at('etc', 'tls', 'client-ca-key.pem'),
  adminCaKey: at('etc', 'admin-ca-key.pem'),
  adminClientCert: at('etc', 'admin-client-cert.pem'),
  adminClientKey: at('etc', 'admin-client-key.pem'),
};
const SECRETS = [files.token, files.adminKey, files.serverKey, files.tickets, files.rootKey, beside.serverCaKey, beside.clientCaKey, beside.adminCaKey, beside.adminClientKey];
const configFile = at('kmip.json');
const SAN = 'kmip.lab.example';
const READY = /"kmip":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/;

beforeAll(() => {
  assertBuilt();
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0, tokenFile: files.token, tls: { certFile: files.adminCert, keyFile: files.adminKey, clientCaFile: files.adminCa } },
      tls: { certFile: files.serverCert, keyFile: files.serverKey, clientCaFile: files.clientCa, ticketKeyFile: files.tickets },
      store: { kind: 'sqlite', path: at('var', 'kmip.db') },
      wrap: { kind: 'local', keyFile: files.rootKey },
      log: { level: 'info' },
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The secrets init made: the suite's scan then proves no output (init's included) carries them. */
function noteMadeSecrets(): void {
  for (const key of Object.values((JSON.parse(readFileSync(files.rootKey, 'utf8')) as { versions: Record<string, string> }).versions)) noteSecret('root key', key);
  noteSecret('management token', readFileSync(files.token, 'utf8').trim());
  for (const f of [files.adminKey, files.serverKey, beside.serverCaKey, beside.clientCaKey, beside.adminCaKey, beside.adminClientKey]) notePrivateKeyPem(`init's ${f}`, readFileSync(f, 'utf8'));
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** Every file under the configuration's folders with its SHA-256 (the database folder left out: the server writes there). */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${modeOf(p)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(at('etc'));
  walk(at('secrets'));
  return out;
}

function admin(...args: string[]) {
  return (server: RunningServer) =>
    runKmipctl([
      '--admin-url', `https://127.0.0.1:${server.adminPort}`,
      '--client-cert', beside.adminClientCert, '--client-key', beside.adminClientKey, '--server-ca', beside.serverCa,
      ...args,
    ]);
}

describe('kmip-server init --config FILE', () => {
  let uid: string;
  let clientCert: { cert: string; key: string };

  it('creates every missing file the configuration names, with safe modes, and prints each one and where the server CA is', async () => {
    const r = await runToExit(process.execPath, [SERVER_MAIN, 'init', '--config', configFile, '--san', SAN]);
    expect(r.code, r.stderr).toBe(0);
    noteMadeSecrets();
    for (const f of [...Object.values(files), ...Object.values(beside)]) expect(r.stdout, f).toContain(`created ${f}:`);
    for (const f of SECRETS) expect(modeOf(f), f).toBe('600');
    for (const d of [at('etc'), at('etc', 'tls'), at('secrets'), at('var')]) {
      expect(modeOf(d), d).toBe('700');
      expect(r.stdout).toContain(`created folder ${d} (0700)`);
    }
    expect(existsSync(at('var', 'kmip.db'))).toBe(false);
    expect(r.stdout).toContain(`server CA: ${beside.serverCa}`);
    expect(r.stdout).toContain(`DNS:${SAN}`);
    // openssl reads what init wrote: the KMIP certificate names the listen address and --san, and chains to the printed CA.
    const san = openssl('x509', '-in', files.serverCert, '-noout', '-ext', 'subjectAltName');
    expect(san).toContain(`DNS:${SAN}`);
    expect(san).toContain('IP Address:127.0.0.1');
    expect(openssl('verify', '-CAfile', beside.serverCa, files.serverCert)).toMatch(/OK/);
    expect(openssl('verify', '-CAfile', beside.serverCa, files.adminCert)).toMatch(/OK/);
    expect(openssl('verify', '-CAfile', files.adminCa, beside.adminClientCert)).toMatch(/OK/);
    for (const key of [files.serverKey, files.adminKey, beside.serverCaKey, beside.clientCaKey]) openssl('pkey', '-noout', '-in', key);
    expect(statSync(files.tickets).size).toBe(48);
    const root = JSON.parse(readFileSync(files.rootKey, 'utf8')) as { current: string; versions: Record<string, string> };
    expect(Buffer.from(root.versions[root.current]!, 'base64')).toHaveLength(32);
  });

  it('kmip-server --config starts on those files; a client certificate registered with kmipctl is served under the --san name', async () => {
    const server = await startServerProcess(process.execPath, [SERVER_MAIN, '--config', configFile], undefined, 60_000, READY);
    try {
      // The administrators' certificate init issued authorizes kmipctl over the admin port's HTTPS.
      expect((await admin('tenant', 'add', 'lab')(server)).code).toBe(0);
      // vCenter's certificate, signed by the client CA init made (what kmipctl vcenter register does).
      const ca = { certificatePem: readFileSync(files.clientCa, 'utf8'), privateKeyPem: readFileSync(beside.clientCaKey, 'utf8') };
      const leaf = issueCertificate({ commonName: 'vcenter.lab.example', extendedKeyUsage: ['clientAuth'] }, ca);
      notePrivateKeyPem('vcenter client key', leaf.privateKeyPem);
      clientCert = { cert: leaf.certificatePem, key: leaf.privateKeyPem };
      const pem = at('vcenter-cert.pem');
      writeFileSync(pem, leaf.certificatePem);
      const added = await admin('cert', 'add', '--tenant', 'lab', '--pem', pem, '--name', 'vcenter')(server);
      expect(added.code, added.stderr).toBe(0);

      // Verified as a lab vCenter would: against the server CA init printed, by the name given with --san.
      const client = await TestKmipClient.connect(server.kmipPort, { ca: readFileSync(beside.serverCa), cert: clientCert.cert, key: clientCert.key, servername: SAN });
      const created = await client.ok(Operation.Create, {
        objectType: 2,
        templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] },
      });
      uid = created['uniqueIdentifier'] as string;
      expect((await client.ok(Operation.Get, { uniqueIdentifier: uid }))['uniqueIdentifier']).toBe(uid);
      await client.close();
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('a second init keeps every file byte for byte and says so', async () => {
    const before = snapshot();
    const r = await runToExit(process.execPath, [SERVER_MAIN, 'init', '--config', configFile, '--san', 'other.lab.example']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('created');
    for (const f of Object.values(files)) expect(r.stdout, f).toContain(`kept    ${f}:`);
    // The certificates are kept, so the new --san name is not in them: init says so rather than ignore it.
    expect(r.stdout).toContain(`--san other.lab.example: not used; tls.certFile is kept (remove ${files.serverCert} and its key to have them issued with these names)`);
    expect(r.stdout).toContain('--san other.lab.example: not used; admin.tls.certFile is kept');
    expect(snapshot()).toEqual(before);
  });

  it('rotate-root-key adds a current version; after a restart kmipctl rewrap moves the key to it and it is still served', async () => {
    const r = await runToExit(process.execPath, [SERVER_MAIN, 'rotate-root-key', '--config', configFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('version 2 is now current');
    const root = JSON.parse(readFileSync(files.rootKey, 'utf8')) as { current: string; versions: Record<string, string> };
    expect(root.current).toBe('2');
    expect(Object.keys(root.versions).sort()).toEqual(['1', '2']);
    expect(modeOf(files.rootKey)).toBe('600');
    noteMadeSecrets();
    const server = await startServerProcess(process.execPath, [SERVER_MAIN, '--config', configFile], undefined, 60_000, READY);
    try {
      const rewrap = await admin('--json', 'rewrap')(server);
      expect(rewrap.code, rewrap.stderr).toBe(0);
      expect(rewrap.json).toMatchObject({ rewrapped: 1, failed: 0, version: '2' });
      const client = await TestKmipClient.connect(server.kmipPort, { ca: readFileSync(beside.serverCa), cert: clientCert.cert, key: clientCert.key, servername: SAN });
      expect((await client.ok(Operation.Get, { uniqueIdentifier: uid }))['uniqueIdentifier']).toBe(uid);
      await client.close();
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('lists every problem at once and creates nothing (exit 2)', async () => {
    const bad = at('bad');
    mkdirSync(bad);
    // A certificate without its key: init never pairs a new key with it.
    writeFileSync(join(bad, 'server-cert.pem'), readFileSync(files.serverCert));
    writeFileSync(join(bad, 'tickets.bin'), 'short', { mode: 0o600 });
    const badConfig = join(bad, 'kmip.json');
    writeFileSync(
      badConfig,
      JSON.stringify({
        listen: { port: 70000 },
        tls: { certFile: join(bad, 'server-cert.pem'), keyFile: join(bad, 'server-key.pem'), ticketKeyFile: join(bad, 'tickets.bin') },
        store: { kind: 'sqlite', path: join(bad, 'db', 'kmip.db') },
        wrap: { kind: 'keyprotect', region: 'us-south', instanceId: '0f4b6f2e-8e0d-4b5c-9d55-3f1f1b1f1b1f', rootKeyId: 'k', apiKeyFile: join(bad, 'api-key') },
      }),
    );
    const r = await runToExit(process.execPath, [SERVER_MAIN, 'init', '--config', badConfig, '--san', 'not a name!']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing was created');
    expect(r.stderr).toContain('--san: "not a name!" is neither an IP address nor a DNS name');
    expect(r.stderr).toContain('listen.port');
    expect(r.stderr).toMatch(/tls\.keyFile: .*server-key\.pem does not exist but tls\.certFile does/);
    expect(r.stderr).toMatch(/tls\.ticketKeyFile: .*48 random bytes/);
    expect(r.stderr).toMatch(/wrap\.apiKeyFile: .*api-key does not exist; init cannot make it/);
    expect(readdirSync(bad).sort()).toEqual(['kmip.json', 'server-cert.pem', 'tickets.bin']);
  });
});
