/**
 * Issue 19: the development server certificate names what a lab vCenter connects to: the listen
 * address (for 0.0.0.0 this machine's addresses and host name) and every --san; when they change it is
 * issued again by the same development CA, so registered clients keep working. Real processes,
 * openssl, and TLS clients that verify the name (traffic stays on 127.0.0.1: SNI carries the name).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { assertBuilt, runToExit, SERVER_MAIN, startServerProcess } from '../support/process.js';

const dir = mkdtempSync(join(tmpdir(), 'kmip-dev-san-'));
const pki = (f: string) => join(dir, 'pki', f);
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

beforeAll(() => assertBuilt());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(...extra: string[]) {
  return startServerProcess(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--port', '0', '--admin-port', '0', ...extra]);
}

/** A KMIP client that verifies the server certificate against the development CA by `servername`, as a remote client would. */
async function verifiedClient(port: number, servername: string): Promise<TestKmipClient> {
  return TestKmipClient.connect(port, { ca: readFileSync(pki('ca.pem')), cert: readFileSync(pki('client-cert.pem')), key: readFileSync(pki('client-key.pem')), servername });
}

/** The names `openssl x509 -ext subjectAltName` prints for the server certificate. */
function sanOf(): string {
  return openssl('x509', '-in', pki('server-cert.pem'), '-noout', '-ext', 'subjectAltName');
}

describe('kmip-server --dev --san', () => {
  let ca: string[];
  let client: string[];

  it('puts the listen address and every --san in the server certificate, prints them, and a client verifying that name connects', async () => {
    const server = await start('--host', '127.0.0.1', '--san', 'kmip.lab.example', '--san', '10.20.30.40');
    try {
      const san = sanOf();
      for (const name of ['DNS:kmip.lab.example', 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:10.20.30.40']) expect(san).toContain(name);
      expect(server.stderr.join('')).toMatch(/names: .*DNS:kmip\.lab\.example.*IP:10\.20\.30\.40/);
      const c = await verifiedClient(server.kmipPort, 'kmip.lab.example');
      expect(await c.ok(Operation.DiscoverVersions, {})).toBeDefined();
      // The IP name, checked the way a client that dials 10.20.30.40 checks it.
      const peer = c.socket.getPeerCertificate() as PeerCertificate;
      expect(checkServerIdentity('10.20.30.40', peer)).toBeUndefined();
      expect(checkServerIdentity('not-named.lab.example', peer)).toBeInstanceOf(Error);
      await c.close();
      // A name the certificate does not carry is refused by the verifying client.
      await expect(verifiedClient(server.kmipPort, 'other.lab.example')).rejects.toThrow(/other\.lab\.example/);
    } finally {
      expect(await server.stop('SIGINT')).toBe(0);
    }
    ca = [sha(pki('ca.pem')), sha(pki('ca-key.pem'))];
    client = [sha(pki('client-cert.pem')), sha(pki('client-key.pem'))];
  });

  it('a start on 0.0.0.0 with another --san issues it again by the same CA: interface addresses and host name in, the old name out, clients unchanged', async () => {
    const before = sha(pki('server-cert.pem'));
    const server = await start('--host', '0.0.0.0', '--san', 'other.lab.example');
    try {
      expect(sha(pki('server-cert.pem'))).not.toBe(before);
      expect(server.stderr.join('')).toContain('issued again');
      const san = sanOf();
      expect(san).toContain('DNS:other.lab.example');
      expect(san).not.toContain('kmip.lab.example');
      expect(san).not.toContain('10.20.30.40');
      const v4 = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => !a.internal && a.family === 'IPv4');
      for (const a of v4) expect(san).toContain(`IP Address:${a.address}`);
      expect(san.toLowerCase()).toContain(`dns:${hostname().toLowerCase()}`);
      expect(openssl('verify', '-CAfile', pki('ca.pem'), pki('server-cert.pem'))).toMatch(/OK/);
      expect([sha(pki('ca.pem')), sha(pki('ca-key.pem'))]).toEqual(ca);
      expect([sha(pki('client-cert.pem')), sha(pki('client-key.pem'))]).toEqual(client);
      // The development client, registered before, is still served; the server is verified by the new name.
      const c = await verifiedClient(server.kmipPort, 'other.lab.example');
      const created = await c.ok(Operation.Create, {
        objectType: 2,
        templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] },
      });
      expect((await c.ok(Operation.Get, { uniqueIdentifier: created['uniqueIdentifier'] }))['uniqueIdentifier']).toBe(created['uniqueIdentifier']);
      await c.close();
    } finally {
      expect(await server.stop('SIGINT')).toBe(0);
    }
  });

  it('the same names at the next start keep the certificate as it is; a bad --san is a usage error', async () => {
    const before = sha(pki('server-cert.pem'));
    const server = await start('--host', '0.0.0.0', '--san', 'other.lab.example');
    try {
      expect(sha(pki('server-cert.pem'))).toBe(before);
      expect(server.stderr.join('')).not.toContain('issued again');
    } finally {
      expect(await server.stop('SIGINT')).toBe(0);
    }
    const bad = await runToExit(process.execPath, [SERVER_MAIN, '--dev', '--data-dir', dir, '--san', 'bad name!']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--san: "bad name!" is neither an IP address nor a DNS name');
    expect(sha(pki('server-cert.pem'))).toBe(before);
  });
});
