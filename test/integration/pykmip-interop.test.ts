/** Interoperability with a real third-party client: Debian's python3-pykmip (ProxyKmipClient) over mTLS. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, pykmipAvailable, requirement } from '../support/env.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';

const skip = requirement('PyKMIP (python3-pykmip for /usr/bin/python3)', pykmipAvailable(), 'apt-get install python3-pykmip');
const script = fileURLToPath(new URL('../interop/pykmip_lifecycle.py', import.meta.url));

interface Step {
  ok: boolean;
  value?: unknown;
  error?: string;
}

async function runLifecycle(server: TestServer, cert: TestClientCert, version: string, name: string): Promise<Record<string, Step>> {
  const { stdout } = await promisify(execFile)(
    PYTHON,
    [script, '127.0.0.1', String(server.port), cert.certFile, cert.keyFile, server.pki.caFile, version, name],
    { timeout: 60_000 },
  );
  return (JSON.parse(stdout) as { steps: Record<string, Step> }).steps;
}

describe.skipIf(skip)('PyKMIP client interoperability', () => {
  let server: TestServer;
  let cert: TestClientCert;
  beforeAll(async () => {
    server = await startTestServer();
    ({ cert } = await server.tenant('pykmip'));
  });
  afterAll(() => server?.close());

  for (const version of ['1.1', '1.2']) {
    it(`runs create, get, attributes, locate, activate, revoke, destroy over KMIP ${version}`, async () => {
      const steps = await runLifecycle(server, cert, version, `pykmip-${version}`);
      const ok = (name: string) => {
        expect(steps[name], `${name}: ${steps[name]?.error ?? ''}`).toMatchObject({ ok: true });
        return steps[name]!.value;
      };
      expect(ok('create')).toEqual(expect.any(String));
      const got = ok('get') as { algorithm: string; length: number; bytes: number; hex: string };
      expect(got).toMatchObject({ algorithm: 'AES', length: 256, bytes: 32 });
      expect(ok('get_again')).toBe(got.hex);
      expect(ok('get_attributes')).toEqual({
        State: 'State.PRE_ACTIVE',
        'Cryptographic Algorithm': 'CryptographicAlgorithm.AES',
        'Cryptographic Length': '256',
        'Object Type': 'ObjectType.SYMMETRIC_KEY',
      });
      expect(ok('get_attribute_list')).toEqual(expect.arrayContaining(['Cryptographic Algorithm', 'Cryptographic Length', 'Name', 'State', 'Unique Identifier']));
      expect(ok('locate_by_name')).toEqual([steps['create']!.value]);
      ok('activate');
      expect(ok('state_after_activate')).toBe('State.ACTIVE');
      expect(steps['destroy_active']).toMatchObject({ ok: false });
      expect(steps['destroy_active']!.error).toMatch(/PERMISSION_DENIED/);
      ok('revoke');
      expect(ok('state_after_revoke')).toBe('State.DEACTIVATED');
      ok('destroy');
      expect(steps['get_after_destroy']).toMatchObject({ ok: false });
      expect(ok('state_after_destroy')).toBe('State.DESTROYED');
    });
  }
});
