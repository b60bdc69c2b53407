/**
 * Vitest global setup: names the ledger folder for the whole run, and after the last test scans
 * every output the suite noted for every secret it noted (test/support/secrets-ledger.ts). A hit
 * fails the run, naming the kind of secret and where it appeared, never the secret itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEDGER_ENV, scanLedger } from './support/secrets-ledger.js';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-secrets-ledger-'));
  process.env[LEDGER_ENV] = dir;
  return () => {
    const { secrets, outputBytes, hits } = scanLedger(dir);
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`\nsecrets scan: ${secrets} secrets against ${(outputBytes / 1e6).toFixed(1)} MB of logged output: ${hits.length} found\n`);
    if (hits.length > 0) throw new Error(`secrets found in output:\n${hits.join('\n')}`);
    // Output but no secret means the helpers stopped reaching the ledger: the scan would prove nothing.
    if (outputBytes > 0 && secrets === 0) throw new Error('secrets scan: output was noted but no secret was: the ledger is not reaching the test workers');
  };
}
