/**
 * The backup file: a plaintext JSON header line (format, KDF parameters and salt), then the
 * snapshot lines encrypted in frames with AES-256-GCM under a key derived from a passphrase with
 * scrypt. Each frame's nonce is its counter (the key is new for every file, from a fresh salt); its
 * associated data binds the header, the counter and a last-frame flag, so reordering, dropping,
 * truncating or appending frames, or editing the header, is detected.
 *
 * frame = u32 big-endian ciphertext length ‖ ciphertext ‖ 16-byte tag
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { z } from 'zod';

export const BACKUP_FORMAT = 'kmip-for-vmware-backup';
export const MIN_PASSPHRASE_LENGTH = 12;
const CHUNK = 64 * 1024;
const MAX_FRAME = 1024 * 1024;
const MAX_HEADER = 4096;
const TAG = 16;

/** 2^17 × 8 × 128 bytes: 128 MiB and about half a second per derivation, on purpose. */
const DEFAULT_KDF = { name: 'scrypt' as const, N: 2 ** 17, r: 8, p: 1 };

const Header = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    version: z.literal(1),
    createdAt: z.string().max(40),
    cipher: z.literal('aes-256-gcm'),
    // Bounded so a crafted header cannot make us spend gigabytes or minutes.
    kdf: z.object({ name: z.literal('scrypt'), N: z.number().int().min(2 ** 14).max(2 ** 20), r: z.number().int().min(1).max(16), p: z.number().int().min(1).max(4), salt: z.string().regex(/^[A-Za-z0-9+/]{43}=$/) }).strict(),
  })
  .strict();
export type BackupHeader = z.infer<typeof Header>;

export class BackupFileError extends Error {
  constructor(
    readonly code: 'BACKUP_ERR_FORMAT' | 'BACKUP_ERR_AUTH' | 'BACKUP_ERR_TRUNCATED' | 'BACKUP_ERR_PASSPHRASE',
    message: string,
  ) {
    super(message);
  }
}

export function checkPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new BackupFileError('BACKUP_ERR_PASSPHRASE', `the backup passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
}

function deriveKey(passphrase: string, kdf: BackupHeader['kdf']): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 160 * kdf.N * kdf.r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

function nonce(counter: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 6, 6);
  return n;
}

function frameAad(headerDigest: Buffer, counter: number, last: boolean): Buffer {
  const aad = Buffer.alloc(headerDigest.length + 9);
  headerDigest.copy(aad);
  aad.writeUIntBE(counter, headerDigest.length + 2, 6);
  aad[aad.length - 1] = last ? 1 : 0;
  return aad;
}

/** Plaintext in, backup file bytes out. The key is derived before the first byte is written. */
export async function createEncryptor(passphrase: string, kdfOverride?: Partial<typeof DEFAULT_KDF>): Promise<Transform> {
  checkPassphrase(passphrase);
  const kdf = { ...DEFAULT_KDF, ...kdfOverride, salt: randomBytes(32).toString('base64') };
  const header: BackupHeader = { format: BACKUP_FORMAT, version: 1, createdAt: new Date().toISOString(), cipher: 'aes-256-gcm', kdf };
  const headerLine = Buffer.from(`${JSON.stringify(header)}\n`);
  const digest = createHash('sha256').update(headerLine).digest();
  const key = await deriveKey(passphrase, kdf);
  let counter = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const seal = (plain: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(counter));
    cipher.setAAD(frameAad(digest, counter, last));
    counter++;
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    return Buffer.concat([length, body, cipher.getAuthTag()]);
  };
  const t = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= CHUNK) {
        const all = Buffer.concat(pending);
        this.push(seal(all.subarray(0, CHUNK), false));
        pending = [all.subarray(CHUNK)];
        pendingBytes = all.length - CHUNK;
      }
      done();
    },
    flush(done: TransformCallback) {
      this.push(seal(Buffer.concat(pending), true));
      key.fill(0);
      done();
    },
  });
  t.push(headerLine);
  return t;
}

/** Backup file bytes in, plaintext out; fails on a wrong passphrase, any change, or a cut-off file. */
export function createDecryptor(passphrase: string): Transform & { header: Promise<BackupHeader> } {
  let buffer: Buffer = Buffer.alloc(0);
  let key: Buffer | undefined;
  let digest: Buffer | undefined;
  let counter = 0;
  let ended = false;
  let resolveHeader!: (h: BackupHeader) => void;
  let rejectHeader!: (e: Error) => void;
  const header = new Promise<BackupHeader>((res, rej) => {
    resolveHeader = res;
    rejectHeader = rej;
  });
  header.catch(() => undefined);

  const readHeader = async (): Promise<boolean> => {
    const nl = buffer.indexOf(0x0a);
    if (nl < 0) {
      if (buffer.length > MAX_HEADER) throw new BackupFileError('BACKUP_ERR_FORMAT', 'not a kmip-for-vmware backup file');
      return false;
    }
    const line = buffer.subarray(0, nl + 1);
    let parsed: BackupHeader;
    try {
      parsed = Header.parse(JSON.parse(line.toString('utf8')));
    } catch {
      throw new BackupFileError('BACKUP_ERR_FORMAT', 'not a kmip-for-vmware backup file (or a version this kmipctl does not read)');
    }
    digest = createHash('sha256').update(line).digest();
    key = await deriveKey(passphrase, parsed.kdf);
    buffer = buffer.subarray(nl + 1);
    resolveHeader(parsed);
    return true;
  };

  const openFrames = (push: (b: Buffer) => void) => {
    for (;;) {
      if (buffer.length < 4) return;
      const length = buffer.readUInt32BE(0);
      if (length > MAX_FRAME) throw new BackupFileError('BACKUP_ERR_FORMAT', 'the backup file is damaged (frame too large)');
      if (buffer.length < 4 + length + TAG) return;
      if (ended) throw new BackupFileError('BACKUP_ERR_AUTH', 'the backup file has data after its end: it was changed');
      const body = buffer.subarray(4, 4 + length);
      const tag = buffer.subarray(4 + length, 4 + length + TAG);
      buffer = buffer.subarray(4 + length + TAG);
      // The last frame is the one at the end of the file; try "not last" first, then "last".
      const plain = tryOpen(body, tag, false) ?? tryOpen(body, tag, true);
      if (!plain) {
        throw new BackupFileError(
          'BACKUP_ERR_AUTH',
          counter === 0 ? 'wrong passphrase, or the backup file was changed' : 'the backup file was changed or damaged (a frame does not authenticate)',
        );
      }
      counter++;
      if (plain.length) push(plain);
    }
  };
  const tryOpen = (body: Buffer, tag: Buffer, last: boolean): Buffer | undefined => {
    try {
      const d = createDecipheriv('aes-256-gcm', key!, nonce(counter));
      d.setAAD(frameAad(digest!, counter, last));
      d.setAuthTag(tag);
      const out = Buffer.concat([d.update(body), d.final()]);
      if (last) ended = true;
      return out;
    } catch {
      return undefined;
    }
  };

  const t = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const go = async () => {
        if (!key && !(await readHeader())) return;
        openFrames((b) => this.push(b));
      };
      go().then(
        () => done(),
        (err: Error) => {
          rejectHeader(err);
          done(err);
        },
      );
    },
    flush(done: TransformCallback) {
      key?.fill(0);
      if (!digest) {
        const err = new BackupFileError('BACKUP_ERR_FORMAT', 'not a kmip-for-vmware backup file (it ends before its header)');
        rejectHeader(err);
        return done(err);
      }
      if (!ended || buffer.length > 0) return done(new BackupFileError('BACKUP_ERR_TRUNCATED', 'the backup file is cut off: it ends before its last frame'));
      done();
    },
  });
  return Object.assign(t, { header });
}
