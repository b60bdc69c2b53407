/**
 * Checks every file a configuration names before anything starts: it exists, it can be read, and it
 * holds what it should (PEM certificate, PEM private key matching its certificate, the root key
 * file's JSON, 48 ticket-key bytes, a non-empty secret). Cheap checks only; contents never reach a
 * message. Used by `kmip-server --config` (with the schema's problems, exit 2) and by `init`.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { LocalKeyWrapper } from '../wrap/local.js';
import { KEY_PAIRS, namedFiles, type NamedFile } from './named-files.js';

export type FileState = { readonly state: 'ok' } | { readonly state: 'missing'; readonly reason: string } | { readonly state: 'bad'; readonly reason: string };

export interface CheckedFile extends NamedFile {
  readonly result: FileState;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readProblem(err: unknown): FileState {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { state: 'missing', reason: 'does not exist' };
  if (code === 'ENOTDIR') return { state: 'missing', reason: 'a folder on its path is a file' };
  if (code === 'EACCES' || code === 'EPERM') return { state: 'bad', reason: 'cannot be read by this user (permission denied)' };
  if (code === 'EISDIR') return { state: 'bad', reason: 'is a folder, not a file' };
  return { state: 'bad', reason: `cannot be read (${code ?? (err as Error).message})` };
}

function certificates(text: string): X509Certificate[] {
  return (text.match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem));
}

/** What the file holds, judged by its kind. */
function checkContent(f: NamedFile, bytes: Buffer): FileState {
  const bad = (reason: string): FileState => ({ state: 'bad', reason });
  switch (f.kind) {
    case 'certificate':
    case 'ca': {
      let certs: X509Certificate[];
      try {
        certs = certificates(bytes.toString('utf8'));
      } catch {
        return bad('holds a PEM certificate block that does not parse');
      }
      if (certs.length === 0) return bad('is not a PEM certificate (no BEGIN CERTIFICATE block)');
      return { state: 'ok' };
    }
    case 'private-key':
      try {
        createPrivateKey(bytes);
        return { state: 'ok' };
      } catch {
        return bad('is not a PEM private key (or it is encrypted: the server needs it unencrypted, mode 0600)');
      }
    case 'root-key':
      try {
        // The wrapper's own checks (mode 0600, JSON, id/current/versions of base64 AES-256 keys).
        void new LocalKeyWrapper(f.file).close();
        return { state: 'ok' };
      } catch (err) {
        // Its messages read "CODE: root key file PATH <reason>": the path is already on the line.
        const message = (err as Error).message;
        const at = message.indexOf(f.file);
        return bad((at >= 0 ? message.slice(at + f.file.length) : message).replace(/^[\s:]+/, '') || 'is not a root key file');
      }
    case 'ticket-keys':
      return bytes.length >= 48 ? { state: 'ok' } : bad(`holds ${bytes.length} bytes; TLS ticket keys need 48 random bytes`);
    case 'secret':
      return bytes.toString('utf8').trim() !== '' ? { state: 'ok' } : bad('is empty');
    case 'sqlite':
      return { state: 'ok' };
  }
}

export function checkFile(f: NamedFile): FileState {
  if (f.kind === 'sqlite') {
    // The database file is created at the first start; its folder must be there.
    try {
      if (!statSync(dirname(f.file)).isDirectory()) return { state: 'bad', reason: `${dirname(f.file)} is not a folder` };
    } catch (err) {
      const r = readProblem(err);
      return r.state === 'missing' ? { state: 'missing', reason: `cannot be created: its folder ${dirname(f.file)} does not exist` } : r;
    }
    try {
      return statSync(f.file).isDirectory() ? { state: 'bad', reason: 'is a folder, not a file' } : { state: 'ok' };
    } catch {
      return { state: 'ok' };
    }
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(f.file);
  } catch (err) {
    return readProblem(err);
  }
  return checkContent(f, bytes);
}

/** Every named file, checked. */
export function checkNamedFiles(doc: unknown): CheckedFile[] {
  return namedFiles(doc).map((f) => ({ ...f, result: checkFile(f) }));
}

/** A certificate and its key that both read well but do not belong together. */
function pairProblems(checked: readonly CheckedFile[]): string[] {
  const out: string[] = [];
  for (const pair of KEY_PAIRS) {
    const cert = checked.find((c) => c.at === pair.cert);
    const key = checked.find((c) => c.at === pair.key);
    if (cert?.result.state !== 'ok' || key?.result.state !== 'ok') continue;
    let leaf: X509Certificate | undefined;
    let privateKey: KeyObject;
    try {
      leaf = certificates(readFileSync(cert.file, 'utf8'))[0];
      privateKey = createPrivateKey(readFileSync(key.file));
    } catch {
      continue;
    }
    if (leaf && !leaf.checkPrivateKey(privateKey)) {
      out.push(`${pair.key}: ${key.file} is not the private key of the first certificate in ${pair.cert} (${cert.file})`);
    }
  }
  return out;
}

/** What the environment must supply for the config (a database URL, an API key variable). */
function environmentProblems(doc: unknown): string[] {
  const root = (doc ?? {}) as { store?: { kind?: unknown; url?: unknown }; wrap?: { kind?: unknown; apiKeyEnv?: unknown } };
  const out: string[] = [];
  if (root.store?.kind === 'postgres' && root.store.url === undefined && !process.env['DATABASE_URL']) {
    out.push('store.url: not given and DATABASE_URL is not set (give one of them)');
  }
  const env = root.wrap?.kind === 'keyprotect' ? root.wrap.apiKeyEnv : undefined;
  if (typeof env === 'string' && /^[A-Z_][A-Z0-9_]*$/.test(env) && !(process.env[env] ?? '').trim()) {
    out.push(`wrap.apiKeyEnv: the environment variable ${env} is not set`);
  }
  return out;
}

const INIT_HINT = 'kmip-server init --config FILE creates it';

/**
 * The named files' problems only, one line each ("path: file: reason (fix)"), a certificate and key
 * that do not match included: what `init` checks again after writing, whatever the environment holds.
 */
export function fileProblems(doc: unknown, fixHint = INIT_HINT): string[] {
  const checked = checkNamedFiles(doc);
  const lines = checked.flatMap((c) => {
    if (c.result.state === 'ok') return [];
    const hint = c.result.state === 'missing' && initCreates(c) ? ` (${fixHint})` : '';
    return [`${c.at}: ${c.file} ${c.result.reason}${hint}`];
  });
  return [...lines, ...pairProblems(checked)];
}

/** Every problem a start would meet, for ConfigError: the files' and the environment's; empty when all is usable. */
export function configFileProblems(doc: unknown, fixHint = INIT_HINT): string[] {
  return [...fileProblems(doc, fixHint), ...environmentProblems(doc)];
}

/** Files only their owner can provide: a database CA, a Key Protect API key. */
export function initCreates(f: NamedFile): boolean {
  return !(f.at === 'store.caFile' || f.at === 'wrap.apiKeyFile');
}
