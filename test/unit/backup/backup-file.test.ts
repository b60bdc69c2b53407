import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BackupFileError, createDecryptor, createEncryptor } from '../../../server/backup/backup-file.js';

const PASS = 'correct horse battery staple';
const FAST = { N: 2 ** 14 };

async function encrypt(plain: Buffer, passphrase = PASS): Promise<Buffer> {
  const enc = await createEncryptor(passphrase, FAST);
  const out = buffer(enc);
  // Uneven pieces, as a network stream delivers them.
  const pieces: Buffer[] = [];
  for (let i = 0; i < plain.length; ) {
    const n = 1 + Math.floor(Math.random() * 50_000);
    pieces.push(plain.subarray(i, i + n));
    i += n;
  }
  return (await Promise.all([out, pipeline(Readable.from(pieces), enc)]))[0];
}

async function decrypt(file: Buffer, passphrase = PASS, pieceSize = 7777): Promise<Buffer> {
  const dec = createDecryptor(passphrase);
  const out = buffer(dec);
  const pieces: Buffer[] = [];
  for (let i = 0; i < file.length; i += pieceSize) pieces.push(file.subarray(i, i + pieceSize));
  return (await Promise.all([out, pipeline(Readable.from(pieces), dec)]))[0];
}

function frames(file: Buffer): { header: Buffer; frames: Buffer[] } {
  const nl = file.indexOf(0x0a);
  const header = file.subarray(0, nl + 1);
  const list: Buffer[] = [];
  for (let i = nl + 1; i < file.length; ) {
    const len = file.readUInt32BE(i);
    list.push(file.subarray(i, i + 4 + len + 16));
    i += 4 + len + 16;
  }
  return { header, frames: list };
}

const code = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BackupFileError);
  return (err as BackupFileError).code;
};

describe('backup file', () => {
  it('round-trips empty, small and multi-frame contents, and hides them', async () => {
    for (const size of [0, 1, 65_536, 65_537, 300_000]) {
      const plain = randomBytes(size);
      const file = await encrypt(plain);
      expect((await decrypt(file)).equals(plain), `size ${size}`).toBe(true);
    }
    const text = Buffer.from('{"tenant":{"name":"vcenter-prod"}}\n'.repeat(100));
    const file = await encrypt(text);
    expect(file.includes(Buffer.from('vcenter-prod'))).toBe(false);
    expect(JSON.parse(file.subarray(0, file.indexOf(0x0a)).toString())).toMatchObject({ format: 'kmip-for-vmware-backup', cipher: 'aes-256-gcm', kdf: { name: 'scrypt' } });
  });

  it('derives a new key per file: the same contents encrypt differently', async () => {
    const plain = Buffer.from('same');
    expect((await encrypt(plain)).equals(await encrypt(plain))).toBe(false);
  });

  it('refuses a wrong passphrase and a short one', async () => {
    const file = await encrypt(randomBytes(1000));
    expect(await code(decrypt(file, 'another long passphrase'))).toBe('BACKUP_ERR_AUTH');
    expect(await code(createEncryptor('short'))).toBe('BACKUP_ERR_PASSPHRASE');
  });

  it('detects a changed byte anywhere, in the header or any frame', async () => {
    const file = await encrypt(randomBytes(150_000));
    const { header } = frames(file);
    for (const at of [10, header.length + 2, header.length + 100, Math.floor(file.length / 2), file.length - 1]) {
      const bad = Buffer.from(file);
      bad[at]! ^= 0x01;
      const err = await decrypt(bad).then(() => undefined, (e: unknown) => e);
      expect(err, `byte ${at}`).toBeInstanceOf(Error);
      // Refused as a damaged file, not by a crash of the reader (RangeError and the like).
      expect(await code(Promise.reject(err)), `byte ${at}`).toMatch(/^BACKUP_ERR_(AUTH|FORMAT|TRUNCATED)$/);
    }
  });

  it('detects truncation at a frame boundary, dropped, swapped and appended frames', async () => {
    const file = await encrypt(randomBytes(200_000));
    const { header, frames: f } = frames(file);
    expect(f.length).toBe(4);
    expect(await code(decrypt(Buffer.concat([header, ...f.slice(0, 3)])))).toBe('BACKUP_ERR_TRUNCATED');
    expect(await code(decrypt(file.subarray(0, file.length - 5)))).toBe('BACKUP_ERR_TRUNCATED');
    expect(await code(decrypt(Buffer.concat([header, f[0]!, f[2]!, f[3]!])))).toBe('BACKUP_ERR_AUTH');
    expect(await code(decrypt(Buffer.concat([header, f[1]!, f[0]!, f[2]!, f[3]!])))).toBe('BACKUP_ERR_AUTH');
    expect(await code(decrypt(Buffer.concat([file, f[3]!])))).toBe('BACKUP_ERR_AUTH');
  });

  it('refuses files that are not backups, and headers asking for unbounded work', async () => {
    expect(await code(decrypt(Buffer.from('hello\n')))).toBe('BACKUP_ERR_FORMAT');
    expect(await code(decrypt(Buffer.alloc(10_000, 0x41)))).toBe('BACKUP_ERR_FORMAT');
    expect(await code(decrypt(Buffer.alloc(0)))).toBe('BACKUP_ERR_FORMAT');
    const file = await encrypt(Buffer.from('x'));
    const nl = file.indexOf(0x0a);
    const header = JSON.parse(file.subarray(0, nl).toString()) as { kdf: { N: number } };
    header.kdf.N = 2 ** 30;
    expect(await code(decrypt(Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), file.subarray(nl + 1)])))).toBe('BACKUP_ERR_FORMAT');
  });

  it('uses the strong scrypt setting by default', async () => {
    const enc = await createEncryptor(PASS);
    const head = (await buffer(Readable.from([]).pipe(enc))).toString();
    expect(JSON.parse(head.slice(0, head.indexOf('\n')))).toMatchObject({ kdf: { N: 131072, r: 8, p: 1 } });
  });
});
