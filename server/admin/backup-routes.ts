/**
 * Backup and restore over the management API. GET /v1/backup streams a consistent snapshot as JSON
 * lines (key material still wrapped by the root key; kmipctl encrypts the file). POST /v1/restore
 * takes those lines into a store that holds no keys: it proves this server can unwrap each root-key
 * version it meets, stages everything where nothing serves it, and publishes it in one transaction
 * (which checks again that the store holds no keys) only once the end record checks out: a failure
 * or a crash at any point leaves the store as it was, and a retry works.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  certFromLine,
  lines,
  objectFromLine,
  parseSnapshotLine,
  snapshotEnd,
  snapshotHeader,
  snapshotItemLine,
} from '../backup/snapshot-lines.js';
import { errorSummary } from '../log/logger.js';
import { isStoreError, StoreErrorCode } from '../store/errors.js';
import type { KeyStore, ObjectRecord, RestoreStaging } from '../store/store.js';
import type { KeyWrapper } from '../wrap/wrapper.js';
import { HttpProblem, send, type Handler } from './management-http.js';

export interface BackupDeps {
  readonly store: KeyStore;
  readonly wrapper: KeyWrapper;
  readonly now: () => number;
  readonly newId: () => string;
  readonly revokeClientAccess: (fingerprint?: string) => number;
  readonly audit: (action: string, fields: Record<string, unknown>, result?: string) => void;
}

const RESTORE_BATCH = 200;

async function writeLine(res: ServerResponse, line: string): Promise<void> {
  if (res.destroyed) throw new Error('the reader went away');
  if (!res.write(`${line}\n`)) await once(res, 'drain');
}

/** Reads and drops the rest of a request body, for at most a minute. */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  req.resume();
  await Promise.race([once(req, 'end').catch(() => undefined), once(req, 'close').catch(() => undefined), new Promise((r) => setTimeout(r, 60_000).unref())]);
}

export function backupHandlers(deps: BackupDeps): Handler[] {
  const { store } = deps;

  const exportSnapshot: Handler = [
    'GET',
    /^\/v1\/backup$/,
    async (_req, res) => {
      const approximate = (await store.countObjectsByState()).reduce((s, c) => s + c.count, 0);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const counts = { tenants: 0, certs: 0, objects: 0 };
      try {
        await writeLine(res, snapshotHeader(deps.now(), approximate));
        for await (const item of store.exportSnapshot()) {
          await writeLine(res, snapshotItemLine(item));
          counts[item.kind === 'tenant' ? 'tenants' : item.kind === 'cert' ? 'certs' : 'objects']++;
        }
        await writeLine(res, snapshotEnd(counts));
        res.end();
        deps.audit('backup export', counts);
      } catch (err) {
        deps.audit('backup export', { ...counts, error: errorSummary(err) }, 'failed');
        // The status is already sent: say so in-band; the missing end record fails the reader anyway.
        if (!res.destroyed) res.end(`${JSON.stringify({ error: 'the snapshot failed part way; run the backup again' })}\n`);
      }
    },
  ];

  const keysHeld = async () => (await store.countObjectsByState()).reduce((s, c) => s + c.count, 0);
  const refusal = (held: number) => `restore needs a store without keys; this one holds ${held}: restore into a new deployment`;

  /** Asked before uploading: a refusal after the upload began would reach the client as a broken pipe. */
  const restoreCheck: Handler = [
    'GET',
    /^\/v1\/restore$/,
    async (_req, res) => {
      const held = await keysHeld();
      send(res, 200, { ready: held === 0, keys: held, ...(held > 0 ? { reason: refusal(held) } : {}) });
    },
  ];

  const restore: Handler = [
    'POST',
    /^\/v1\/restore$/,
    async (req, res) => {
      const held = await keysHeld();
      if (held > 0) throw new HttpProblem(409, refusal(held));
      let staging: RestoreStaging;
      try {
        staging = await store.beginRestore();
      } catch (err) {
        if (isStoreError(err, StoreErrorCode.Conflict)) throw new HttpProblem(409, 'another restore is running on this server');
        throw err;
      }
      const adopted: string[] = [];
      const tenantIds = new Map<string, string>();
      const stagedTenantIds = new Set<string>();
      const verifiedRootKeys = new Set<string>();
      const counts = { tenants: 0, certs: 0, objects: 0 };
      let batch: ObjectRecord[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        await staging.addObjects(batch);
        batch = [];
      };
      const tenantOf = (backupId: string, what: string) => {
        const id = tenantIds.get(backupId);
        if (!id) throw new HttpProblem(400, `${what} belongs to a tenant the snapshot did not list first`);
        return id;
      };

      try {
        let n = 0;
        let ended = false;
        // Leaving this loop early must not destroy the request: the client still needs our answer.
        for await (const text of lines(req.iterator({ destroyOnReturn: false }))) {
          n++;
          let line;
          try {
            line = parseSnapshotLine(text, n);
          } catch (err) {
            throw new HttpProblem(400, (err as Error).message);
          }
          if (ended) throw new HttpProblem(400, `line ${n} follows the end record`);
          if ((n === 1) !== 'snapshot' in line) throw new HttpProblem(400, n === 1 ? 'this is not a snapshot (no header line)' : `line ${n} is a second header`);
          if ('tenant' in line) {
            const t = line.tenant;
            const existing = await store.getTenantByName(t.name);
            if (existing) {
              // A tenant without keys (the store holds none) is taken over, e.g. the embedded default's "dev".
              tenantIds.set(t.id, existing.id);
              adopted.push(t.name);
            } else {
              const id = (await store.getTenant(t.id)) || stagedTenantIds.has(t.id) ? deps.newId() : t.id;
              await staging.addTenant({ ...t, id });
              stagedTenantIds.add(id);
              tenantIds.set(t.id, id);
            }
            counts.tenants++;
          } else if ('cert' in line) {
            const cert = { ...certFromLine(line.cert), tenantId: tenantOf(line.cert.tenantId, 'a certificate') };
            const existing = await store.getClientCert(cert.fingerprint);
            if (existing && existing.tenantId !== cert.tenantId) {
              const holder = (await store.getTenant(existing.tenantId))?.name ?? existing.tenantId;
              throw new HttpProblem(409, `certificate ${cert.fingerprint} is registered to another tenant here, ${holder}; nothing was restored`, { tenant: holder });
            }
            if (!existing) await staging.addCert(cert);
            counts.certs++;
          } else if ('object' in line) {
            const o: ObjectRecord = { ...objectFromLine(line.object), tenantId: tenantOf(line.object.tenantId, `object ${line.object.uid}`) };
            if (o.material) {
              const version = `${o.material.wrapKind} root key ${o.material.rootKeyId} version ${o.material.rootKeyVersion}`;
              if (!verifiedRootKeys.has(version)) {
                try {
                  (await deps.wrapper.unwrap(o.material, o.uid)).plaintext.fill(0);
                } catch {
                  throw new HttpProblem(422, `this server cannot unwrap keys wrapped by ${version}: configure the root key the backup's server used; nothing was restored`);
                }
                verifiedRootKeys.add(version);
              }
            }
            batch.push(o);
            counts.objects++;
            if (batch.length >= RESTORE_BATCH) await flush();
          } else if ('end' in line) {
            await flush();
            const e = line.end;
            if (e.tenants !== counts.tenants || e.certs !== counts.certs || e.objects !== counts.objects) {
              throw new HttpProblem(400, 'the snapshot does not hold what its end record counts; nothing was restored');
            }
            ended = true;
          }
        }
        if (!ended) throw new HttpProblem(400, 'the snapshot is cut off (no end record); nothing was restored');
        // Everything lands in one transaction, which checks again that the store holds no keys.
        try {
          await staging.publish();
        } catch (err) {
          if (isStoreError(err, StoreErrorCode.Conflict) || isStoreError(err, StoreErrorCode.Duplicate)) {
            throw new HttpProblem(409, `the store changed while the backup was uploading (${(err as Error).message}); nothing was restored`);
          }
          throw err;
        }
      } catch (err) {
        // Nothing was published: dropping the staging is all the undoing there is.
        const undone = await staging.abort().then(
          () => true,
          () => false,
        );
        deps.audit('restore', { ...counts, undone, error: errorSummary(err) }, 'failed');
        // Answer only once the client has finished sending: a client still writing its upload when we
        // answer and close would see a broken pipe instead of the reason.
        await drain(req);
        if (err instanceof HttpProblem) throw err;
        if (req.destroyed || req.readableAborted) throw new HttpProblem(400, 'the upload stopped part way; nothing was restored');
        throw new HttpProblem(500, `the restore failed (${(err as Error).message}); nothing was restored`);
      }
      deps.revokeClientAccess();
      deps.audit('restore', { ...counts, adoptedTenants: adopted.length });
      send(res, 200, { restored: counts, adoptedTenants: adopted, rootKeyVersions: [...verifiedRootKeys] });
    },
  ];

  return [exportSnapshot, restoreCheck, restore];
}
