/**
 * backup export / import / verify. The passphrase stays on the operator's machine: the server
 * streams the snapshot (key material still wrapped by the root key) and kmipctl encrypts it, or
 * decrypts a file and streams it back. A file is written under a temporary name and renamed only
 * once complete, so a failed export never leaves something that looks like a backup.
 */
import { accessSync, constants, createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupFileError, checkPassphrase, createDecryptor, createEncryptor } from '../../backup/backup-file.js';
import { lines, parseSnapshotLine, type SnapshotLine } from '../../backup/snapshot-lines.js';
import type { Command, CommandContext } from '../command.js';
import { CliError } from '../errors.js';
import { need } from '../options.js';
import { progressReporter } from '../progress.js';

function passphrase(ctx: CommandContext): string {
  const file = ctx.options['passphrase-file'];
  let value: string | undefined;
  if (file) {
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new CliError(`cannot read the passphrase file ${file}: ${(err as Error).message}`, 2);
    }
  } else value = process.env['KMIPCTL_BACKUP_PASSPHRASE'];
  if (!value) throw new CliError('give the backup passphrase: --passphrase-file FILE (or KMIPCTL_BACKUP_PASSPHRASE)', 2);
  try {
    checkPassphrase(value);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  return value;
}

function fileError(err: unknown, file?: string): never {
  if (err instanceof BackupFileError) {
    // A short passphrase is a usage error; everything else the file says is a bad backup.
    if (err.code === 'BACKUP_ERR_PASSPHRASE') throw new CliError(err.message, 2);
    throw new CliError(err.message, 1, { code: err.code }, 'BAD_BACKUP');
  }
  // A file system error (it names a path) while writing the backup, e.g. ENOSPC: said plainly, no stack.
  const fsError = err as NodeJS.ErrnoException;
  if (file && typeof fsError.code === 'string' && typeof fsError.path === 'string') throw new CliError(`cannot write ${file}: ${fsError.code}${fsError.syscall ? ` (${fsError.syscall})` : ''}`, 1);
  throw err;
}

/** Where --out goes must be a folder we can write to: said before the server is asked for anything. */
function checkOutFolder(out: string): void {
  const folder = dirname(resolve(out));
  const st = statSync(folder, { throwIfNoEntry: false });
  if (!st) throw new CliError(`the folder ${folder} does not exist: create it (mkdir -p ${folder}) or give another --out`, 2);
  if (!st.isDirectory()) throw new CliError(`${folder} is not a folder: give another --out`, 2);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new CliError(`cannot write in the folder ${folder} (permission denied): give another --out`, 2);
  }
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${out} is a folder: give a file name, e.g. --out ${out.replace(/\/+$/, '')}/kmip-backup.kfv`, 2);
}

interface Counts {
  tenants: number;
  certs: number;
  objects: number;
}

/** Reads a snapshot's lines, checking each record and the end record's counts. */
async function* checkedSnapshot(source: AsyncIterable<string>, onObject: (objects: number, total: number) => void): AsyncGenerator<string, Counts & { createdAt: number }> {
  const counts: Counts = { tenants: 0, certs: 0, objects: 0 };
  let n = 0;
  let total = 0;
  let createdAt = 0;
  let end: SnapshotLine | undefined;
  for await (const text of source) {
    n++;
    if (text.startsWith('{"error":')) throw new CliError(`the server stopped: ${(JSON.parse(text) as { error: string }).error}`, 1);
    let line: SnapshotLine;
    try {
      line = parseSnapshotLine(text, n);
    } catch (err) {
      throw new CliError(`the snapshot is malformed: ${(err as Error).message}`, 1);
    }
    if (end) throw new CliError(`the snapshot has data after its end record (line ${n})`, 1);
    if ('snapshot' in line) {
      total = line.snapshot.objects;
      createdAt = line.snapshot.createdAt;
    } else if ('tenant' in line) counts.tenants++;
    else if ('cert' in line) counts.certs++;
    else if ('object' in line) onObject(++counts.objects, Math.max(total, counts.objects));
    else end = line;
    yield `${text}\n`;
  }
  if (!end || !('end' in end)) throw new CliError('the snapshot is cut off (no end record)', 1);
  if (end.end.tenants !== counts.tenants || end.end.certs !== counts.certs || end.end.objects !== counts.objects) {
    throw new CliError('the snapshot does not hold what its end record counts', 1);
  }
  return { ...counts, createdAt };
}

const exportBackup: Command = async (ctx) => {
  const out = need(ctx.options.out, '--out FILE');
  checkOutFolder(out);
  if (existsSync(out) && !ctx.options.force) throw new CliError(`${out} exists; give --force to replace it`, 2);
  const key = passphrase(ctx);
  const bar = progressReporter(ctx.out.json);
  const partial = `${out}.partial-${process.pid}`;
  let summary: (Counts & { createdAt: number }) | undefined;
  try {
    const encryptor = await createEncryptor(key);
    const snapshot = checkedSnapshot(ctx.client().lines('GET', '/v1/backup'), (done, total) => bar.update(done, total, {}));
    async function* body() {
      let r = await snapshot.next();
      while (!r.done) {
        yield r.value;
        r = await snapshot.next();
      }
      summary = r.value;
    }
    await pipeline(Readable.from(body()), encryptor, createWriteStream(partial, { mode: 0o600 }));
    renameSync(partial, out);
  } catch (err) {
    rmSync(partial, { force: true });
    fileError(err, out);
  }
  bar.finish();
  const s = summary!;
  const result = { file: out, bytes: statSync(out).size, tenants: s.tenants, certificates: s.certs, objects: s.objects, snapshotAt: new Date(s.createdAt).toISOString() };
  ctx.out.result(result, () => `backup written to ${out}: ${s.tenants} tenant(s), ${s.certs} certificate(s), ${s.objects} object(s) as of ${result.snapshotAt}`);
};

/**
 * The backup's plaintext lines. The file is opened only when the lines are read, so an error of the
 * file (a wrong passphrase) has a reader to go to: a stream opened early and never read would
 * throw its error at the process instead.
 */
function openBackup(ctx: CommandContext): { file: string; plain: () => AsyncGenerator<string> } {
  const file = need(ctx.options.in, '--in FILE');
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new CliError(`cannot read ${file}: no such file`, 2);
  if (!st.isFile()) throw new CliError(`${file} is not a file`, 2);
  const key = passphrase(ctx);
  async function* plain(): AsyncGenerator<string> {
    const decryptor = createDecryptor(key);
    const source = createReadStream(file);
    // A read error surfaces on the decryptor, where the reader sees it.
    source.on('error', (e) => decryptor.destroy(e));
    yield* lines(source.pipe(decryptor));
  }
  return { file, plain };
}

/** Reads the whole backup and checks every record, without a server. */
async function verifyFile(plain: () => AsyncGenerator<string>): Promise<Counts & { createdAt: number }> {
  const checked = checkedSnapshot(plain(), () => undefined);
  try {
    for (let r = await checked.next(); ; r = await checked.next()) if (r.done) return r.value;
  } catch (err) {
    fileError(err);
  }
}

const importBackup: Command = async (ctx) => {
  const { plain } = openBackup(ctx);
  // The file is proven readable and intact first: a wrong passphrase is said before the server is
  // asked anything, and a restore never starts from a file that would fail halfway.
  await verifyFile(plain);
  const check = await ctx.client().call<{ ready: boolean; reason?: string }>('GET', '/v1/restore');
  if (!check.ready) throw new CliError(check.reason ?? 'the server cannot take a restore', 3);
  const bar = progressReporter(ctx.out.json);
  const checked = checkedSnapshot(plain(), (done, total) => bar.update(done, total, {}));
  let result: { restored: Counts; adoptedTenants: string[] };
  try {
    result = await ctx.client().upload('/v1/restore', Readable.from(checked), 'application/x-ndjson');
  } catch (err) {
    fileError(err);
  }
  bar.finish();
  const r = result.restored;
  ctx.out.result(result, () =>
    [`restored ${r.tenants} tenant(s), ${r.certs} certificate(s), ${r.objects} object(s)`, ...(result.adoptedTenants.length ? [`existing tenants taken over: ${result.adoptedTenants.join(', ')}`] : [])].join('\n'),
  );
};

const verifyBackup: Command = async (ctx) => {
  const { plain } = openBackup(ctx);
  const summary = await verifyFile(plain);
  const result = { ok: true, tenants: summary.tenants, certificates: summary.certs, objects: summary.objects, snapshotAt: new Date(summary.createdAt).toISOString() };
  ctx.out.result(result, () => `backup is intact: ${result.tenants} tenant(s), ${result.certificates} certificate(s), ${result.objects} object(s) as of ${result.snapshotAt}`);
};

export const backupCommands: Record<string, Command> = {
  'backup export': exportBackup,
  'backup import': importBackup,
  'backup verify': verifyBackup,
};
