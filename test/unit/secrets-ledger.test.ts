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
});
