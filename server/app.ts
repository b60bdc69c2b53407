/**
 * The composition root: the only place that picks concrete implementations (store, root-key
 * provider, listener) and wires them to the protocol layer, the logs and the metrics.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { AdminServer } from './admin/http.js';
import { managementRoutes } from './admin/management.js';
import { HealthLog } from './admin/status/health-log.js';
import { PublishedUsageReports } from './admin/status/published-usage.js';
import { statusRoute } from './admin/status/route.js';
import type { ServerConfig } from './config/schema.js';
import { ClientAuthenticator, type RevocationTarget } from './identity/authenticator.js';
import { BatchExecutor, type AuditRecord } from './kmip/batch.js';
import type { OperationDeps } from './kmip/context.js';
import { generalFailure } from './kmip/errors.js';
import { OPERATIONS } from './kmip/operations/index.js';
import { createLoggers, errorSummary, type Loggers, type Logger } from './log/logger.js';
import { serverMetrics, type ServerMetrics } from './metrics/registry.js';
import { KmipListener } from './net/listener.js';
import { KmipHttpsListener, type HttpsMessageHandler } from './net/https-listener.js';
import { messageToTtlv, ttlvToMessage, undecodableResponse } from './kmip/json/index.js';
import { KmipError } from './kmip/errors.js';
import type { ListenerEvents, MessageHandler } from './net/types.js';
import { ConfigError } from './config/load.js';
import type { KeyStore } from './store/store.js';
import type { KeyProtectAuth } from './wrap/credentials.js';
import { KeyProtectWrapper } from './wrap/keyprotect.js';
import { LocalKeyWrapper } from './wrap/local.js';
import { RewrapQueue } from './maintenance/rewrap-queue.js';
import type { KeyWrapper } from './wrap/wrapper.js';
import { uuidV7 } from './util/random-pool.js';
import { SERVER_VERSION, VENDOR_IDENTIFICATION } from './version-info.js';

export interface AppOptions {
  readonly config: Readonly<ServerConfig>;
  /** Both loggers (general and audit); standard output when absent. */
  readonly loggers?: Loggers;
  readonly now?: () => number;
}

export interface App {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly store: KeyStore;
  readonly wrapper: KeyWrapper;
  readonly authenticator: ClientAuthenticator;
  readonly executor: BatchExecutor;
  readonly metrics: ServerMetrics;
  /** Starts listening; returns the bound ports (0 in the config means any free port). */
  start(): Promise<{ kmipPort: number; adminPort: number | undefined; httpsPort: number | undefined }>;
  /** The bound KMIP-over-HTTPS port once started, when https.enabled. */
  readonly httpsPort: number | undefined;
  /** Drains KMIP connections, then closes the admin port, the store and the root-key provider. */
  stop(): Promise<void>;
  /** Cuts off a client certificate now: forgets cached decisions and closes its connections. */
  revokeClientAccess(target?: string | RevocationTarget): number;
}

/** Backends load on demand: a region node on PostgreSQL never needs the native SQLite module. */
async function openStore(config: Readonly<ServerConfig>, logger: Logger, health: HealthLog): Promise<KeyStore> {
  const s = config.store;
  if (s.kind === 'sqlite') {
    const { SqliteStore } = await import('./store/sqlite.js');
    return new SqliteStore({ path: s.path });
  }
  const { PostgresStore } = await import('./store/postgres.js');
  const connectionString = s.url ?? process.env['DATABASE_URL'];
  if (!connectionString) throw new ConfigError(['store.url: required (or set DATABASE_URL) for the postgres store'], 'store');
  return PostgresStore.open({
    connectionString,
    caFile: s.caFile,
    poolSize: s.poolSize,
    statementTimeoutMs: s.statementTimeoutMs,
    connectTimeoutMs: s.connectTimeoutMs,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    onPoolError: (err) => {
      health.note('store', `database connection lost: ${(err as Error).message}`);
      logger.warn({ error: errorSummary(err) }, 'database connection lost; the pool reconnects');
    },
  });
}

/** The Key Protect API key, from its file or its environment variable; never logged. */
function readApiKey(w: Extract<ServerConfig['wrap'], { kind: 'keyprotect' }>): string {
  const key = w.apiKeyFile ? readFileSync(w.apiKeyFile, 'utf8').trim() : (process.env[w.apiKeyEnv!] ?? '').trim();
  if (!key) throw new ConfigError([w.apiKeyFile ? `wrap.apiKeyFile: ${w.apiKeyFile} is empty` : `wrap.apiKeyEnv: ${w.apiKeyEnv} is not set`], 'wrap');
  return key;
}

/** The configured credential source: the instance's trusted profile (wrap.auth), or an API key at IAM. */
function keyProtectAuth(w: Extract<ServerConfig['wrap'], { kind: 'keyprotect' }>): KeyProtectAuth {
  if (w.auth) return { kind: 'trustedProfile', profileId: w.auth.profileId, metadataEndpoint: w.auth.metadataEndpoint };
  return { kind: 'apiKey', apiKey: readApiKey(w), iamEndpoint: w.iamEndpoint };
}

function openWrapper(config: Readonly<ServerConfig>, logger: Logger, metrics: ServerMetrics, health: HealthLog): KeyWrapper {
  const w = config.wrap;
  if (w.kind === 'local') return new LocalKeyWrapper(w.keyFile);
  return new KeyProtectWrapper({
    region: w.region,
    instanceId: w.instanceId,
    rootKeyId: w.rootKeyId,
    endpoint: w.endpoint,
    auth: keyProtectAuth(w),
    cacheSeconds: w.cacheSeconds,
    requestTimeoutMs: w.requestTimeoutMs,
    maxAttempts: w.maxAttempts,
    onCall: (call) => {
      metrics.rootKeyCalls.inc({ action: call.action, status: String(call.status) });
      metrics.rootKeySeconds.observe(call.ms / 1000, { action: call.action });
      const line = { keyProtect: call.action, status: call.status, code: call.code, correlationId: call.correlationId, attempt: call.attempt, ms: call.ms };
      if (call.status === 200) logger.debug(line, 'key protect call');
      else {
        health.note('rootKey', `Key Protect ${call.action} answered ${call.status === 0 ? 'nothing (no connection)' : call.status}${call.code ? ` ${call.code}` : ''} (attempt ${call.attempt}${call.correlationId ? `, correlation id ${call.correlationId}` : ''})`);
        logger.warn(line, 'key protect call failed');
      }
    },
  });
}

function auditLine(logger: Logger, metrics: ServerMetrics, health: HealthLog, r: AuditRecord): void {
  metrics.operations.inc({ operation: r.operation, result: r.result, reason: r.reason ?? '' });
  metrics.operationSeconds.observe(r.durationMs / 1000, { operation: r.operation });
  const line = {
    audit: true,
    tenant: r.tenant,
    cert: r.fingerprint,
    op: r.operation,
    object: r.objectId,
    result: r.result,
    reason: r.reason,
    batchItem: r.batchItemId,
    ...(r.note !== undefined ? { note: r.note } : {}),
    version: r.version,
    ms: r.durationMs,
  };
  if (r.reason === 'GeneralFailure' || r.reason === 'CryptographicFailure') {
    // General Failure is the store's (or a bug's), Cryptographic Failure the root key's: see kmip/errors.
    health.note(r.reason === 'GeneralFailure' ? 'store' : 'rootKey', `${r.operation}: ${r.cause instanceof Error ? r.cause.message : (r.note ?? r.reason)}`);
    logger.error({ ...line, error: errorSummary(r.cause) }, 'kmip');
  }
  else logger.info(line, 'kmip');
}

export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const { logger, audit } = options.loggers ?? createLoggers({ level: config.log.level });
  const now = options.now ?? Date.now;
  const metrics = serverMetrics();
  const startedAt = now();
  const health = new HealthLog(now);
  const usageReports = new PublishedUsageReports();
  const store = await openStore(config, logger, health);
  let wrapper: KeyWrapper;
  try {
    wrapper = openWrapper(config, logger, metrics, health);
  } catch (err) {
    await store.close();
    throw err;
  }
  const rewraps = new RewrapQueue(store, {
    onError: (err) => logger.warn({ error: errorSummary(err) }, 'persisting a rewrapped object failed; the next Get retries'),
    onPersisted: () => metrics.rewrapsPersisted.inc(),
  });
  const deps: OperationDeps = {
    store,
    wrapper,
    now,
    newUid: () => uuidV7(),
    server: { vendorIdentification: VENDOR_IDENTIFICATION, serverVersion: SERVER_VERSION, messageEncodings: config.https.enabled },
    limits: { maxLocateItems: config.limits.maxLocateItems },
    onRewrapped: (tenantId, uid, previous, next) => rewraps.offer(tenantId, uid, previous, next),
  };
  const executor = new BatchExecutor({
    deps,
    operations: OPERATIONS,
    limits: { maxSize: config.limits.maxMessageSize, maxDepth: config.limits.maxDepth, maxBatchItems: config.limits.maxBatchItems },
    observer: { onItem: (r) => auditLine(audit, metrics, health, r), onCommit: (seconds) => metrics.storeSeconds.observe(seconds) },
  });
  const authenticator = new ClientAuthenticator(store, {
    cacheTtlMs: config.identity.cacheSeconds * 1000,
    maxCacheEntries: config.identity.maxCacheEntries,
    now,
  });
  const refusedOnce = new Set<number>();
  const handler: MessageHandler = async (message, connection, signal, verdict) => {
    let auth;
    try {
      auth = await authenticator.authenticate(connection.peerCertificate, connection.peerFingerprint);
    } catch (err) {
      logger.error({ conn: connection.id, error: errorSummary(err) }, 'client lookup failed');
      return executor.execute(message, undefined, signal, generalFailure(err));
    }
    // The listener keeps connections of clients that are not registered within a budget of their own.
    verdict?.(auth.ok);
    if (!auth.ok && !refusedOnce.has(connection.id)) {
      refusedOnce.add(connection.id);
      logger.info({ conn: connection.id, remote: connection.remoteAddress, reason: auth.reason }, 'client not authorized; requests refused');
    }
    return executor.execute(message, auth.ok ? auth.principal : undefined, signal);
  };
  // Read once: both listeners present the same certificate with the same settings.
  const tlsFiles = {
    cert: readFileSync(config.tls.certFile),
    key: readFileSync(config.tls.keyFile),
    ca: config.tls.clientCaFile ? readFileSync(config.tls.clientCaFile) : undefined,
    ticketKeys: config.tls.ticketKeyFile ? readFileSync(config.tls.ticketKeyFile).subarray(0, 48) : undefined,
  };
  // Both KMIP ports count their connections alike.
  const connectionEvents: ListenerEvents = {
    onConnectionOpen: () => {
      metrics.connections.inc();
      metrics.openConnections.inc({}, 1);
    },
    onConnectionClose: (info) => {
      metrics.openConnections.inc({}, -1);
      refusedOnce.delete(info.id);
    },
    onTlsError: (code) => metrics.tlsErrors.inc({ code }),
  };
  const listener = new KmipListener({
    host: config.listen.host,
    port: config.listen.port,
    ...tlsFiles,
    sessionTimeoutSeconds: config.tls.sessionTimeoutSeconds,
    limits: config.limits,
    handler,
    // Judged at accept, so a registered client's new connection is never counted as unauthenticated.
    classify: (info) => authenticator.cached(info.peerCertificate, info.peerFingerprint) ?? authenticator.authenticate(info.peerCertificate, info.peerFingerprint).then((r) => r.ok),
    logger,
    events: connectionEvents,
  });

  // KMIP over HTTPS: the body translated to TTLV and served by the same handler (same tenant rules).
  const serveHttps: HttpsMessageHandler = async (body, encoding, connection, signal) => {
    let request: Uint8Array;
    try {
      request = messageToTtlv(encoding, body, { maxSize: config.limits.maxMessageSize, maxDepth: config.limits.maxDepth });
    } catch (err) {
      if (!(err instanceof KmipError)) throw err;
      // Audited as the TTLV port audits a message it cannot decode (the body's values stay out of the log).
      auditLine(audit, metrics, health, { tenant: undefined, fingerprint: connection.peerFingerprint, operation: 'message', objectId: undefined, result: 'failure', reason: 'InvalidMessage', batchItemId: undefined, version: 'unknown', durationMs: 0, cause: undefined });
      return ttlvToMessage(encoding, undecodableResponse(err, Math.floor(now() / 1000)));
    }
    const response = await handler(Buffer.from(request.buffer, request.byteOffset, request.byteLength), connection, signal);
    return response.length === 0 ? response : ttlvToMessage(encoding, response);
  };
  const httpsListener = config.https.enabled
    ? new KmipHttpsListener({
        host: config.https.host,
        port: config.https.port,
        ...tlsFiles,
        sessionTimeoutSeconds: config.tls.sessionTimeoutSeconds,
        limits: config.limits,
        handler: serveHttps,
        logger,
        events: connectionEvents,
      })
    : undefined;
  let httpsPort: number | undefined;

  let admin: AdminServer | undefined;
  const app: App = {
    config,
    logger,
    store,
    wrapper,
    authenticator,
    executor,
    metrics,
    get httpsPort() {
      return httpsPort;
    },
    async start() {
      const kmipPort = await listener.start();
      httpsPort = await httpsListener?.start();
      let adminPort: number | undefined;
      if (config.admin.enabled) {
        const auth = {
          tokenHash: config.admin.tokenFile ? createHash('sha256').update(readFileSync(config.admin.tokenFile, 'utf8').trim()).digest() : undefined,
          clientCertificates: config.admin.tls?.clientCaFile !== undefined,
        };
        const recentUseMs = config.teardown.recentUseDays * 86_400_000;
        admin = new AdminServer({
          host: config.admin.host,
          port: config.admin.port,
          requestTimeoutMs: config.admin.requestTimeoutMs,
          logger,
          tls: config.admin.tls && {
            cert: readFileSync(config.admin.tls.certFile),
            key: readFileSync(config.admin.tls.keyFile),
            ca: config.admin.tls.clientCaFile ? readFileSync(config.admin.tls.clientCaFile) : undefined,
          },
          metrics: () => metrics.registry.render(),
          checks: [
            { name: 'store', run: () => store.ping() },
            { name: 'rootKey', run: (signal) => wrapper.check(signal) },
          ],
          // Readiness says how things are now; the status page also shows what failed last, and when.
          onCheckFailed: (name, message) => health.note(name === 'store' ? 'store' : 'rootKey', `readiness check: ${message}`),
          routes: [
            managementRoutes({
              store,
              wrapper,
              executor,
              logger: audit,
              auth,
              recentUseMs,
              now,
              revokeClientAccess: (fp) => app.revokeClientAccess(fp),
              usageReports,
            }),
            statusRoute({
              auth,
              logger: audit,
              store,
              readiness: () => admin!.readiness(),
              health,
              usage: usageReports,
              now,
              recentUseMs,
              node: () => ({
                hostname: hostname(),
                version: SERVER_VERSION,
                startedAt,
                kmipAddress: `${config.listen.host}:${kmipPort}`,
                adminAddress: `${config.admin.host}:${adminPort ?? config.admin.port}`,
                storeKind: store.kind,
                wrapKind: wrapper.kind,
                openKmipConnections: listener.connectionCount,
              }),
            }),
          ],
        });
        adminPort = await admin.start();
      }
      logger.info(
        { kmip: `${config.listen.host}:${kmipPort}`, admin: adminPort && `${config.admin.host}:${adminPort}`, https: httpsPort && `${config.https.host}:${httpsPort}`, store: store.kind, wrap: wrapper.kind },
        'listening',
      );
      return { kmipPort, adminPort, httpsPort };
    },
    async stop() {
      logger.info('draining');
      await Promise.all([listener.drain(config.limits.drainTimeoutMs), httpsListener?.drain(config.limits.drainTimeoutMs)]);
      await admin?.close();
      await store.close();
      await wrapper.close();
      logger.info('stopped');
    },
    revokeClientAccess(target) {
      if (target === undefined) {
        authenticator.invalidate();
        return 0;
      }
      // Everything authorized through the removed registration (a pinned certificate, or every leaf
      // a removed CA registration let in) or for the removed tenant: forget it and close it now.
      const leaves = authenticator.revoke(typeof target === 'string' ? { registrations: [target] } : target);
      const cut = (c: { peerFingerprint: string | undefined }) => c.peerFingerprint !== undefined && leaves.has(c.peerFingerprint);
      return listener.disconnectWhere(cut) + (httpsListener?.disconnectWhere(cut) ?? 0);
    },
  };
  return app;
}
