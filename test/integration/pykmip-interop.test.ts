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
const objectsScript = fileURLToPath(new URL('../interop/pykmip_objects.py', import.meta.url));

interface Step {
  ok: boolean;
  value?: unknown;
  error?: string;
}

async function runScript(file: string, server: TestServer, cert: TestClientCert, version: string, name: string): Promise<Record<string, Step>> {
  const { stdout } = await promisify(execFile)(
    PYTHON,
    [file, '127.0.0.1', String(server.port), cert.certFile, cert.keyFile, server.pki.caFile, version, name],
    { timeout: 60_000 },
  );
  return (JSON.parse(stdout) as { steps: Record<string, Step> }).steps;
}
const runLifecycle = (server: TestServer, cert: TestClientCert, version: string, name: string) => runScript(script, server, cert, version, name);

describe.skipIf(skip)('PyKMIP client interoperability', () => {
  let server: TestServer;
  let cert: TestClientCert;
  beforeAll(async () => {
    server = await startTestServer();
    ({ cert } = await server.tenant('pykmip'));
  });
  afterAll(() => server?.close());

  for (const version of ['1.1', '1.2', '1.4', '2.0']) {
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
      expect(steps['destroy_active']!.error).toMatch(version === '2.0' ? /WRONG_KEY_LIFECYCLE_STATE/ : /PERMISSION_DENIED/);
      ok('revoke');
      expect(ok('state_after_revoke')).toBe('State.DEACTIVATED');
      ok('destroy');
      expect(steps['get_after_destroy']).toMatchObject({ ok: false });
      expect(ok('state_after_destroy')).toBe('State.DESTROYED');
    });
  }

  for (const version of ['1.1', '1.2', '1.4', '2.0']) {
    it(`registers every object type, creates a key pair, locates by filters and batches with an ID Placeholder over KMIP ${version}`, async () => {
      const prefix = `pykmip-objects-${version}`;
      const steps = await runScript(objectsScript, server, cert, version, prefix);
      const ok = (name: string) => {
        expect(steps[name], `${name}: ${steps[name]?.error ?? ''}\n${(steps[name] as { trace?: string } | undefined)?.trace ?? ''}`).toMatchObject({ ok: true });
        return steps[name]!.value;
      };
      const types: Record<string, string> = {
        symmetric_key: 'SYMMETRIC_KEY',
        secret_data: 'SECRET_DATA',
        opaque_object: 'OPAQUE_DATA',
        certificate: 'CERTIFICATE',
        public_key: 'PUBLIC_KEY',
        private_key: 'PRIVATE_KEY',
        split_key: 'SPLIT_KEY',
      };
      for (const [label, type] of Object.entries(types)) expect(ok(`register_${label}`), label).toMatchObject({ type, same: true });
      expect(ok('split_key_fields')).toEqual({ parts: 4, part: 3, threshold: 2, method: 'POLYNOMIAL_SHARING_GF_2_16', length: 128 });
      const [publicUid, privateUid] = ok('create_key_pair') as [string, string];
      expect(ok('key_pair_signs')).toEqual({ private: 'PKCS_1', public: 'PKCS_1', length: 2048 });
      // PyKMIP cannot decode Link attributes; read them from the store.
      const tenant = (await server.app.store.getTenantByName('pykmip'))!.id;
      const linkOf = async (uid: string) => (await server.app.store.getObject(tenant, uid))!.attributes.filter((a) => a.name === 'Link').map((a) => JSON.stringify(a.value));
      expect((await linkOf(privateUid)).join()).toContain(publicUid);
      expect((await linkOf(publicUid)).join()).toContain(privateUid);
      const privateKeys = ok('locate_private_keys') as string[];
      expect(privateKeys).toContain(privateUid);
      expect(privateKeys).toContain((steps['register_private_key']!.value as { uid: string }).uid);
      expect(ok('locate_by_name')).toEqual([publicUid]);
      expect(ok('locate_rsa_public')).toEqual(expect.arrayContaining([publicUid, (steps['register_public_key']!.value as { uid: string }).uid]));
      expect((ok('locate_maximum_one') as string[]).length).toBe(1);
      expect(ok('placeholder_batch')).toEqual({ statuses: ['SUCCESS', 'SUCCESS'], same_uid: true, state: 'State.ACTIVE' });
    });
  }
});
