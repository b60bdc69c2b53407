/**
 * What the status page shows, read once per request: this node, its dependencies now and their last
 * errors, tenants and their certificates, key counts, recent keys and published vCenter usage. A part
 * that cannot be read (the database is down) is shown as that part's error; the rest still renders.
 */
import { X509Certificate } from 'node:crypto';
import type { KeyStore, ObjectSummary } from '../../store/store.js';
import { certificateTime, keyView, stateName, type KeyView } from '../key-view.js';
import type { HealthLog, LastError } from './health-log.js';
import { usageRows, type PublishedUsage, type PublishedUsageReports } from './published-usage.js';

/** Keys read at most to find the recent ones; past it the page says the lists are partial. */
export const MAX_SCANNED_KEYS = 100_000;
/** Keys read per store call while scanning. */
const SCAN_PAGE = 1000;
/** Rows of each recent-keys list. */
export const RECENT_KEYS = 25;
/** Usage entries shown per report (all of them stay available at GET /v1/vcenter-usage). */
export const USAGE_ROWS = 300;
/** A certificate this close to its end is highlighted. */
export const EXPIRY_WARNING_DAYS = 30;

export interface NodeInfo {
  readonly hostname: string;
  readonly version: string;
  readonly startedAt: number;
  readonly kmipAddress: string;
  readonly adminAddress: string;
  readonly storeKind: string;
  readonly wrapKind: string;
  readonly openKmipConnections: number;
}

export interface StatusSources {
  readonly store: KeyStore;
  readonly readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  readonly health: HealthLog;
  readonly usage: PublishedUsageReports;
  readonly node: () => NodeInfo;
  readonly now: () => number;
  /** Keys fetched this recently count as in use (teardown.recentUseDays). */
  readonly recentUseMs: number;
}

/** A part of the page, or why it could not be read. */
export type Part<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface DependencyStatus {
  readonly name: string;
  readonly kind: string;
  /** "ok", or the readiness check's error now. */
  readonly now: string;
  readonly lastError: LastError | undefined;
}

export interface TenantStatus {
  readonly name: string;
  readonly createdAt: number;
  readonly keysByState: ReadonlyMap<string, number>;
  readonly certificates: number;
}

export interface CertificateStatus {
  readonly tenant: string;
  readonly label: string;
  readonly kind: string;
  readonly fingerprint: string;
  readonly subject: string;
  readonly notAfter: string;
  /** notAfter in ms; undefined when the certificate or its date cannot be read. */
  readonly notAfterMs: number | undefined;
}

export interface KeysStatus {
  readonly states: readonly string[];
  readonly fetched: readonly KeyView[];
  readonly created: readonly KeyView[];
  readonly scanned: number;
  /**
   * The store holds keys past the `scanned` read (they are read in Unique Identifier order, so the
   * newest are likely among those missed): the lists and `known` may lack them.
   */
  readonly partial: boolean;
  /** For published usage: the keys this store holds among those vCenter names. */
  readonly known: ReadonlyMap<string, { readonly tenant: string; readonly state: string }>;
}

export interface StatusData {
  readonly generatedAt: number;
  readonly node: NodeInfo;
  readonly ready: boolean;
  readonly dependencies: readonly DependencyStatus[];
  readonly tenants: Part<readonly TenantStatus[]>;
  readonly certificates: Part<readonly CertificateStatus[]>;
  readonly keys: Part<KeysStatus>;
  readonly usage: readonly PublishedUsage[];
  readonly recentUseMs: number;
}

async function part<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    return { ok: false, error: (err instanceof Error ? err.message : String(err)).slice(0, 500) };
  }
}

/** The newest `n` by `at`, kept while scanning (n is small). */
function keepNewest(list: ObjectSummary[], o: ObjectSummary, at: (o: ObjectSummary) => number, n: number): void {
  if (list.length === n && at(list[n - 1]!) >= at(o)) return;
  list.push(o);
  list.sort((a, b) => at(b) - at(a));
  if (list.length > n) list.pop();
}

/** `maxScannedKeys` bounds the work one page view does on a large store. */
export async function gatherStatus(s: StatusSources, maxScannedKeys = MAX_SCANNED_KEYS): Promise<StatusData> {
  const now = s.now();
  const node = s.node();
  const usage = s.usage.list();
  const wanted = new Set<string>();
  for (const u of usage) for (const [e] of usageRows(u.report).slice(0, USAGE_ROWS)) if (e.keyId) wanted.add(e.keyId);

  const [readiness, tenantRecords, certRecords, counts] = await Promise.all([
    s.readiness(),
    part(() => s.store.listTenants()),
    part(() => s.store.listClientCerts()),
    part(() => s.store.countObjectsByState()),
  ]);
  const names = new Map(tenantRecords.ok ? tenantRecords.value.map((t) => [t.id, t.name]) : []);
  const tenantName = (id: string) => names.get(id) ?? id;

  const dependencies: DependencyStatus[] = [
    { name: 'database', kind: node.storeKind, now: readiness.checks['store'] ?? 'not checked', lastError: s.health.lastError('store') },
    { name: 'root key', kind: node.wrapKind, now: readiness.checks['rootKey'] ?? 'not checked', lastError: s.health.lastError('rootKey') },
  ];

  const tenants: Part<TenantStatus[]> = !tenantRecords.ok
    ? tenantRecords
    : !counts.ok
      ? counts
      : {
          ok: true,
          value: tenantRecords.value.map((t) => ({
            name: t.name,
            createdAt: t.createdAt,
            keysByState: new Map(counts.value.filter((c) => c.tenantId === t.id).map((c) => [stateName(c.state), c.count])),
            certificates: certRecords.ok ? certRecords.value.filter((c) => c.tenantId === t.id).length : 0,
          })),
        };

  const certificates: Part<CertificateStatus[]> = !certRecords.ok
    ? certRecords
    : {
        ok: true,
        value: certRecords.value
          .map((c) => {
            let notAfter = 'unreadable certificate';
            let subject = '';
            let notAfterMs: number | undefined;
            try {
              const x = new X509Certificate(c.pem);
              notAfter = certificateTime(x.validTo);
              subject = x.subject.replace(/\n/g, ', ');
              const end = Date.parse(x.validTo);
              if (!Number.isNaN(end)) notAfterMs = end;
            } catch {
              // Shown as unreadable; the registration itself still works by fingerprint.
            }
            return { tenant: tenantName(c.tenantId), label: c.label, kind: c.kind, fingerprint: c.fingerprint, subject: c.kind === 'ca' ? `CA ${subject}; clients: ${c.subject ?? ''}` : subject, notAfter, notAfterMs };
          })
          .sort((a, b) => (a.notAfterMs ?? -Infinity) - (b.notAfterMs ?? -Infinity)),
      };

  const keys = await part(async (): Promise<KeysStatus> => {
    const fetched: ObjectSummary[] = [];
    const created: ObjectSummary[] = [];
    const known = new Map<string, { tenant: string; state: string }>();
    const since = now - s.recentUseMs;
    let scanned = 0;
    let partial = false;
    let after: string | undefined;
    const from = () => (after ? { afterUid: after } : {});
    for (;;) {
      const room = maxScannedKeys - scanned;
      if (room <= 0) {
        // A store of exactly the cap was read whole: only a key past it makes the lists partial.
        partial = (await s.store.listObjects({ limit: 1, ...from() })).length > 0;
        break;
      }
      const limit = Math.min(SCAN_PAGE, room);
      const page = await s.store.listObjects({ limit, ...from() });
      for (const o of page) {
        if (o.lastGetAt !== null && o.lastGetAt >= since) keepNewest(fetched, o, (x) => x.lastGetAt ?? 0, RECENT_KEYS);
        keepNewest(created, o, (x) => x.createdAt, RECENT_KEYS);
        if (wanted.has(o.uid)) known.set(o.uid, { tenant: tenantName(o.tenantId), state: stateName(o.state) });
      }
      scanned += page.length;
      if (page.length < limit) break;
      after = page.at(-1)!.uid;
    }
    const view = async (list: ObjectSummary[]) => {
      const out: KeyView[] = [];
      for (const o of list) {
        const record = await s.store.getObject(o.tenantId, o.uid);
        if (record) out.push(keyView(record, tenantName(o.tenantId), now));
      }
      return out;
    };
    const states = counts.ok ? [...new Set(counts.value.map((c) => c.state))].sort((a, b) => a - b).map(stateName) : [];
    return { states, fetched: await view(fetched), created: await view(created), scanned, partial, known };
  });

  return { generatedAt: now, node, ready: readiness.ready, dependencies, tenants, certificates, keys, usage, recentUseMs: s.recentUseMs };
}
