/**
 * The local root-key provider: AES-256-GCM under a root key kept in a 0600 JSON file, with versions
 * so a rotation is a rewrap. For the embedded default and tests; production uses Key Protect.
 *
 * Ciphertext layout: magic "LRK1" | version id length (1) | version id | iv (12) | tag (16) | data.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { WrapError, WrapErrorCode } from './errors.js';
import { randomBytesPooled } from '../util/random-pool.js';
import type { KeyWrapper, UnwrapResult, WrappedKey } from './wrapper.js';

const MAGIC = Buffer.from('LRK1');
const AAD_PREFIX = 'kmip-for-vmware/local/v1/';

interface RootKeyFile {
  readonly id: string;
  readonly current: string;
  readonly versions: Record<string, string>;
}

function parseKeyFile(path: string): RootKeyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new WrapError(WrapErrorCode.Config, `root key file ${path} is not readable JSON`, {}, { cause: err });
  }
  const f = doc as Partial<RootKeyFile>;
  if (typeof f.id !== 'string' || typeof f.current !== 'string' || typeof f.versions !== 'object' || f.versions === null) {
    throw new WrapError(WrapErrorCode.Config, `root key file ${path} lacks id, current or versions`);
  }
  for (const [version, key] of Object.entries(f.versions)) {
    if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 32) {
      throw new WrapError(WrapErrorCode.Config, `root key file ${path}: version ${version} is not a base64 AES-256 key`);
    }
  }
  if (!(f.current in f.versions)) throw new WrapError(WrapErrorCode.Config, `root key file ${path}: current version is missing`);
  return f as RootKeyFile;
}

function keyFileText(file: RootKeyFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

function writeKeyFile(path: string, file: RootKeyFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, keyFileText(file), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function newRootKey(): RootKeyFile {
  return { id: `local-${randomUUID()}`, current: '1', versions: { '1': randomBytes(32).toString('base64') } };
}

/** A new root key file's text (one fresh version, current), for a caller that writes it create-only (`init`). */
export function newLocalRootKeyText(): string {
  return keyFileText(newRootKey());
}

/** Creates the root key file with one fresh version when it does not exist; returns whether it created it. */
export function ensureLocalRootKey(path: string): boolean {
  if (existsSync(path)) return false;
  writeKeyFile(path, newRootKey());
  return true;
}

/** Adds a new version and makes it current (what a Key Protect rotation does, locally). */
export function rotateLocalRootKey(path: string): string {
  const file = parseKeyFile(path);
  const next = String(Math.max(...Object.keys(file.versions).map(Number)) + 1);
  writeKeyFile(path, { ...file, current: next, versions: { ...file.versions, [next]: randomBytes(32).toString('base64') } });
  return next;
}

export class LocalKeyWrapper implements KeyWrapper {
  readonly kind = 'local';
  private file: RootKeyFile;
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly path: string) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new WrapError(WrapErrorCode.Config, `root key file ${path} must not be readable by group or others (mode ${mode.toString(8)})`);
    this.file = parseKeyFile(path);
    this.load();
  }

  private load(): void {
    this.keys.clear();
    // KeyObjects: imported once, not on every cipher.
    for (const [v, k] of Object.entries(this.file.versions)) this.keys.set(v, createSecretKey(Buffer.from(k, 'base64')));
  }

  /** Re-reads the key file (after a local rotation by the operator CLI). */
  reload(): void {
    this.file = parseKeyFile(this.path);
    this.load();
  }

  async wrap(plaintext: Uint8Array, aad: string): Promise<WrappedKey> {
    const version = this.file.current;
    const key = this.keys.get(version)!;
    const iv = randomBytesPooled(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(AAD_PREFIX + aad));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const versionBytes = Buffer.from(version);
    const ciphertext = Buffer.concat([MAGIC, Buffer.from([versionBytes.length]), versionBytes, iv, cipher.getAuthTag(), data]);
    return { ciphertext: new Uint8Array(ciphertext), wrapKind: this.kind, rootKeyId: this.file.id, rootKeyVersion: version };
  }

  async unwrap(wrapped: WrappedKey, aad: string): Promise<UnwrapResult> {
    const plaintext = this.open(wrapped, aad);
    if (wrapped.rootKeyVersion === this.file.current) return { plaintext };
    return { plaintext, rewrapped: await this.wrap(plaintext, aad) };
  }

  async rewrap(wrapped: WrappedKey, aad: string): Promise<WrappedKey> {
    if (wrapped.rootKeyVersion === this.file.current && wrapped.rootKeyId === this.file.id) return wrapped;
    const plaintext = this.open(wrapped, aad);
    try {
      return await this.wrap(plaintext, aad);
    } finally {
      plaintext.fill(0);
    }
  }

  private open(wrapped: WrappedKey, aad: string): Uint8Array {
    if (wrapped.wrapKind !== this.kind || wrapped.rootKeyId !== this.file.id) {
      throw new WrapError(WrapErrorCode.RootKeyUnusable, `object is wrapped by another root key (${wrapped.wrapKind} ${wrapped.rootKeyId})`);
    }
    const c = Buffer.from(wrapped.ciphertext);
    if (c.length < MAGIC.length + 1 || !c.subarray(0, 4).equals(MAGIC)) throw new WrapError(WrapErrorCode.Rejected, 'ciphertext format not recognised');
    const vlen = c[4]!;
    const version = c.subarray(5, 5 + vlen).toString();
    const key = this.keys.get(version);
    if (!key) throw new WrapError(WrapErrorCode.RootKeyUnusable, `root key version ${version} is not available`);
    const at = 5 + vlen;
    if (c.length < at + 28) throw new WrapError(WrapErrorCode.Rejected, 'ciphertext is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, c.subarray(at, at + 12));
      decipher.setAAD(Buffer.from(AAD_PREFIX + aad));
      decipher.setAuthTag(c.subarray(at + 12, at + 28));
      return new Uint8Array(Buffer.concat([decipher.update(c.subarray(at + 28)), decipher.final()]));
    } catch (err) {
      throw new WrapError(WrapErrorCode.Rejected, 'ciphertext does not authenticate for this object', {}, { cause: err });
    }
  }

  async currentVersion(): Promise<string> {
    return this.file.current;
  }

  async check(): Promise<void> {
    if (!this.keys.has(this.file.current)) throw new WrapError(WrapErrorCode.RootKeyUnusable, 'current root key version missing');
  }

  async close(): Promise<void> {
    this.keys.clear();
  }
}
