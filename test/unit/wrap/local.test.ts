import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WrapErrorCode } from '../../../server/wrap/errors.js';
import { ensureLocalRootKey, LocalKeyWrapper, rotateLocalRootKey } from '../../../server/wrap/local.js';

function keyFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kmip-rk-')), 'root-key.json');
  expect(ensureLocalRootKey(path)).toBe(true);
  expect(ensureLocalRootKey(path)).toBe(false);
  return path;
}

const secret = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex'));

describe('local root-key provider', () => {
  it('creates a 0600 key file and wraps with AES-256-GCM, the object id bound as associated data', async () => {
    const path = keyFile();
    expect(statMode(path)).toBe('600');
    const w = new LocalKeyWrapper(path);
    const wrapped = await w.wrap(secret, 'uid-1');
    expect(wrapped).toMatchObject({ wrapKind: 'local', rootKeyVersion: '1' });
    expect(Buffer.from(wrapped.ciphertext).includes(Buffer.from(secret))).toBe(false);
    expect((await w.unwrap(wrapped, 'uid-1')).plaintext).toEqual(secret);
    await expect(w.unwrap(wrapped, 'uid-2')).rejects.toMatchObject({ code: WrapErrorCode.Rejected });
  });

  it('refuses tampered ciphertext and ciphertext from another root key', async () => {
    const w = new LocalKeyWrapper(keyFile());
    const wrapped = await w.wrap(secret, 'u');
    const tampered = new Uint8Array(wrapped.ciphertext);
    tampered[tampered.length - 1]! ^= 1;
    await expect(w.unwrap({ ...wrapped, ciphertext: tampered }, 'u')).rejects.toMatchObject({ code: WrapErrorCode.Rejected });
    const other = new LocalKeyWrapper(keyFile());
    await expect(other.unwrap(wrapped, 'u')).rejects.toMatchObject({ code: WrapErrorCode.RootKeyUnusable });
  });

  it('after a rotation, unwraps old ciphertext, offers the rewrapped form, and rewraps to the new version', async () => {
    const path = keyFile();
    const w = new LocalKeyWrapper(path);
    const old = await w.wrap(secret, 'u');
    expect(rotateLocalRootKey(path)).toBe('2');
    w.reload();
    const result = await w.unwrap(old, 'u');
    expect(result.plaintext).toEqual(secret);
    expect(result.rewrapped?.rootKeyVersion).toBe('2');
    const rewrapped = await w.rewrap(old, 'u');
    expect(rewrapped.rootKeyVersion).toBe('2');
    expect(await w.rewrap(rewrapped, 'u')).toBe(rewrapped);
    expect((await w.unwrap(rewrapped, 'u')).rewrapped).toBeUndefined();
  });

  it('refuses a key file readable by others, or one that is not a root key file', () => {
    const path = keyFile();
    chmodSync(path, 0o644);
    expect(() => new LocalKeyWrapper(path)).toThrowError(expect.objectContaining({ code: WrapErrorCode.Config }));
    const bad = join(mkdtempSync(join(tmpdir(), 'kmip-rk-')), 'k.json');
    writeFileSync(bad, JSON.stringify({ id: 'x', current: '1', versions: { '1': 'c2hvcnQ=' } }), { mode: 0o600 });
    expect(() => new LocalKeyWrapper(bad)).toThrowError(/not a base64 AES-256 key/);
    writeFileSync(bad, 'not json', { mode: 0o600 });
    expect(() => new LocalKeyWrapper(bad)).toThrowError(expect.objectContaining({ code: WrapErrorCode.Config }));
    expect(readFileSync(path, 'utf8')).toContain('"versions"');
  });
});

import { statSync } from 'node:fs';
function statMode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}
