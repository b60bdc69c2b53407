/**
 * The operation log (FAKE_TF_LOG): one JSON line per thing the fake cloud did, so tests can check
 * what was created, replaced or deleted and in which order. Lines are appended with O_APPEND, so
 * several provider processes may share one file.
 */
import { appendFileSync } from 'node:fs';

/**
 * `read` is a refresh (with `gone` when the object was no longer there); `plan-replace` is written
 * each time terraform plans a ForceNew change, so once by `plan` and again by the `apply` that
 * carries it out.
 */
export type Operation = 'create' | 'update' | 'delete' | 'read' | 'read-data' | 'import' | 'plan-replace';

export interface OpRecord {
  /** Completion time, ms since the epoch with sub-ms precision. */
  readonly time: number;
  /** When the operation began (create/update/delete); a time_sleep spans its sleep. */
  readonly start?: number | undefined;
  readonly provider: string;
  readonly op: Operation;
  readonly type: string;
  readonly id?: string | undefined;
  /** The resource's `name` attribute (`key_name`, `bucket_name`... where there is no `name`). */
  readonly name?: string | undefined;
  /** plan-replace: the attributes that force it, as `protocol` or `boot_volume[0].snapshot`. */
  readonly requiresReplace?: string[] | undefined;
  /** time_sleep: the duration asked for, in ms (the real sleep is scaled by FAKE_TF_SLEEP_SCALE). */
  readonly durationMs?: number | undefined;
  /** read: the object was no longer in the fake cloud. */
  readonly gone?: boolean | undefined;
  readonly failed?: string | undefined;
  readonly pid: number;
}

export const nowMs = () => performance.timeOrigin + performance.now();

export class OperationLog {
  constructor(private readonly file: string | undefined) {}

  write(record: Omit<OpRecord, 'time' | 'pid'> & { time?: number }): void {
    if (!this.file) return;
    const line: OpRecord = { ...record, time: record.time ?? nowMs(), pid: process.pid };
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}
