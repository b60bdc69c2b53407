/**
 * A request whose operation waits on something that ignores the request's signal is still answered,
 * by the connection, a grace period after its deadline and before the request timeout would close
 * it (issue 18, item 5): the items done so far as they ended, General Failure for the rest. The
 * abandoned work, when it resumes, commits nothing and records nothing more. Real TLS connections
 * on the real listener, with the batch executor on a real SQLite store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log/logger.js';
import { BatchErrorContinuationOption, Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { KmipListener } from '../../server/net/listener.js';
import { answerBudgetMs, DEADLINE_GRACE_MS, RequestDeadlines } from '../../server/util/deadline.js';
import type { KeyStore } from '../../server/store/store.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../support/executor.js';
import { encodeRequest, TestKmipClient } from '../support/kmip-client.js';
import { createTestPki } from '../support/pki.js';

const REQUEST_TIMEOUT_MS = 1000;
const DEADLINE_MS = answerBudgetMs(REQUEST_TIMEOUT_MS);

const createItem = {
  operation: Operation.Create,
  payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } },
};

describe('an operation that ignores its request signal', () => {
  let h: ExecutorHarness;
  let listener: KmipListener;
  let client: TestKmipClient;
  let pki: ReturnType<typeof createTestPki>;
  /** While set, getObject waits for it to settle, whatever the signal says. */
  let gate: Promise<void> | undefined;
  let release = () => {};

  function hang(): void {
    gate = new Promise<void>((r) => (release = r));
  }
  function resume(): void {
    gate = undefined;
    release();
  }

  beforeAll(async () => {
    const storeView = (store: KeyStore): KeyStore =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop === 'getObject') {
            return async (...args: unknown[]) => {
              if (gate) await gate;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    h = await executorHarness({ storeView });
    pki = createTestPki();
    listener = new KmipListener({
      host: '127.0.0.1',
      port: 0,
      cert: pki.server.certificatePem,
      key: pki.server.privateKeyPem,
      limits: { maxMessageSize: 65536, maxConnections: 10, maxUnauthenticatedConnections: 64, handshakeTimeoutMs: 2000, idleTimeoutMs: 60_000, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxQueuedMessages: 4 },
      logger: createLogger({ level: 'silent' }),
      handler: (message, _info, signal) => h.executor.execute(message, h.principal, signal),
    });
    client = await TestKmipClient.connect(await listener.start(), { ca: pki.ca.certificatePem });
  });
  afterAll(async () => {
    resume();
    await client?.close();
    await listener?.drain(1000);
    await h?.close();
  });

  async function createKey(): Promise<string> {
    const r = await client.request([createItem]);
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    return r.items[0]!.payload!['uniqueIdentifier'] as string;
  }

  it('gets General Failure just after the deadline on a connection that stays open, after requests answered in time', { timeout: 15_000 }, async () => {
    const uid = await createKey();
    // Requests answered in time on the connection's reused signal leave nothing behind that could fail a later one.
    for (let i = 0; i < 50; i++) expect((await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
    hang();
    let started = performance.now();
    const late = await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]);
    const ms = performance.now() - started;
    resume();
    const item = late.items[0]!;
    expect(item.resultStatus).toBe(ResultStatus.OperationFailed);
    expect(item.resultReason).toBe(ResultReason.GeneralFailure);
    expect(item.resultMessage).toMatch(/deadline/);
    expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS + DEADLINE_GRACE_MS - 5);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS);
    // Same connection, next request: served at once.
    started = performance.now();
    expect((await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS);
  });

  it('Continue: items done before the deadline keep their result, the rest get General Failure; the resumed work records nothing more', { timeout: 15_000 }, async () => {
    const uid = await createKey();
    const auditBefore = h.audit.length;
    hang();
    const r = await client.request([{ ...createItem, id: 'a' }, { operation: Operation.Get, payload: { uniqueIdentifier: uid }, id: 'b' }, { ...createItem, id: 'c' }], {
      header: { batchErrorContinuationOption: BatchErrorContinuationOption.Continue },
    });
    expect(r.items.map((i) => i.resultStatus)).toEqual([ResultStatus.Success, ResultStatus.OperationFailed, ResultStatus.OperationFailed]);
    expect(r.items.slice(1).map((i) => i.resultReason)).toEqual([ResultReason.GeneralFailure, ResultReason.GeneralFailure]);
    const created = r.items[0]!.payload!['uniqueIdentifier'] as string;
    expect(h.audit.slice(auditBefore).map((a) => `${a.operation} ${a.result}`)).toEqual(['Create success', 'Get failure', 'Create failure']);
    const auditAnswered = h.audit.length;
    const objectCount = async () => (await h.store.countObjectsByState(h.principal.tenantId)).reduce((n, c) => n + c.count, 0);
    const objectsAnswered = await objectCount();
    resume();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.audit.length).toBe(auditAnswered);
    expect(await objectCount()).toBe(objectsAnswered);
    // The first item was committed before the deadline: it is there.
    expect((await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: created } }])).items[0]!.resultStatus).toBe(ResultStatus.Success);
  });

  it('Undo: nothing is committed, the items done are undone, and the resumed work commits nothing', { timeout: 15_000 }, async () => {
    const uid = await createKey();
    hang();
    const r = await client.request([{ ...createItem, id: 'a' }, { operation: Operation.Get, payload: { uniqueIdentifier: uid }, id: 'b' }], {
      header: { batchErrorContinuationOption: BatchErrorContinuationOption.Undo },
    });
    expect(r.items.map((i) => i.resultStatus)).toEqual([ResultStatus.OperationUndone, ResultStatus.OperationFailed]);
    expect(r.items[1]!.resultReason).toBe(ResultReason.GeneralFailure);
    const undone = r.items[0]!.payload!['uniqueIdentifier'] as string;
    resume();
    await new Promise((r) => setTimeout(r, 200));
    const get = (await client.request([{ operation: Operation.Get, payload: { uniqueIdentifier: undone } }])).items[0]!;
    expect(get.resultStatus).toBe(ResultStatus.OperationFailed);
    expect(get.resultReason).toBe(ResultReason.ItemNotFound);
  });

  it('a signal aborted for another reason (the connection went) does not answer for the operation', async () => {
    const uid = await createKey();
    const connection = new AbortController();
    const deadlines = new RequestDeadlines(connection.signal);
    hang();
    try {
      deadlines.at = Date.now() + 10_000;
      const get = h.executor.execute(encodeRequest([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]), h.principal, connection.signal);
      connection.abort();
      const outcome = await Promise.race([get.then(() => 'answered'), new Promise((r) => setTimeout(() => r('still waiting'), 300))]);
      expect(outcome).toBe('still waiting');
    } finally {
      resume();
    }
  });
});
