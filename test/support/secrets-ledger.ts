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

/** Characters of the secrets we note (hex, base64, base64url, JWTs, UUIDs): the text between others cannot hold one. */
const TOKEN = /[A-Za-z0-9+/=_.-]{16,}/g;
const TOKEN_SHAPED = /^[A-Za-z0-9+/=_.-]+$/;

/**
 * Every noted secret looked for in every noted output of a ledger folder; hits name the kind and the
 * output, never the value. One indexOf per secret per output grew as secrets × output (a minute per
 * run); instead every position of every long token is looked up by its first MIN_SECRET characters,
 * and only prefix matches are compared whole. Secrets of other characters (passphrases) use indexOf.
 */
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
  const byPrefix = new Map<string, string[]>();
  const others: string[] = [];
  for (const value of secrets.keys()) {
    if (!TOKEN_SHAPED.test(value)) {
      others.push(value);
      continue;
    }
    const prefix = value.slice(0, MIN_SECRET);
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), value]);
  }
  const hits = new Set<string>();
  let outputBytes = 0;
  for (const f of files.filter((n) => n.startsWith('output-'))) {
    const text = readFileSync(join(folder, f), 'utf8');
    outputBytes += text.length;
    const hit = (value: string, at: number) => {
      const label = text.lastIndexOf('\n### ', at);
      hits.add(`${secrets.get(value)} appears in ${text.slice(label + 5, text.indexOf('\n', label + 5))}`);
    };
    for (const m of text.matchAll(TOKEN)) {
      const token = m[0];
      for (let k = 0; k + MIN_SECRET <= token.length; k++) {
        const candidates = byPrefix.get(token.slice(k, k + MIN_SECRET));
        if (candidates) for (const value of candidates) if (token.startsWith(value, k)) hit(value, m.index + k);
      }
    }
    for (const value of others) {
      const at = text.indexOf(value);
      if (at >= 0) hit(value, at);
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
