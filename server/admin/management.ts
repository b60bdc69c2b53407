/**
 * The management API (admin port, /v1/…): tenants, client certificates, keys, teardown preflight,
 * rewrap, published vCenter usage. Every call needs the bearer token (compared in constant time) or
 * an admin client certificate; with neither configured the API is off. Every action is an audit
 * line. `kmipctl` is its client.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import type { BatchExecutor } from '../kmip/batch.js';
import type { Principal } from '../kmip/context.js';
import { Operation, RevocationReasonCode, State } from '../kmip/generated/enums.js';
import { holdsMaterial, STATE_NAMES } from '../kmip/lifecycle.js';
import type { Logger } from '../log/logger.js';
import { rewrapAll } from '../maintenance/rewrap-all.js';
import type { RevocationTarget } from '../identity/authenticator.js';
import { certificateFingerprint } from '../identity/fingerprint.js';
import type { KeyStore, ObjectSummary, TenantRecord } from '../store/store.js';
import type { KeyWrapper } from '../wrap/wrapper.js';
import { adminAccessConfigured, isAuthorized, type AdminAuth } from './auth.js';
import { exemptFromDeadline, type Route } from './http.js';
import { certificateTime, displayTime, keyView, stateName } from './key-view.js';
import { runKmipOperation } from './kmip-internal.js';
import { backupHandlers } from './backup-routes.js';
import { HttpProblem, NAME, parse, readJson, send, type Handler } from './management-http.js';
import { isRewrapCursor, REWRAP_CURSOR_FORMAT } from './rewrap-cursor.js';
import type { PublishedUsageReports } from './status/published-usage.js';
import { vcenterUsageHandlers } from './vcenter-usage-routes.js';

export interface ManagementDeps {
  readonly store: KeyStore;
  readonly wrapper: KeyWrapper;
  readonly executor: BatchExecutor;
  readonly logger: Logger;
  /** Who may call it (the bearer token's hash, admin client certificates); with neither the API is off. */
  readonly auth: AdminAuth;
  /** Keys fetched this recently block teardown and tenant removal. */
  readonly recentUseMs: number;
  readonly now: () => number;
  /**
   * Forgets cached identity decisions (all of them with no argument) and closes, on this node, the
   * connections authorized through a removed registration (pin or CA fingerprint) or tenant.
   */
  readonly revokeClientAccess: (target?: string | RevocationTarget) => number;
  /** vCenter usage reports kmipctl publishes, shown on the status page. */
  readonly usageReports: PublishedUsageReports;
}

const LIVE = new Set<number>([State.PreActive, State.Active]);

/** The most keys one GET /v1/keys page returns, and the page when the client names none. */
export const MAX_KEYS_PAGE = 10_000;
const DEFAULT_KEYS_PAGE = 1000;

/** The `limit` query parameter: absent, or an integer from 1 to MAX_KEYS_PAGE; anything else is a 400. */
function pageLimit(raw: string | null): number {
  if (raw === null) return DEFAULT_KEYS_PAGE;
  const n = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_KEYS_PAGE)) throw new HttpProblem(400, `limit must be an integer from 1 to ${MAX_KEYS_PAGE}`);
  return n;
}

/** A percent-encoded path segment; malformed encoding is the client's mistake (400), not a server error. */
function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpProblem(400, 'the path has malformed percent-encoding');
  }
}

/** What a certificate's fingerprint looks like where the API takes one (kmipctl cert list prints it). */
const FINGERPRINT_FORMAT = "the certificate's SHA-256 fingerprint: 64 hexadecimal digits (colons allowed), as kmipctl cert list prints it";

/** A fingerprint in the path: any case, colons allowed; anything else is a 400 naming the format. */
function fingerprintParam(raw: string): string {
  const fp = raw.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(fp)) throw new HttpProblem(400, `${JSON.stringify(raw.slice(0, 100))} is not a certificate fingerprint: give ${FINGERPRINT_FORMAT}`);
  return fp;
}

export function managementRoutes(deps: ManagementDeps): Route {
  const { store, logger } = deps;
  const audit = (action: string, fields: Record<string, unknown>, result = 'success') => logger.info({ audit: true, admin: action, ...fields, result }, 'management');

  const { auth } = deps;

  const tenantByName = async (name: string): Promise<TenantRecord> => {
    const t = await store.getTenantByName(name);
    if (!t) throw new HttpProblem(404, `no tenant named ${name}`);
    return t;
  };
  const principalFor = (t: TenantRecord): Principal => ({ tenantId: t.id, tenantName: t.name, fingerprint: 'management-api', certLabel: 'management API' });

  async function* allObjects(tenantId?: string): AsyncGenerator<ObjectSummary> {
    let after: string | undefined;
    for (;;) {
      const page = await store.listObjects({ limit: 500, ...(tenantId ? { tenantId } : {}), ...(after ? { afterUid: after } : {}) });
      if (page.length === 0) return;
      yield* page;
      after = page.at(-1)!.uid;
    }
  }

  /** Keys that make a teardown unsafe: live, or fetched recently while they still hold material. */
  const blockers = async (tenantId?: string) => {
    const since = deps.now() - deps.recentUseMs;
    const found: Array<{ tenant: string; id: string; state: string; lastGetAt: string | null; why: string }> = [];
    const names = new Map((await store.listTenants()).map((t) => [t.id, t.name]));
    for await (const o of allObjects(tenantId)) {
      const recent = o.lastGetAt !== null && o.lastGetAt >= since && holdsMaterial(o.state);
      if (LIVE.has(o.state) || recent) {
        found.push({
          tenant: names.get(o.tenantId) ?? o.tenantId,
          id: o.uid,
          state: stateName(o.state),
          lastGetAt: o.lastGetAt === null ? null : displayTime(o.lastGetAt),
          why: LIVE.has(o.state) ? `key is ${stateName(o.state)}` : 'key was fetched recently',
        });
      }
    }
    return found;
  };

  const handlers: Handler[] = [
    ...backupHandlers({ store, wrapper: deps.wrapper, now: deps.now, newId: randomUUID, revokeClientAccess: deps.revokeClientAccess, audit }),
    [
      'GET',
      /^\/v1\/tenants$/,
      async (_req, res) => {
        const counts = await store.countObjectsByState();
        const tenants = (await store.listTenants()).map((t) => ({
          name: t.name,
          id: t.id,
          createdAt: displayTime(t.createdAt),
          keys: Object.fromEntries(counts.filter((c) => c.tenantId === t.id).map((c) => [stateName(c.state), c.count])),
        }));
        send(res, 200, { tenants });
      },
    ],
    [
      'POST',
      /^\/v1\/tenants$/,
      async (req, res) => {
        const { name } = parse(z.object({ name: NAME }).strict(), await readJson(req));
        if (await store.getTenantByName(name)) throw new HttpProblem(409, `tenant ${name} already exists`);
        const tenant = { id: randomUUID(), name, createdAt: deps.now() };
        await store.createTenant(tenant);
        audit('tenant add', { tenant: name });
        send(res, 201, { name, id: tenant.id });
      },
    ],
    [
      'DELETE',
      /^\/v1\/tenants\/([^/]+)$/,
      async (_req, res, m, url) => {
        const tenant = await tenantByName(pathSegment(m[1]!));
        const force = url.searchParams.get('force') === 'true';
        const confirm = url.searchParams.get('confirm');
        const found = await blockers(tenant.id);
        if (found.length > 0 && !(force && confirm === tenant.name)) {
          audit('tenant remove', { tenant: tenant.name, blockers: found.length }, 'refused');
          throw new HttpProblem(409, `tenant ${tenant.name} still has keys in use; nothing was changed`, { blockers: found });
        }
        const certs = await store.listClientCerts(tenant.id);
        await store.deleteTenant(tenant.id);
        // Everything the tenant's registrations (pins and CAs) let in, and anything else authorized for it.
        const closed = deps.revokeClientAccess({ tenantId: tenant.id, registrations: certs.map((c) => c.fingerprint) });
        audit('tenant remove', { tenant: tenant.name, forced: found.length > 0, keysInUse: found.length, connectionsClosed: closed });
        send(res, 200, { removed: tenant.name, certificates: certs.length, connectionsClosed: closed });
      },
    ],
    [
      'GET',
      /^\/v1\/certs$/,
      async (_req, res, _m, url) => {
        const tenantName = url.searchParams.get('tenant');
        const tenants = new Map((await store.listTenants()).map((t) => [t.id, t.name]));
        const tenantId = tenantName ? (await tenantByName(tenantName)).id : undefined;
        const certs = (await store.listClientCerts(tenantId)).map((c) => {
          const x = new X509Certificate(c.pem);
          return { fingerprint: c.fingerprint, tenant: tenants.get(c.tenantId), label: c.label, kind: c.kind, subject: x.subject, notAfter: certificateTime(x.validTo), requiredSubject: c.subject };
        });
        send(res, 200, { certificates: certs });
      },
    ],
    [
      'POST',
      /^\/v1\/certs$/,
      async (req, res) => {
        const body = parse(
          z.object({ tenant: NAME, pem: z.string().min(1).max(64 * 1024), label: z.string().max(200).optional(), kind: z.enum(['pin', 'ca']).default('pin'), subject: z.string().max(1024).optional() }).strict(),
          await readJson(req),
        );
        const tenant = await tenantByName(body.tenant);
        let x: X509Certificate;
        try {
          x = new X509Certificate(body.pem);
        } catch {
          throw new HttpProblem(400, 'pem is not a PEM X.509 certificate');
        }
        if (body.kind === 'ca' && !body.subject) throw new HttpProblem(400, 'a CA registration needs the subject its client certificates carry');
        const fingerprint = certificateFingerprint(x);
        const existing = await store.getClientCert(fingerprint);
        if (existing) {
          if (existing.tenantId === tenant.id) throw new HttpProblem(409, `certificate already registered to tenant ${tenant.name}`, { tenant: tenant.name });
          // Registrations are the administrators' own data; naming the holder tells them what to remove first.
          const holder = (await store.getTenant(existing.tenantId))?.name ?? existing.tenantId;
          throw new HttpProblem(409, `certificate is registered to another tenant, ${holder}: remove it there first (kmipctl cert remove ${fingerprint})`, { tenant: holder });
        }
        await store.addClientCert({ fingerprint, tenantId: tenant.id, label: body.label ?? x.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? 'client', kind: body.kind, subject: body.subject ?? null, pem: body.pem, createdAt: deps.now() });
        deps.revokeClientAccess(); // forget cached refusals so it works at once on this node
        audit('cert add', { tenant: tenant.name, cert: fingerprint, kind: body.kind });
        send(res, 201, { fingerprint, tenant: tenant.name, kind: body.kind, notAfter: certificateTime(x.validTo) });
      },
    ],
    [
      'DELETE',
      /^\/v1\/certs\/([^/]+)$/,
      async (_req, res, m) => {
        const fingerprint = fingerprintParam(pathSegment(m[1]!));
        if (!(await store.removeClientCert(fingerprint))) throw new HttpProblem(404, `no such certificate: no registration has the fingerprint ${fingerprint} (kmipctl cert list shows them)`);
        const closed = deps.revokeClientAccess(fingerprint);
        audit('cert remove', { cert: fingerprint, connectionsClosed: closed });
        send(res, 200, { removed: fingerprint, connectionsClosed: closed });
      },
    ],
    [
      'GET',
      /^\/v1\/keys$/,
      async (_req, res, _m, url) => {
        const tenantName = url.searchParams.get('tenant');
        const stateParam = url.searchParams.get('state');
        const limit = pageLimit(url.searchParams.get('limit'));
        const after = url.searchParams.get('after') ?? undefined;
        const tenants = new Map((await store.listTenants()).map((t) => [t.id, t]));
        const tenant = tenantName ? await tenantByName(tenantName) : undefined;
        const state = stateParam ? Object.entries(STATE_NAMES).find(([, n]) => n.toLowerCase() === stateParam.replace(/[-_ ]/g, '').toLowerCase())?.[0] : undefined;
        if (stateParam && state === undefined) throw new HttpProblem(400, `unknown state ${stateParam}; one of ${Object.values(STATE_NAMES).join(', ')}`);
        const page = await store.listObjects({ limit, ...(tenant ? { tenantId: tenant.id } : {}), ...(state ? { states: [Number(state)] } : {}), ...(after ? { afterUid: after } : {}) });
        const keys = [];
        for (const s of page) {
          const record = await store.getObject(s.tenantId, s.uid);
          if (record) keys.push(keyView(record, tenants.get(s.tenantId)?.name ?? s.tenantId, deps.now()));
        }
        send(res, 200, { keys, next: page.length === limit ? page.at(-1)!.uid : null });
      },
    ],
    [
      'POST',
      /^\/v1\/keys\/([^/]+)\/(revoke|destroy)$/,
      async (req, res, m) => {
        const uid = pathSegment(m[1]!);
        const action = m[2]!;
        const body = parse(z.object({ tenant: NAME, reason: z.enum(['compromise', 'cessation', 'superseded', 'unspecified']).default('cessation') }).strict(), await readJson(req));
        const tenant = await tenantByName(body.tenant);
        const code = { compromise: RevocationReasonCode.KeyCompromise, cessation: RevocationReasonCode.CessationOfOperation, superseded: RevocationReasonCode.Superseded, unspecified: RevocationReasonCode.Unspecified }[body.reason];
        const result =
          action === 'revoke'
            ? await runKmipOperation(deps.executor, principalFor(tenant), Operation.Revoke, { uniqueIdentifier: uid, revocationReason: { revocationReasonCode: code } })
            : await runKmipOperation(deps.executor, principalFor(tenant), Operation.Destroy, { uniqueIdentifier: uid });
        audit(`key ${action}`, { tenant: tenant.name, object: uid, ...(result.ok ? {} : { reason: result.reason }) }, result.ok ? 'success' : 'refused');
        if (!result.ok) throw new HttpProblem(result.reason === 'ItemNotFound' ? 404 : 409, `${action} refused: ${result.reason} (${result.message})`, { kmipReason: result.reason });
        send(res, 200, { id: uid, action });
      },
    ],
    [
      'GET',
      /^\/v1\/preflight-destroy$/,
      async (_req, res) => {
        const found = await blockers();
        audit('preflight-destroy', { blockers: found.length }, found.length === 0 ? 'safe' : 'unsafe');
        send(res, 200, { safe: found.length === 0, recentUseDays: deps.recentUseMs / 86_400_000, blockers: found });
      },
    ],
    [
      'POST',
      /^\/v1\/rewrap$/,
      async (req, res, _m, url) => {
        const after = url.searchParams.get('after') ?? undefined;
        // A cursor that names no key would silently rewrap nothing (or everything after a typo's place in the order).
        if (after !== undefined && !(await isRewrapCursor(store, after))) {
          throw new HttpProblem(400, `after=${JSON.stringify(after.slice(0, 100))} is not a rewrap cursor: give ${REWRAP_CURSOR_FORMAT}`);
        }
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const abort = new AbortController();
        req.socket.once('close', () => abort.abort());
        const final = await rewrapAll(store, deps.wrapper, { after, signal: abort.signal, onProgress: (p) => res.write(`${JSON.stringify({ progress: p })}\n`) });
        audit('rewrap', { rewrapped: final.rewrapped, failed: final.failed, version: final.version });
        res.end(`${JSON.stringify({ done: final })}\n`);
      },
    ],
    ...vcenterUsageHandlers({ reports: deps.usageReports, now: deps.now, audit }),
  ];

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (!url.pathname.startsWith('/v1/')) return false;
    try {
      if (!adminAccessConfigured(auth)) throw new HttpProblem(404, 'the management API is off: set admin.tokenFile or admin.tls.clientCaFile');
      if (!isAuthorized(auth, req)) {
        audit('denied', { path: url.pathname }, 'refused');
        throw new HttpProblem(401, 'a valid bearer token is required');
      }
      exemptFromDeadline(req);
      const allowed: string[] = [];
      for (const [method, pattern, handle] of handlers) {
        const m = pattern.exec(url.pathname);
        if (!m) continue;
        if (req.method === method) {
          await handle(req, res, m, url);
          return true;
        }
        allowed.push(method);
      }
      if (allowed.length > 0) {
        res.setHeader('allow', allowed.join(', '));
        throw new HttpProblem(405, `${url.pathname} does not take ${req.method}; it takes ${allowed.join(', ')}`, { allowed });
      }
      throw new HttpProblem(404, `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof HttpProblem) {
        // Read and drop whatever body is still coming, so a client still uploading gets this answer
        // instead of a broken connection.
        if (!req.complete) req.resume();
        send(res, err.status, { error: err.message, ...err.extra });
      }
      else throw err;
    }
    return true;
  };
}
