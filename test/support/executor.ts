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

/** The store backends protocol suites run against: SQLite always, PostgreSQL when it is there (always under CI). */
export async function backends(): Promise<Array<{ backend: Backend; skip: string | undefined }>> {
  return [
    { backend: 'sqlite', skip: undefined },
    { backend: 'postgres', skip: await postgresSkipReason() },
  ];
}

export async function executorHarness(options: { maxLocateItems?: number; backend?: Backend } = {}): Promise<ExecutorHarness> {
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
  const wrapper = new LocalKeyWrapper(keyFile);
  let fixedNow: number | undefined;
  const audit: AuditRecord[] = [];
  const executor = new BatchExecutor({
    deps: {
      store,
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
      await dropDatabase?.();
    },
  };
}
