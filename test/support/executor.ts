/** The batch executor with a real SQLite store and local root key, no sockets: for protocol-level tests. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchExecutor, type AuditRecord } from '../../server/kmip/batch.js';
import type { Principal } from '../../server/kmip/context.js';
import { OPERATIONS } from '../../server/kmip/operations/index.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import { PostgresStore } from '../../server/store/postgres.js';
import type { KeyStore } from '../../server/store/store.js';
import { freshDatabase, postgresSkipReason } from './postgres.js';
import { ensureLocalRootKey, LocalKeyWrapper } from '../../server/wrap/local.js';
import { KeyProtectWrapper } from '../../server/wrap/keyprotect.js';
import type { KeyWrapper } from '../../server/wrap/wrapper.js';
import { FakeKeyProtect } from './fake-keyprotect.js';
import { decodeResponse, encodeRequest, type DecodedResponse, type ItemSpec, type RequestOptions } from './kmip-client.js';

export interface ExecutorHarness {
  readonly executor: BatchExecutor;
  readonly store: KeyStore;
  readonly audit: AuditRecord[];
  readonly principal: Principal;
  /** Sets the clock the operations see (milliseconds); undefined returns to real time. */
  setNow(ms: number | undefined): void;
  run(items: readonly ItemSpec[], options?: RequestOptions, principal?: Principal): Promise<DecodedResponse>;
  otherTenant(): Promise<Principal>;
  close(): Promise<void>;
}

export type Backend = 'sqlite' | 'postgres';
export type RootKeyProvider = 'local' | 'keyprotect';

/**
 * The setups protocol suites run against: SQLite with the local root key always, PostgreSQL when it
 * is there (always under CI), and Key Protect (its local fake) as the root-key provider.
 */
export async function backends(): Promise<Array<{ backend: Backend; wrap: RootKeyProvider; skip: string | undefined; label: string }>> {
  return [
    { backend: 'sqlite', wrap: 'local', skip: undefined, label: 'SQLite, local root key' },
    { backend: 'postgres', wrap: 'local', skip: await postgresSkipReason(), label: 'PostgreSQL, local root key' },
    { backend: 'sqlite', wrap: 'keyprotect', skip: undefined, label: 'SQLite, Key Protect root key' },
  ];
}

export async function executorHarness(
  options: { maxLocateItems?: number; backend?: Backend; wrap?: RootKeyProvider; /** Puts something between the operations and the real store (a hang, a fault). */ storeView?: (store: KeyStore) => KeyStore } = {},
): Promise<ExecutorHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-exec-'));
  const keyFile = join(dir, 'root-key.json');
  ensureLocalRootKey(keyFile);
  let dropDatabase: (() => Promise<void>) | undefined;
  let store: KeyStore;
  if (options.backend === 'postgres') {
    const db = await freshDatabase();
    dropDatabase = db.drop;
    store = await PostgresStore.open({ connectionString: db.url, poolSize: 8 });
  } else {
    store = new SqliteStore({ path: join(dir, 'kmip.db') });
  }
  let fake: FakeKeyProtect | undefined;
  let wrapper: KeyWrapper;
  if (options.wrap === 'keyprotect') {
    fake = await new FakeKeyProtect().start();
    fake.addApiKey('executor-api-key');
    const instanceId = fake.addInstance();
    wrapper = new KeyProtectWrapper({
      region: 'us-south',
      instanceId,
      rootKeyId: fake.createRootKey(instanceId),
      endpoint: fake.url,
      iamEndpoint: fake.url,
      apiKey: 'executor-api-key',
      cacheSeconds: 60,
      requestTimeoutMs: 5000,
      maxAttempts: 3,
    });
  } else {
    wrapper = new LocalKeyWrapper(keyFile);
  }
  let fixedNow: number | undefined;
  const audit: AuditRecord[] = [];
  const executor = new BatchExecutor({
    deps: {
      store: options.storeView ? options.storeView(store) : store,
      wrapper,
      now: () => fixedNow ?? Date.now(),
      newUid: randomUUID,
      server: { vendorIdentification: 'kmip-for-vmware', serverVersion: 'test' },
      limits: { maxLocateItems: options.maxLocateItems ?? 1000 },
    },
    operations: OPERATIONS,
    limits: { maxSize: 1 << 20, maxDepth: 24, maxBatchItems: 64 },
    observer: { onItem: (r) => audit.push(r) },
  });
  const tenant = async (name: string): Promise<Principal> => {
    const id = randomUUID();
    await store.createTenant({ id, name, createdAt: Date.now() });
    return { tenantId: id, tenantName: name, fingerprint: 'f'.repeat(64), certLabel: 'test' };
  };
  const principal = await tenant('main');
  return {
    executor,
    store,
    audit,
    principal,
    setNow: (ms) => (fixedNow = ms),
    async run(items, requestOptions = {}, who = principal) {
      const version = requestOptions.version ?? (requestOptions.wire ? requestOptions.wire.major * 10 + requestOptions.wire.minor : 11);
      return decodeResponse(await executor.execute(encodeRequest(items, requestOptions), who), Math.min(version, 21));
    },
    otherTenant: () => tenant(`other-${randomUUID().slice(0, 6)}`),
    async close() {
      await store.close();
      await wrapper.close();
      await fake?.stop();
      await dropDatabase?.();
    },
  };
}
