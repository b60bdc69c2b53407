/**
 * The embedded default (`kmip-server --dev`): SQLite, a local root key and a development PKI in one
 * data folder, created on first start and reused afterwards, with the development client
 * certificate registered to the tenant "dev" when its store is first set up. Never again after: a
 * certificate or tenant the operator removed stays removed across restarts (issue 18, item 8).
 */
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { ServerConfig } from '../config/schema.js';
import { certificateFingerprint } from '../identity/fingerprint.js';
import { ensureDevPki, type DevPkiPaths } from '../pki/dev-pki.js';
import { serverNames, type ServerNames } from '../pki/server-names.js';
import { isStoreError, StoreErrorCode } from '../store/errors.js';
import type { KeyStore } from '../store/store.js';
import { ensureLocalRootKey } from '../wrap/local.js';

export const DEV_TENANT = 'dev';

export interface DevOptions {
  readonly dataDir: string;
  /** Run against this PostgreSQL instead of DIR/kmip.db: several nodes on one DIR and URL form a cluster. */
  readonly databaseUrl?: string | undefined;
  readonly host?: string;
  /** Names and addresses the server certificate carries besides the listen address (--san). */
  readonly san?: readonly string[];
  readonly port?: number;
  readonly adminPort?: number;
  readonly logLevel?: ServerConfig['log']['level'];
}

export interface DevEnvironment {
  readonly config: Readonly<ServerConfig>;
  readonly dataDir: string;
  readonly pki: DevPkiPaths;
  readonly rootKeyFile: string;
  readonly createdPki: boolean;
  readonly createdRootKey: boolean;
  /** The names the server certificate carries, and whether this start issued it again because they changed. */
  readonly serverNames: ServerNames;
  readonly serverReissued: boolean;
  /** SQLite: DIR/kmip.db did not exist before this start. PostgreSQL: unknown (undefined). */
  readonly storeCreated?: boolean | undefined;
}

/**
 * Runs `fn` while holding DIR/.init.lock (mkdir is atomic), so nodes of a development cluster that
 * start together on one data folder create its PKI and root key once.
 */
function withInitLock<T>(dataDir: string, fn: () => T, timeoutMs = 30_000): T {
  const lock = join(dataDir, '.init.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than the deadline was left by a crashed start.
      if (Date.now() - statSync(lock).mtimeMs > timeoutMs) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another process holds ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function prepareDevEnvironment(options: DevOptions): DevEnvironment {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const rootKeyFile = join(dataDir, 'root-key.json');
  const ticketKeyFile = join(dataDir, 'tls-ticket-keys.bin');
  const adminTokenFile = join(dataDir, 'admin-token');
  const storeCreated = options.databaseUrl ? undefined : !existsSync(join(dataDir, 'kmip.db'));
  const host = options.host ?? '127.0.0.1';
  const { paths, created, createdRootKey, names, serverReissued } = withInitLock(dataDir, () => {
    const pki = ensureDevPki(dataDir, serverNames(host, options.san));
    const createdKey = ensureLocalRootKey(rootKeyFile);
    // Shared by the nodes of a development cluster so a TLS session resumes on any of them.
    if (!existsSync(ticketKeyFile)) writeFileSync(ticketKeyFile, randomBytes(48), { mode: 0o600 });
    if (!existsSync(adminTokenFile)) writeFileSync(adminTokenFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    return { ...pki, createdRootKey: createdKey };
  });
  const config = parseConfig(
    {
      listen: { host, port: options.port ?? 5696 },
      admin: { enabled: true, host: '127.0.0.1', port: options.adminPort ?? 9696, tokenFile: adminTokenFile },
      tls: { certFile: paths.serverCert, keyFile: paths.serverKey, ticketKeyFile },
      store: options.databaseUrl ? { kind: 'postgres', url: options.databaseUrl } : { kind: 'sqlite', path: join(dataDir, 'kmip.db') },
      wrap: { kind: 'local', keyFile: rootKeyFile },
      log: { level: options.logLevel ?? 'info' },
    },
    '--dev',
  );
  return { config, dataDir, pki: paths, rootKeyFile, createdPki: created, createdRootKey, serverNames: names, serverReissued, storeCreated };
}

/** Where `kmipctl --dev --data-dir DIR` finds a running development server's admin port and token. */
export function devAdminFile(dataDir: string): string {
  return join(resolve(dataDir), 'admin.json');
}

export function writeDevAdminFile(dataDir: string, adminPort: number): void {
  writeFileSync(devAdminFile(dataDir), `${JSON.stringify({ url: `http://127.0.0.1:${adminPort}`, tokenFile: join(resolve(dataDir), 'admin-token') }, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Registers the development client certificate to the tenant "dev" (idempotent). Called by
 * provisionDevClient only when the store is first set up: calling it on every start would bring back
 * a certificate or tenant the operator removed.
 */
export async function registerDevClient(store: KeyStore, pki: DevPkiPaths, now = Date.now()): Promise<string> {
  let tenant = await store.getTenantByName(DEV_TENANT);
  if (!tenant) {
    try {
      await store.createTenant({ id: randomUUID(), name: DEV_TENANT, createdAt: now });
    } catch (err) {
      // Another node of a development cluster created it first.
      if (!isStoreError(err, StoreErrorCode.Duplicate)) throw err;
    }
    tenant = (await store.getTenantByName(DEV_TENANT))!;
  }
  const pem = readFileSync(pki.clientCert, 'utf8');
  const fingerprint = certificateFingerprint(new X509Certificate(pem));
  if (!(await store.getClientCert(fingerprint))) {
    try {
      await store.addClientCert({ fingerprint, tenantId: tenant.id, label: 'development client', kind: 'pin', subject: null, pem, createdAt: now });
    } catch (err) {
      if (!isStoreError(err, StoreErrorCode.Duplicate)) throw err;
    }
  }
  return fingerprint;
}

/**
 * DIR/dev-client.json records the stores the development client was provisioned in. Its presence for
 * a store means "provisioned once; whatever the operator did since stands".
 */
export function devClientMarkerFile(dataDir: string): string {
  return join(resolve(dataDir), 'dev-client.json');
}

interface DevClientMarker {
  provisioned: Array<{ store: string; fingerprint: string; at: string }>;
}

/** Which store a marker entry is about: the SQLite file, or the PostgreSQL server and database (never its credentials). */
function storeIdentity(config: Readonly<ServerConfig>): string {
  if (config.store.kind === 'sqlite') return `sqlite:${resolve(config.store.path)}`;
  try {
    const url = new URL(config.store.url ?? process.env['DATABASE_URL'] ?? '');
    return `postgres://${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return 'postgres';
  }
}

function readMarker(file: string): DevClientMarker {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevClientMarker>;
    return { provisioned: Array.isArray(parsed.provisioned) ? parsed.provisioned : [] };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { provisioned: [] };
    // Unreadable or damaged: treat as provisioned, so a damaged file never brings a removed client back.
    return { provisioned: [{ store: '*', fingerprint: '', at: '' }] };
  }
}

export type DevClientStatus =
  | { readonly registered: true; readonly fingerprint: string; readonly tenant: string; readonly provisionedNow: boolean }
  | { readonly registered: false; readonly fingerprint: string; readonly tenantExists: boolean };

/**
 * Registers the development client (tenant "dev" and its pinned certificate) only when this store is
 * set up for the first time: a SQLite store created in this start, or a store this data folder has
 * not provisioned yet that holds no tenant. After that the operator's changes stand: a removed
 * certificate or tenant is not registered again; `devClientBanner` says so and how to re-add it.
 */
export async function provisionDevClient(
  store: KeyStore,
  dev: DevEnvironment,
  log?: { warn(obj: object, msg: string): void },
  now = Date.now(),
): Promise<DevClientStatus> {
  const pem = readFileSync(dev.pki.clientCert, 'utf8');
  const fingerprint = certificateFingerprint(new X509Certificate(pem));
  const markerFile = devClientMarkerFile(dev.dataDir);
  const identity = storeIdentity(dev.config);
  const marker = readMarker(markerFile);
  const marked = marker.provisioned.some((p) => p.store === identity || p.store === '*');
  const provision = dev.storeCreated === true || (!marked && (await store.listTenants()).length === 0);
  if (provision) await registerDevClient(store, dev.pki, now);
  if (!marked) {
    // Written after registering: a crash in between registers again (idempotent) on the next start.
    marker.provisioned.push({ store: identity, fingerprint, at: new Date(now).toISOString() });
    const tmp = `${markerFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, markerFile);
  }
  const cert = await store.getClientCert(fingerprint);
  if (cert) {
    const tenant = await store.getTenant(cert.tenantId);
    return { registered: true, fingerprint, tenant: tenant?.name ?? cert.tenantId, provisionedNow: provision };
  }
  const tenantExists = (await store.getTenantByName(DEV_TENANT)) !== undefined;
  log?.warn(
    { fingerprint, tenantExists, marker: markerFile },
    'the development client certificate is not registered (it was removed); --dev does not register it again, so the server refuses it',
  );
  return { registered: false, fingerprint, tenantExists };
}

/** The banner's lines about the development client: registered to which tenant, or why not and how to re-add it. */
export function devClientBanner(status: DevClientStatus, dev: DevEnvironment): string[] {
  if (status.registered) return [`  the client certificate is registered to tenant ${JSON.stringify(status.tenant)}`];
  const kmipctl = `npm run -s kmipctl -- --dev --data-dir ${dev.dataDir}`;
  return [
    `  the client certificate is NOT registered: it was removed (kmipctl cert remove or tenant remove) and --dev does not`,
    `  register it again, so the server refuses it (Permission Denied). To re-add it to tenant "${DEV_TENANT}":`,
    ...(status.tenantExists ? [] : [`    ${kmipctl} tenant add ${DEV_TENANT}`]),
    `    ${kmipctl} cert add --tenant ${DEV_TENANT} --pem ${dev.pki.clientCert} --name "development client"`,
  ];
}
