/**
 * The snapshot as JSON lines, the form that travels between the server and kmipctl (inside an
 * encrypted backup file). Key material stays wrapped by the root key; nothing here is secret on
 * its own, but a backup file is still encrypted again so a copy reveals no names or certificates.
 */
import { z } from 'zod';
import type { ClientCertRecord, ObjectRecord, SnapshotItem } from '../store/store.js';

export const SNAPSHOT_FORMAT = 'kmip-for-vmware-snapshot';
export const SNAPSHOT_VERSION = 1;
/** One line holds at most one object; KMIP messages are at most a few MiB, base64 adds a third. */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

const id = z.string().min(1).max(200);
const millis = z.number().int().min(0).max(8_640_000_000_000_000);

const TenantLine = z.object({ id, name: z.string().min(1).max(63), createdAt: millis }).strict();
const CertLine = z
  .object({
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
    tenantId: id,
    label: z.string().max(200),
    kind: z.enum(['pin', 'ca']),
    subject: z.string().max(1024).nullable(),
    pem: z.string().min(1).max(64 * 1024),
    createdAt: millis,
  })
  .strict();
const AttributeLine = z
  .object({
    name: z.string().min(1).max(256),
    index: z.number().int().min(0).max(10_000),
    value: z.unknown(),
    key: z.string().max(1024 * 1024),
    num: z.number().optional(),
    indexed: z.boolean().optional(),
  })
  .strict();
const ObjectLine = z
  .object({
    uid: id,
    tenantId: id,
    objectType: z.number().int().min(1).max(0xffff),
    state: z.number().int().min(1).max(6),
    revision: z.number().int().min(0),
    createdAt: millis,
    updatedAt: millis,
    lastGetAt: millis.nullable(),
    attributes: z.array(AttributeLine).max(10_000),
    material: z
      .object({ ciphertext: z.string().base64().max(MAX_LINE_BYTES), wrapKind: z.string().min(1).max(64), rootKeyId: id, rootKeyVersion: id })
      .strict()
      .nullable(),
  })
  .strict();

export const SnapshotLine = z.union([
  z.object({ snapshot: z.object({ format: z.literal(SNAPSHOT_FORMAT), version: z.literal(SNAPSHOT_VERSION), createdAt: millis, objects: z.number().int().min(0) }).strict() }).strict(),
  z.object({ tenant: TenantLine }).strict(),
  z.object({ cert: CertLine }).strict(),
  z.object({ object: ObjectLine }).strict(),
  z.object({ end: z.object({ tenants: z.number().int().min(0), certs: z.number().int().min(0), objects: z.number().int().min(0) }).strict() }).strict(),
]);
export type SnapshotLine = z.infer<typeof SnapshotLine>;

export function snapshotHeader(createdAt: number, approximateObjects: number): string {
  return JSON.stringify({ snapshot: { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, createdAt, objects: approximateObjects } });
}

export function snapshotItemLine(item: SnapshotItem): string {
  switch (item.kind) {
    case 'tenant':
      return JSON.stringify({ tenant: item.tenant });
    case 'cert':
      return JSON.stringify({ cert: item.cert });
    case 'object': {
      const o = item.object;
      const attributes = o.attributes.map((a) => ({
        name: a.name,
        index: a.index,
        value: a.value,
        key: a.key,
        ...(a.num !== undefined ? { num: a.num } : {}),
        ...(a.indexed !== undefined ? { indexed: a.indexed } : {}),
      }));
      const material = o.material && { ...o.material, ciphertext: Buffer.from(o.material.ciphertext).toString('base64') };
      return JSON.stringify({ object: { ...o, attributes, material } });
    }
  }
}

export function snapshotEnd(counts: { tenants: number; certs: number; objects: number }): string {
  return JSON.stringify({ end: counts });
}

/** Parses and validates one line; throws an Error naming the problem (never echoing the line). */
export function parseSnapshotLine(text: string, lineNumber: number): SnapshotLine {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`line ${lineNumber} is not JSON`);
  }
  const r = SnapshotLine.safeParse(raw);
  if (!r.success) throw new Error(`line ${lineNumber} is not a snapshot record (${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  return r.data;
}

export function certFromLine(c: z.infer<typeof CertLine>): ClientCertRecord {
  return c;
}
export function objectFromLine(o: z.infer<typeof ObjectLine>): ObjectRecord {
  return {
    ...o,
    attributes: o.attributes.map((a) => ({ name: a.name, index: a.index, value: a.value, key: a.key, num: a.num, indexed: a.indexed })),
    material: o.material && { ...o.material, ciphertext: new Uint8Array(Buffer.from(o.material.ciphertext, 'base64')) },
  };
}

/** Splits a byte stream into lines, refusing any longer than MAX_LINE_BYTES. */
export async function* lines(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  let pending = '';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.length > 0) yield line;
    }
    if (pending.length > MAX_LINE_BYTES) throw new Error(`a line is longer than ${MAX_LINE_BYTES} bytes`);
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}
