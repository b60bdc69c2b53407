/**
 * The suite-wide secrets check: helpers that create a secret (root keys, client private keys,
 * tokens, API keys, passphrases) note it here, and helpers that capture output (server logs,
 * kmipctl output, metrics, KMIP result messages) note that too; after the whole suite,
 * test/secrets-scan.global.ts looks for every noted secret in every noted output.
 * Each test process appends to its own files in the folder the global setup names.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LEDGER_ENV = 'KMIP_TEST_SECRETS_DIR';

function dir(): string | undefined {
  return process.env[LEDGER_ENV] || undefined;
}

/** Values shorter than this are too common to scan for (they would match by chance). */
const MIN_SECRET = 16;

export function noteSecret(kind: string, value: string | Uint8Array | undefined): void {
  const d = dir();
  if (!d || value === undefined) return;
  const text = typeof value === 'string' ? value : Buffer.from(value).toString('hex');
  if (text.length < MIN_SECRET) return;
  appendFileSync(join(d, `secrets-${process.pid}.jsonl`), `${JSON.stringify({ kind, value: text })}\n`, { mode: 0o600 });
}

/** A PEM private key: its base64 body lines are the secret (any of them would leak part of the key). */
export function notePrivateKeyPem(kind: string, pem: string): void {
  for (const line of pem.split('\n')) if (!line.startsWith('-----') && line.trim().length >= 40) noteSecret(kind, line.trim());
}

export function noteOutput(label: string, text: string): void {
  const d = dir();
  if (!d || text.length === 0) return;
  appendFileSync(join(d, `output-${process.pid}.log`), `\n### ${label}\n${text}\n`);
}

/** Every noted secret looked for in every noted output of a ledger folder; hits name the kind and the output, never the value. */
export function scanLedger(folder: string): { secrets: number; outputBytes: number; hits: string[] } {
  const files = readdirSync(folder);
  const secrets = new Map<string, string>();
  for (const f of files.filter((n) => n.startsWith('secrets-'))) {
    for (const line of readFileSync(join(folder, f), 'utf8').split('\n')) {
      if (!line) continue;
      const { kind, value } = JSON.parse(line) as { kind: string; value: string };
      secrets.set(value, kind);
    }
  }
  const hits = new Set<string>();
  let outputBytes = 0;
  for (const f of files.filter((n) => n.startsWith('output-'))) {
    const text = readFileSync(join(folder, f), 'utf8');
    outputBytes += text.length;
    for (const [value, kind] of secrets) {
      const at = text.indexOf(value);
      if (at < 0) continue;
      const label = text.lastIndexOf('\n### ', at);
      hits.add(`${kind} appears in ${text.slice(label + 5, text.indexOf('\n', label + 5))}`);
    }
  }
  return { secrets: secrets.size, outputBytes, hits: [...hits] };
}

/** For tests of the scan itself: note into an explicit folder. */
export function withLedger<T>(folder: string, fn: () => T): T {
  const before = process.env[LEDGER_ENV];
  process.env[LEDGER_ENV] = folder;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env[LEDGER_ENV];
    else process.env[LEDGER_ENV] = before;
  }
}
