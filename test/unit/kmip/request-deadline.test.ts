/**
 * A request whose operation waits on something that ignores the request's signal is still answered:
 * General Failure a grace period after its deadline, before the request timeout would close the
 * connection (issue 18, item 5). The signal is the connection's reused one, with its deadlines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, ResultReason, ResultStatus } from '../../../server/kmip/generated/enums.js';
import { DEADLINE_GRACE_MS, RequestDeadlineError, RequestDeadlines } from '../../../server/util/deadline.js';
import type { KeyStore } from '../../../server/store/store.js';
import { enumAttr, intAttr } from '../../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { decodeResponse, encodeRequest } from '../../support/kmip-client.js';

describe('an operation that ignores its request signal', () => {
  let h: ExecutorHarness;
  let hang = false;
  beforeAll(async () => {
    // getObject never settles while `hang` is set, whatever the signal says.
    const storeView = (store: KeyStore): KeyStore =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop === 'getObject') return (...args: unknown[]) => (hang ? new Promise(() => {}) : (value as (...a: unknown[]) => unknown).apply(target, args));
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    h = await executorHarness({ storeView });
  });
  afterAll(() => h?.close());

  async function createKey(): Promise<string> {
    const r = await h.run([{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256)] } } }]);
    return r.items[0]!.payload!['uniqueIdentifier'] as string;
  }

  /** A Get on a connection's signal: ms until answered, and the answer. */
  async function timedGet(uid: string, signal: AbortSignal) {
    const started = performance.now();
    const raw = await h.executor.execute(encodeRequest([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }]), h.principal, signal);
    return { ms: performance.now() - started, item: decodeResponse(raw, 11).items[0]! };
  }

  it('gets General Failure just after the deadline, on a signal reused by earlier requests answered in time', { timeout: 10_000 }, async () => {
    const uid = await createKey();
    const connection = new AbortController();
    const deadlines = new RequestDeadlines(connection.signal);
    // Requests answered in time leave nothing behind that could fail a later one.
    for (let i = 0; i < 50; i++) {
      deadlines.at = Date.now() + 10_000;
      expect((await timedGet(uid, connection.signal)).item.resultStatus).toBe(ResultStatus.Success);
      deadlines.end();
    }
    hang = true;
    try {
      const deadlineMs = 200;
      deadlines.at = Date.now() + deadlineMs;
      const timer = setTimeout(() => connection.abort(new RequestDeadlineError(deadlineMs)), deadlineMs);
      const { ms, item } = await timedGet(uid, connection.signal);
      clearTimeout(timer);
      expect(item.resultStatus).toBe(ResultStatus.OperationFailed);
      expect(item.resultReason).toBe(ResultReason.GeneralFailure);
      expect(item.resultMessage).toMatch(/deadline/);
      expect(ms).toBeGreaterThanOrEqual(deadlineMs + DEADLINE_GRACE_MS - 5);
      expect(ms).toBeLessThan(deadlineMs + 1000);
    } finally {
      hang = false;
    }
  });

  it('a signal aborted for another reason (the connection went) does not answer for the operation', async () => {
    const uid = await createKey();
    const connection = new AbortController();
    const deadlines = new RequestDeadlines(connection.signal);
    hang = true;
    try {
      deadlines.at = Date.now() + 10_000;
      const get = timedGet(uid, connection.signal);
      connection.abort();
      const outcome = await Promise.race([get.then(() => 'answered'), new Promise((r) => setTimeout(() => r('still waiting'), 300))]);
      expect(outcome).toBe('still waiting');
    } finally {
      hang = false;
    }
  });
});
