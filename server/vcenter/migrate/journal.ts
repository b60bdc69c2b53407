/**
 * The migration journal: one JSON line per step, each written and fsynced before the step it announces, so a
 * run killed at any point (SIGKILL included) leaves a record of what it had started. On restart vCenter's own
 * state is the truth: a resumed run reads each object again and acts only on what is still on the old provider,
 * with the key the journal says was generated for it and after the task the journal says was started, so it
 * never rekeys an object twice (every change also carries the VM's changeVersion, so vCenter refuses one that
 * would overwrite a newer state). A torn last line (the kill hit mid-write)
 * is ignored; any other unreadable line refuses the journal rather than guessing.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { VcenterError } from '../errors.js';

export const JOURNAL_FORMAT = 'kmip-for-vmware migrate journal 1';

export interface JournalHeader {
  readonly format: typeof JOURNAL_FORMAT;
  readonly vcenter: string;
  readonly from: string;
  readonly to: string;
  readonly created: string;
}

export type JournalEvent =
  /** A key generated on the new provider for this object (before anything is sent). */
  | { readonly event: 'key'; readonly keyId: string }
  /** A change is about to be sent; for a VM, against this changeVersion. */
  | { readonly event: 'sent'; readonly keyId?: string; readonly changeVersion?: string; readonly oldKeys?: readonly string[] }
  | { readonly event: 'task'; readonly task: string }
  /** A template was turned into a VM for its rekey (it must go back). */
  | { readonly event: 'converted' }
  /** ...and is a template again. */
  | { readonly event: 'reverted' }
  | { readonly event: 'done'; readonly keyId?: string; readonly detail?: string }
  | { readonly event: 'failed'; readonly fault?: string; readonly message: string };

export type JournalRecord = JournalEvent & { readonly at: string; readonly id: string };

export interface ObjectHistory {
  readonly records: readonly JournalRecord[];
  /** The last key generated for it (reused on resume so no second key is made). */
  readonly keyId?: string;
  /** The changeVersion of the last change sent, when no outcome followed. */
  readonly pendingChangeVersion?: string;
  /** The task of that change, when it was recorded: it may still be running in vCenter. */
  readonly pendingTask?: string;
  /** A change was sent for it at some point (so "nothing to do now" means it was migrated, not already there). */
  readonly sent: boolean;
  readonly converted: boolean;
  readonly done: boolean;
}

export class Journal {
  private constructor(
    readonly path: string,
    readonly header: JournalHeader,
    private readonly fd: number,
    private readonly history: Map<string, JournalRecord[]>,
    private readonly lockPath: string,
  ) {}

  /** One apply per journal at a time: `<journal>.lock` holds the pid; a lock whose process is gone is taken over. */
  private static lock(path: string): string {
    const lockPath = `${path}.lock`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return lockPath;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(lockPath, 'utf8').trim());
        let alive = false;
        try {
          alive = Number.isInteger(pid) && pid > 0 && process.kill(pid, 0);
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === 'EPERM';
        }
        if (alive) throw new VcenterError('VC_ERR_REFUSED', `another kmipctl (pid ${pid}) is using the journal ${path}; wait for it to end`);
        rmSync(lockPath, { force: true });
      }
    }
    throw new VcenterError('VC_ERR_REFUSED', `cannot lock the journal ${path} (${lockPath})`);
  }

  /** Opens (or creates) the journal of a migration; a journal of another migration is refused. */
  static open(path: string, expected: Omit<JournalHeader, 'format' | 'created'>, now = () => new Date()): Journal {
    const history = new Map<string, JournalRecord[]>();
    let header: JournalHeader | undefined;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      const complete = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
      complete.forEach((line, i) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          // Only the last line may be torn (the write the kill interrupted); it announced nothing that happened.
          if (i === complete.length - 1 && lines.at(-1) !== '') return;
          throw new VcenterError('VC_ERR_INPUT', `the journal ${path} has an unreadable line ${i + 1}: it is not a journal this tool wrote, or it was edited`);
        }
        if (i === 0) {
          header = parsed as JournalHeader;
          if (header.format !== JOURNAL_FORMAT) throw new VcenterError('VC_ERR_INPUT', `${path} is not a migration journal (format ${JSON.stringify(header.format)})`);
          return;
        }
        const r = parsed as JournalRecord;
        if (typeof r.id !== 'string' || typeof r.event !== 'string') throw new VcenterError('VC_ERR_INPUT', `the journal ${path} has a malformed record on line ${i + 1}`);
        const list = history.get(r.id) ?? [];
        list.push(r);
        history.set(r.id, list);
      });
      // Cut a torn last line off, so the next record starts on a line of its own.
      if (lines.at(-1) !== '') truncateSync(path, Buffer.byteLength(text) - Buffer.byteLength(lines.at(-1)!));
    }
    if (header) {
      for (const k of ['vcenter', 'from', 'to'] as const) {
        if (header[k] !== expected[k]) {
          throw new VcenterError('VC_ERR_INPUT', `the journal ${path} belongs to another migration (${k} ${header[k]}, not ${expected[k]}): give another --journal`);
        }
      }
    }
    const lockPath = Journal.lock(path);
    const fd = openSync(path, 'a', 0o600);
    const journal = new Journal(path, header ?? { format: JOURNAL_FORMAT, ...expected, created: now().toISOString() }, fd, history, lockPath);
    if (!header) journal.writeLine(journal.header);
    return journal;
  }

  private writeLine(doc: unknown): void {
    writeSync(this.fd, `${JSON.stringify(doc)}\n`);
    fsyncSync(this.fd);
  }

  /** Appends and syncs one record: when this returns, the record survives a crash. */
  record(id: string, event: JournalEvent): void {
    const r = { at: new Date().toISOString(), id, ...event } as JournalRecord;
    this.writeLine(r);
    const list = this.history.get(id) ?? [];
    list.push(r);
    this.history.set(id, list);
  }

  of(id: string): ObjectHistory {
    const records = this.history.get(id) ?? [];
    let keyId: string | undefined;
    let pending: string | undefined;
    let task: string | undefined;
    let converted = false;
    let done = false;
    let sent = false;
    for (const r of records) {
      if (r.event === 'key') keyId = r.keyId;
      else if (r.event === 'sent') {
        sent = true;
        pending = r.changeVersion ?? '';
        task = undefined;
      } else if (r.event === 'task') task = r.task;
      else if (r.event === 'done' || r.event === 'failed') {
        pending = undefined;
        task = undefined;
      }
      if (r.event === 'converted') converted = true;
      if (r.event === 'reverted') converted = false;
      if (r.event === 'done') done = true;
    }
    return { records, ...(keyId ? { keyId } : {}), ...(pending !== undefined ? { pendingChangeVersion: pending } : {}), ...(task ? { pendingTask: task } : {}), converted, done, sent };
  }

  /** Every key id generated on the new provider (verify checks vCenter has each). */
  newKeys(): string[] {
    const out = new Set<string>();
    for (const list of this.history.values()) for (const r of list) if (r.event === 'key') out.add(r.keyId);
    return [...out];
  }

  /** Every old-provider key id a change replaced (verify checks nothing uses them any more). */
  oldKeys(): string[] {
    const out = new Set<string>();
    for (const list of this.history.values()) for (const r of list) if (r.event === 'sent') for (const k of r.oldKeys ?? []) out.add(k);
    return [...out];
  }

  /** Templates turned into VMs and not recorded as templates again (an interrupted round trip). */
  convertedTemplates(): string[] {
    return this.ids().filter((id) => id.startsWith('template:') && this.of(id).converted);
  }

  /** Objects with a history, by id. */
  ids(): string[] {
    return [...this.history.keys()];
  }

  close(): void {
    closeSync(this.fd);
    rmSync(this.lockPath, { force: true });
  }
}
