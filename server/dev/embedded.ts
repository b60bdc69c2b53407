/**
 * The embedded default (`kmip-server --dev`): SQLite, a local root key and a development PKI in one
 * data folder, created on first start and reused afterwards, with the development client
 * certificate registered to the tenant "dev".
 */
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { ServerConfig } from '../config/schema.js';
import { certificateFingerprint } from '../identity/fingerprint.js';
import { ensureDevPki, type DevPkiPaths } from '../pki/dev-pki.js';
import { isStoreError, StoreErrorCode } from '../store/errors.js';
import type { KeyStore } from '../store/store.js';
import { ensureLocalRootKey } from '../wrap/local.js';

export const DEV_TENANT = 'dev';

export interface DevOptions {
  readonly dataDir: string;
  /** Run against this PostgreSQL instead of DIR/kmip.db: several nodes on one DIR and URL form a cluster. */
  readonly databaseUrl?: string | undefined;
  readonly host?: string;
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
  const { paths, created, createdRootKey } = withInitLock(dataDir, () => {
    const pki = ensureDevPki(dataDir);
    const createdKey = ensureLocalRootKey(rootKeyFile);
    // Shared by the nodes of a development cluster so a TLS session resumes on any of them.
    if (!existsSync(ticketKeyFile)) writeFileSync(ticketKeyFile, randomBytes(48), { mode: 0o600 });
    if (!existsSync(adminTokenFile)) writeFileSync(adminTokenFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    return { ...pki, createdRootKey: createdKey };
  });
  const config = parseConfig(
    {
      listen: { host: options.host ?? '127.0.0.1', port: options.port ?? 5696 },
      admin: { enabled: true, host: '127.0.0.1', port: options.adminPort ?? 9696, tokenFile: adminTokenFile },
      tls: { certFile: paths.serverCert, keyFile: paths.serverKey, ticketKeyFile },
      store: options.databaseUrl ? { kind: 'postgres', url: options.databaseUrl } : { kind: 'sqlite', path: join(dataDir, 'kmip.db') },
      wrap: { kind: 'local', keyFile: rootKeyFile },
      log: { level: options.logLevel ?? 'info' },
    },
    '--dev',
  );
  return { config, dataDir, pki: paths, rootKeyFile, createdPki: created, createdRootKey };
}

/** Where `kmipctl --dev --data-dir DIR` finds a running development server's admin port and token. */
export function devAdminFile(dataDir: string): string {
  return join(resolve(dataDir), 'admin.json');
}

export function writeDevAdminFile(dataDir: string, adminPort: number): void {
  writeFileSync(devAdminFile(dataDir), `${JSON.stringify({ url: `http://127.0.0.1:${adminPort}`, tokenFile: join(resolve(dataDir), 'admin-token') }, null, 2)}\n`, { mode: 0o600 });
}

/** Registers the development client certificate to the tenant "dev"; safe to call on every start. */
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
