/**
 * The fake cloud: a JSON file (FAKE_TF_CLOUD_FILE) of the objects the fake provider created, so a
 * later `terraform plan` reads them back (and finds them gone when a test removed them). Every
 * change is a synchronous read-modify-write with an atomic rename: one provider process serves a
 * whole terraform command, and Node runs one handler at a time, so no lock is needed in-process;
 * tests edit the file between terraform commands.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Known } from './values.js';

export interface CloudObject {
  readonly provider: string;
  readonly type: string;
  readonly id: string;
  readonly value: { [key: string]: Known };
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CloudData {
  /** By `<type>/<id>`. */
  objects: Record<string, CloudObject>;
  /** How often each FAKE_TF_FAIL entry has fired, by its position. */
  failuresFired: Record<string, number>;
}

export const objectKey = (type: string, id: string) => `${type}/${id}`;

export function readCloudFile(file: string): CloudData {
  if (!existsSync(file)) return { objects: {}, failuresFired: {} };
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<CloudData>;
  return { objects: data.objects ?? {}, failuresFired: data.failuresFired ?? {} };
}

export function writeCloudFile(file: string, data: CloudData): void {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, `${JSON.stringify(data, null, 1)}\n`);
  renameSync(temp, file);
}

/** Applies a change to the file and returns what the change function returned. */
export function updateCloudFile<T>(file: string, change: (data: CloudData) => T): T {
  const data = readCloudFile(file);
  const result = change(data);
  writeCloudFile(file, data);
  return result;
}

export class CloudStore {
  /** Without a file the store keeps nothing and ReadResource gives the state back unchanged. */
  constructor(readonly file: string | undefined) {}

  get enabled(): boolean {
    return this.file !== undefined;
  }

  get(type: string, id: string): CloudObject | undefined {
    return this.file ? readCloudFile(this.file).objects[objectKey(type, id)] : undefined;
  }

  has(type: string, id: string): boolean {
    return this.get(type, id) !== undefined;
  }

  put(provider: string, type: string, id: string, value: { [key: string]: Known }): void {
    if (!this.file) return;
    const now = new Date().toISOString();
    updateCloudFile(this.file, (data) => {
      const before = data.objects[objectKey(type, id)];
      data.objects[objectKey(type, id)] = { provider, type, id, value, createdAt: before?.createdAt ?? now, updatedAt: now };
    });
  }

  delete(type: string, id: string): void {
    if (!this.file) return;
    updateCloudFile(this.file, (data) => {
      delete data.objects[objectKey(type, id)];
    });
  }
}
