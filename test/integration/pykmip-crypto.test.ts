/**
 * The cryptographic operations with a real third-party client: Debian's python3-pykmip (ProxyKmipClient)
 * over mTLS against the in-process server. The script checks the server's results with the Python
 * 'cryptography' package on the key material Get returns.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, pykmipAvailable, requirement } from '../support/env.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';

const skip = requirement('PyKMIP (python3-pykmip for /usr/bin/python3)', pykmipAvailable(), 'apt-get install python3-pykmip');
const script = fileURLToPath(new URL('../interop/pykmip_crypto.py', import.meta.url));

interface Step {
  ok: boolean;
  value?: unknown;
  error?: string;
  trace?: string;
}

async function runCrypto(server: TestServer, cert: TestClientCert, version: string): Promise<Record<string, Step>> {
  const { stdout } = await promisify(execFile)(PYTHON, [script, '127.0.0.1', String(server.port), cert.certFile, cert.keyFile, server.pki.caFile, version], { timeout: 90_000 });
  return (JSON.parse(stdout) as { steps: Record<string, Step> }).steps;
}

describe.skipIf(skip)('PyKMIP cryptographic services', () => {
  let server: TestServer;
  let cert: TestClientCert;
  beforeAll(async () => {
    server = await startTestServer();
    ({ cert } = await server.tenant('pykmip-crypto'));
  });
  afterAll(() => server?.close());

  for (const version of ['1.2', '1.4', '2.0']) {
    it(`encrypts, decrypts, signs, verifies, MACs and derives keys over KMIP ${version}`, async () => {
      const steps = await runCrypto(server, cert, version);
      const ok = (name: string) => {
        expect(steps[name], `${name}: ${steps[name]?.error ?? ''}\n${steps[name]?.trace ?? ''}`).toMatchObject({ ok: true });
        return steps[name]!.value;
      };
      ok('activate_aes');
      expect(ok('aes_cbc')).toEqual({ iv_bytes: 16, ciphertext_bytes: 48, round_trip: true, matches_local: true });
      expect(ok('aes_cbc_client_iv')).toEqual({ iv_returned: false, round_trip: true });
      if (version === '1.2') {
        // KMIP 1.2 has no field for the tag: GCM is refused rather than answered with ciphertext no one can decrypt.
        for (const name of ['aes_gcm_encrypt', 'aes_gcm_decrypt_without_tag']) {
          expect(steps[name], name).toMatchObject({ ok: false });
          expect(steps[name]!.error, name).toMatch(/FEATURE_NOT_SUPPORTED/);
        }
      } else {
        expect(ok('aes_gcm_encrypt')).toEqual({ ciphertext_bytes: 45, matches_local: true });
        // PyKMIP's client API cannot pass the tag back: the server refuses an unauthenticated GCM decryption.
        expect(steps['aes_gcm_decrypt_without_tag']).toMatchObject({ ok: false });
        expect(steps['aes_gcm_decrypt_without_tag']!.error).toMatch(/INVALID_MESSAGE/);
      }
      ok('activate_rsa');
      for (const scheme of ['rsa_pss', 'rsa_pkcs1v15']) {
        expect(ok(scheme)).toEqual({ signature_bytes: 256, valid: 'ValidityIndicator.VALID', tampered: 'ValidityIndicator.INVALID', verified_locally: true });
      }
      ok('activate_hmac');
      expect(ok('hmac_sha256')).toEqual({ uid_matches: true, mac_bytes: 32, matches_local: true });
      ok('activate_derive_base');
      expect(ok('derive_hmac')).toEqual({ new_object: true, key_bytes: 16, matches_local: true });
      expect(ok('derive_pbkdf2')).toEqual({ matches_local: true });
    });
  }
});
