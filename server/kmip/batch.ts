/**
 * The batch executor: runs the items of one request message for one principal and builds the
 * response. Versions, ID Placeholders, the Batch Error Continuation Option (Continue, Stop, Undo),
 * Unique Batch Item IDs (echoed byte for byte) and Maximum Response Size are handled here.
 */
import { isRequestDeadline, requestDeadlinesOf, type LateAnswer } from '../util/deadline.js';
import { encodedSize } from '../ttlv/index.js';
import type { OperationContext, OperationDeps, Principal } from './context.js';
import { isConflict, toKmipError } from './error-mapping.js';
import { KmipError, operationNotSupported, permissionDenied, reasonName } from './errors.js';
import { BatchErrorContinuationOption, ResultReason, ResultStatus } from './generated/enums.js';
import { Tag } from './generated/tags.js';
import {
  decodeRequest,
  encodeResponse,
  encodeUndecodable,
  failureItem,
  type DecodedBatchItem,
  type DecodedRequest,
  type RequestLimits,
} from './message-codec.js';
import type { ResponseBatchItem } from './model/messages.js';
import type { OperationHandler } from './operations/types.js';
import { KeyedLock } from './keyed-lock.js';
import { Session } from './session.js';
import { formatVersion, inRange, type KmipVersion } from './version.js';
import { ItemType } from '../ttlv/index.js';

export interface AuditRecord {
  readonly tenant: string | undefined;
  readonly fingerprint: string | undefined;
  readonly operation: string;
  readonly objectId: string | undefined;
  readonly result: 'success' | 'failure' | 'undone';
  readonly reason: string | undefined;
  readonly batchItemId: string | undefined;
  readonly version: string;
  readonly durationMs: number;
  /** A client's own words for the log (the Log operation). */
  readonly note?: string | undefined;
  /** The internal cause of a failure, for the log only (never sent to the client). */
  readonly cause: unknown;
}

export interface BatchObserver {
  onItem(record: AuditRecord): void;
  /** Seconds a store commit took (a batch item's, or a whole Undo batch's). */
  onCommit?(seconds: number): void;
}

export interface BatchExecutorOptions {
  readonly deps: OperationDeps;
  readonly limits: RequestLimits;
  readonly operations: readonly OperationHandler[];
  readonly observer?: BatchObserver | undefined;
  /** How often an item is re-run when another request changed its object first. */
  readonly conflictRetries?: number | undefined;
}

interface ItemOutcome {
  readonly response: ResponseBatchItem;
  readonly record: AuditRecord;
  readonly failed: boolean;
}

/**
 * How far a request has got: what the connection answers from if the request outlives its deadline
 * (registered on the connection's RequestDeadlines as a plain object, not a closure: see LateAnswer).
 */
class Progress implements LateAnswer {
  readonly started = performance.now();
  /** Outcomes of the items done so far (in Undo mode, of the current attempt). */
  outcomes: ItemOutcome[] = [];
  /** A commit is in flight: its result is not known, so nothing can be answered for it yet. */
  committing = false;
  /** The connection answered after the deadline: whatever the work does later is neither recorded nor answered. */
  answered = false;

  constructor(
    private readonly executor: BatchExecutor,
    readonly request: DecodedRequest,
    readonly principal: Principal,
    private readonly signal: AbortSignal | undefined,
  ) {}

  answer(): Uint8Array | undefined {
    return this.executor.answerLate(this, this.signal?.reason);
  }
}

const OPERATION_NAMES = new Map<number, string>();

/** Another node changed the object first: wait a little, with jitter, before reading it again. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.min(50, 2 ** attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The listener aborts a request's signal with this code at its deadline, a margin before the request timeout. */
function pastDeadline(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && isRequestDeadline(signal.reason);
}

function deadlineFailure(cause: unknown): KmipError {
  return new KmipError(ResultReason.GeneralFailure, 'the request could not be completed before its deadline', { cause });
}


export class BatchExecutor {
  private readonly byOperation: ReadonlyMap<number, OperationHandler>;
  /** Built once per protocol version a client speaks: every batch item needs it. */
  private readonly operationsByVersion = new Map<KmipVersion, readonly number[]>();
  private readonly conflictRetries: number;
  private readonly locks = new KeyedLock();

  constructor(private readonly options: BatchExecutorOptions) {
    this.byOperation = new Map(options.operations.map((o) => [o.operation, o]));
    for (const o of options.operations) OPERATION_NAMES.set(o.operation, o.name);
    this.conflictRetries = options.conflictRetries ?? 5;
  }

  /** Operations offered to a client of this version, in the order Query lists them. */
  supportedOperations(version: KmipVersion): readonly number[] {
    let list = this.operationsByVersion.get(version);
    if (!list) {
      list = Object.freeze(this.options.operations.filter((o) => inRange(version, o.since, undefined)).map((o) => o.operation));
      this.operationsByVersion.set(version, list);
    }
    return list;
  }

  /**
   * Serves one request message; never throws for anything a client can send. Without a principal
   * every item is refused with Permission Denied, or with `refusal` when the caller could not tell.
   */
  async execute(message: Uint8Array, principal: Principal | undefined, signal?: AbortSignal, refusal?: KmipError): Promise<Uint8Array> {
    const decoded = decodeRequest(message, this.options.limits);
    const nowSeconds = () => Math.floor(this.options.deps.now() / 1000);
    if (!decoded.ok) {
      this.options.observer?.onItem({
        tenant: principal?.tenantName,
        fingerprint: principal?.fingerprint,
        operation: 'message',
        objectId: undefined,
        result: 'failure',
        reason: reasonName(decoded.error.reason),
        batchItemId: undefined,
        version: `${decoded.wireVersion.major}.${decoded.wireVersion.minor}`,
        durationMs: 0,
        cause: decoded.error.cause,
      });
      return encodeUndecodable(decoded, nowSeconds());
    }
    if (!principal) return this.respond(decoded, this.refuseAll(decoded, refusal ?? permissionDenied('client certificate is not registered')));
    const progress = new Progress(this, decoded, principal, signal);
    const deadlines = requestDeadlinesOf(signal);
    if (deadlines) deadlines.lateAnswer = progress;
    const outcomes = await this.run(decoded, principal, signal, progress);
    // The connection already answered (General Failure for what was still running); nothing was committed since.
    if (progress.answered) return new Uint8Array(0);
    return this.respond(decoded, outcomes);
  }

  /** Records every item and encodes the response, within the client's Maximum Response Size. */
  private respond(decoded: DecodedRequest, outcomes: readonly ItemOutcome[]): Uint8Array {
    const nowSeconds = () => Math.floor(this.options.deps.now() / 1000);
    for (const o of outcomes) this.options.observer?.onItem(o.record);
    let items = outcomes.map((o) => o.response);
    const maxSize = decoded.header.maximumResponseSize;
    const extras = { clientCorrelationValue: decoded.header.clientCorrelationValue };
    let bytes = encodeResponse(decoded.wireVersion, decoded.version, nowSeconds(), items, extras);
    if (maxSize !== undefined && bytes.length > maxSize) {
      const tooLarge = new KmipError(ResultReason.ResponseTooLarge, 'response exceeds Maximum Response Size');
      items = items.map((i) => failureItem(tooLarge, decoded.version, i.operation, i.uniqueBatchItemId));
      bytes = encodeResponse(decoded.wireVersion, decoded.version, nowSeconds(), items, extras);
    }
    return bytes;
  }

  /**
   * The answer for a request still running a grace period after its deadline (something it waits on
   * ignored the signal): the items done so far as they ended, General Failure for the one in flight
   * and, in Continue mode, for those not started; in Undo mode nothing was committed, so the items
   * done are undone. Undefined while a commit is in flight. The abandoned work commits nothing more:
   * every item checks the deadline before its commit. Called by the request's Progress only.
   */
  answerLate(progress: Progress, reason: unknown): Uint8Array | undefined {
    const { request, principal } = progress;
    if (progress.committing || progress.answered) return undefined;
    progress.answered = true;
    const mode = request.header.batchErrorContinuationOption ?? BatchErrorContinuationOption.Stop;
    const outcomes: ItemOutcome[] = [];
    for (const o of progress.outcomes) {
      outcomes.push(o);
      if (o.failed && mode !== BatchErrorContinuationOption.Continue) break;
    }
    if (mode === BatchErrorContinuationOption.Continue || !outcomes.some((o) => o.failed)) {
      const error = deadlineFailure(reason);
      for (const item of request.items.slice(outcomes.length)) {
        outcomes.push(this.failure(request, item, error, principal, progress.started));
        if (mode !== BatchErrorContinuationOption.Continue) break;
      }
    }
    return this.respond(request, mode === BatchErrorContinuationOption.Undo ? outcomes.map((o) => (o.failed ? o : this.undone(o))) : outcomes);
  }

  private refuseAll(request: DecodedRequest, error: KmipError): ItemOutcome[] {
    return request.items.map((item) => this.failure(request, item, error, undefined, 0));
  }

  private async run(request: DecodedRequest, principal: Principal, signal: AbortSignal | undefined, progress: Progress): Promise<ItemOutcome[]> {
    const mode = request.header.batchErrorContinuationOption ?? BatchErrorContinuationOption.Stop;
    if (mode === BatchErrorContinuationOption.Undo) return this.runUndo(request, principal, signal, progress);
    const batch = { idPlaceholder: undefined as string | undefined };
    const outcomes = progress.outcomes;
    for (const item of request.items) {
      let outcome: ItemOutcome;
      for (let attempt = 0; ; attempt++) {
        const session = new Session(this.options.deps.store, principal.tenantId, this.locks);
        outcome = await this.runItem(request, item, principal, session, batch, signal, progress);
        if (!outcome.failed || !isConflict(outcome.record.cause) || attempt >= this.conflictRetries) break;
        await backoff(attempt);
      }
      outcomes.push(outcome);
      if (outcome.failed && mode === BatchErrorContinuationOption.Stop) break;
    }
    return outcomes;
  }

  /** Undo: one session for the whole batch; the first failure discards every change and marks earlier items undone. */
  private async runUndo(request: DecodedRequest, principal: Principal, signal: AbortSignal | undefined, progress: Progress): Promise<ItemOutcome[]> {
    for (let attempt = 0; ; attempt++) {
      const session = new Session(this.options.deps.store, principal.tenantId, this.locks);
      const batch = { idPlaceholder: undefined as string | undefined };
      const outcomes: ItemOutcome[] = [];
      progress.outcomes = outcomes;
      let failed = false;
      for (const item of request.items) {
        const outcome = await this.runItem(request, item, principal, session, batch, signal, undefined);
        outcomes.push(outcome);
        if (outcome.failed) {
          failed = true;
          break;
        }
      }
      if (failed) {
        session.discard();
        if (isConflict(outcomes[outcomes.length - 1]!.record.cause) && attempt < this.conflictRetries) {
          await backoff(attempt);
          continue;
        }
        return outcomes.map((o) => (o.failed ? o : this.undone(o)));
      }
      try {
        if (pastDeadline(signal)) throw deadlineFailure(signal!.reason);
        progress.committing = true;
        await this.timedCommit(session);
        return outcomes;
      } catch (err) {
        if (isConflict(err) && attempt < this.conflictRetries) {
          await backoff(attempt);
          continue;
        }
        const error = toKmipError(err);
        return outcomes.map((o) => ({
          failed: true,
          response: failureItem(error, request.version, o.response.operation, o.response.uniqueBatchItemId),
          record: { ...o.record, result: 'failure', reason: reasonName(error.reason), cause: err },
        }));
      } finally {
        progress.committing = false;
      }
    }
  }

  private async timedCommit(session: Session): Promise<void> {
    if (!session.hasChanges || !this.options.observer?.onCommit) return session.commit();
    const started = performance.now();
    try {
      await session.commit();
    } finally {
      this.options.observer.onCommit((performance.now() - started) / 1000);
    }
  }

  /** The Baseline profile (BL-M-2) keeps an undone item's payload: the client sees what was rolled back. */
  private undone(o: ItemOutcome): ItemOutcome {
    return {
      failed: false,
      response: { ...o.response, resultStatus: ResultStatus.OperationUndone },
      record: { ...o.record, result: 'undone' },
    };
  }

  private async runItem(
    request: DecodedRequest,
    item: DecodedBatchItem,
    principal: Principal,
    session: Session,
    batch: { idPlaceholder: string | undefined },
    signal: AbortSignal | undefined,
    /** Commits the item's changes, marked in flight on it meanwhile; undefined in Undo mode (the batch commits). */
    commit: Progress | undefined,
  ): Promise<ItemOutcome> {
    const started = performance.now();
    if (!item.ok) return this.failure(request, item, item.error, principal, started);
    const { operation, uniqueBatchItemId, requestPayload, messageExtension } = item.item;
    const handler = this.byOperation.get(operation);
    const ctx: OperationContext = {
      principal,
      version: request.version,
      deps: this.options.deps,
      session,
      batch,
      supportedOperations: this.supportedOperations(request.version),
      signal,
    };
    try {
      if (!handler || !inRange(request.version, handler.since, undefined)) throw operationNotSupported();
      if (messageExtension?.criticalityIndicator) {
        throw new KmipError(ResultReason.UnknownMessageExtension, 'critical message extension not supported', { legacyReason: ResultReason.FeatureNotSupported });
      }
      const payloadItem = requestPayload ?? { tag: Tag.RequestPayload, type: ItemType.Structure, value: [] };
      const payload = handler.request.decode(payloadItem, { version: request.version });
      if (pastDeadline(signal)) throw deadlineFailure(signal!.reason);
      const result = await handler.handle(ctx, payload);
      const responsePayload = handler.response.encode(Tag.ResponsePayload, result as never, { version: request.version });
      encodedSize(responsePayload); // validates every value before anything is committed
      if (pastDeadline(signal)) throw deadlineFailure(signal!.reason);
      if (commit) {
        commit.committing = true;
        try {
          await this.timedCommit(session);
        } finally {
          commit.committing = false;
        }
      }
      return {
        failed: false,
        response: { operation, uniqueBatchItemId, resultStatus: ResultStatus.Success, responsePayload },
        record: { ...this.record(request, principal, operation, ctx.auditObjectId, uniqueBatchItemId, 'success', undefined, started, undefined), note: ctx.auditNote },
      };
    } catch (err) {
      session.discard();
      const error = toKmipError(err);
      return {
        failed: true,
        response: failureItem(error, request.version, operation, uniqueBatchItemId),
        record: this.record(request, principal, operation, ctx.auditObjectId, uniqueBatchItemId, 'failure', reasonName(error.reason), started, err),
      };
    }
  }

  private failure(request: DecodedRequest, item: DecodedBatchItem, error: KmipError, principal: Principal | undefined, started: number): ItemOutcome {
    const operation = item.ok ? item.item.operation : item.operation;
    const ubi = item.ok ? item.item.uniqueBatchItemId : item.uniqueBatchItemId;
    return {
      failed: true,
      response: failureItem(error, request.version, operation, ubi),
      record: this.record(request, principal, operation, undefined, ubi, 'failure', reasonName(error.reason), started, error.cause),
    };
  }

  private record(
    request: DecodedRequest,
    principal: Principal | undefined,
    operation: number | undefined,
    objectId: string | undefined,
    ubi: Uint8Array | undefined,
    result: AuditRecord['result'],
    reason: string | undefined,
    started: number,
    cause: unknown,
  ): AuditRecord {
    return {
      tenant: principal?.tenantName,
      fingerprint: principal?.fingerprint,
      operation: operation === undefined ? 'unknown' : (OPERATION_NAMES.get(operation) ?? `0x${operation.toString(16)}`),
      objectId,
      result,
      reason,
      batchItemId: ubi ? Buffer.from(ubi).toString('hex') : undefined,
      version: formatVersion(request.version),
      durationMs: started === 0 ? 0 : Math.round((performance.now() - started) * 1000) / 1000,
      cause,
    };
  }
}
