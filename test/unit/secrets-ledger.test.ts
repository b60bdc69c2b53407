import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noteOutput, notePrivateKeyPem, noteSecret, scanLedger, withLedger } from '../support/secrets-ledger.js';
import { generateRsaKeyPair } from '../../server/pki/certificates.js';

describe('the suite-wide secrets scan', () => {
  it('finds a noted secret in a noted output, names where, and never quotes the secret', () => {
    const folder = mkdtempSync(join(tmpdir(), 'ledger-test-'));
    try {
      const { privateKeyPem } = generateRsaKeyPair(2048);
      const leakedLine = privateKeyPem.split('\n')[3]!;
      withLedger(folder, () => {
        noteSecret('api key', 'apikey-0123456789abcdef');
        notePrivateKeyPem('client key', privateKeyPem);
        noteSecret('too short to scan', 'abc');
        noteOutput('clean log', '{"msg":"nothing to see"} abc');
        noteOutput('leaky log', `{"msg":"oops","k":"${leakedLine}"}`);
      });
      const result = scanLedger(folder);
      expect(result.secrets).toBeGreaterThan(10);
      expect(result.hits).toEqual(['client key appears in leaky log']);
      expect(result.hits.join()).not.toContain(leakedLine);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('finds secrets inside longer tokens, tokens with dots, and passphrases with spaces', () => {
    const folder = mkdtempSync(join(tmpdir(), 'ledger-test-'));
    try {
      const hex = '0123456789abcdef0123456789abcdef';
      const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz';
      withLedger(folder, () => {
        noteSecret('key material', hex);
        noteSecret('iam token', jwt);
        noteSecret('passphrase', 'correct horse battery staple');
        noteOutput('hex log', `{"m":"ff${hex}00"}`);
        noteOutput('token log', `Bearer ${jwt}`);
        noteOutput('passphrase log', 'used: correct horse battery staple.');
        noteOutput('near miss', `${hex.slice(0, 31)}x ${jwt.slice(0, 40)} correct horse`);
      });
      expect(scanLedger(folder).hits.sort()).toEqual(['iam token appears in token log', 'key material appears in hex log', 'passphrase appears in passphrase log']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
