/**
 * vCenter usage reports published by `kmipctl vcenter usage --publish`: which VMs, hosts and clusters
 * use a key provider, and with which keys. Kept in memory on the node that received them (the status
 * page says so): it is a convenience for the operator on call, not a record; vCenter stays the truth
 * and `kmipctl vcenter usage` reads it again at any time.
 */
import { z } from 'zod';

/** The largest report body: about 40,000 inventory entries of usual size. */
export const MAX_USAGE_BODY = 8 * 1024 * 1024;
/** Entries per list (users, unknownProvider, unreadable). */
export const MAX_USAGE_ENTRIES = 50_000;
/** Reports kept, one per (vCenter, provider); the oldest is forgotten past this. */
export const MAX_USAGE_REPORTS = 8;

const text = (max: number) => z.string().min(1).max(max);
const count = z.number().int().min(0).max(10_000_000);

const UsageEntry = z
  .object({
    id: text(200),
    name: z.string().max(500),
    kind: z.string().regex(/^[a-z][a-z-]{0,39}$/, 'a lower-case word such as vm, host, vsan-cluster'),
    detail: z.string().max(4000),
    /** The KMIP Unique Identifier vCenter holds (its CryptoKeyId.keyId), when the entry has one. */
    keyId: text(200).optional(),
  })
  .strict();
export type UsageEntry = z.infer<typeof UsageEntry>;

export const UsageReport = z
  .object({
    source: z.enum(['kmipctl vcenter usage']),
    /** When kmipctl read vCenter (ISO 8601). */
    readAt: z.string().datetime(),
    provider: text(200),
    vcenter: text(500),
    registered: z.boolean(),
    isDefault: z.boolean(),
    inUse: z.boolean(),
    users: z.array(UsageEntry).max(MAX_USAGE_ENTRIES),
    unknownProvider: z.array(UsageEntry).max(MAX_USAGE_ENTRIES),
    unreadable: z.array(UsageEntry).max(MAX_USAGE_ENTRIES),
    counts: z.object({ vms: count, hosts: count, clusters: count, scanned: count }).strict(),
    knownProviders: z.array(text(200)).max(1000).optional(),
  })
  .strict();
export type UsageReport = z.infer<typeof UsageReport>;

export interface PublishedUsage {
  readonly report: UsageReport;
  /** When this node received it (ms). */
  readonly receivedAt: number;
  /** How the publisher authenticated ("management token" or "admin client certificate"). */
  readonly publishedBy: string;
}

export class PublishedUsageReports {
  private readonly reports = new Map<string, PublishedUsage>();

  /** Keeps the report, replacing the previous one for the same vCenter and provider; returns whether it replaced one. */
  publish(entry: PublishedUsage): boolean {
    const key = JSON.stringify([entry.report.vcenter, entry.report.provider]);
    const replaced = this.reports.delete(key);
    this.reports.set(key, entry);
    while (this.reports.size > MAX_USAGE_REPORTS) this.reports.delete(this.reports.keys().next().value!);
    return replaced;
  }

  /** Newest first. */
  list(): PublishedUsage[] {
    return [...this.reports.values()].reverse();
  }
}

/**
 * A report's entries as the status page lists them, each with the kind it shows: what uses the
 * provider, then what names a key but no provider, then what could not be read.
 */
export function usageRows(r: UsageReport): Array<readonly [UsageEntry, string]> {
  return [
    ...r.users.map((e) => [e, e.kind] as const),
    ...r.unknownProvider.map((e) => [e, `${e.kind} (key names no provider)`] as const),
    ...r.unreadable.map((e) => [e, `${e.kind} (unreadable)`] as const),
  ];
}
