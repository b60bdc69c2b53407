/**
 * A request's deadline, carried by the AbortSignal every operation already receives: the listener
 * aborts it a margin before the request timeout (so the answer still has time to go out) and
 * records when, so that outbound calls (the root-key provider, the store) can size their attempts
 * and retries to the time that is left instead of to constants of their own.
 */

/** Why a request's signal was aborted at its deadline (the request itself is still answered). */
export class RequestDeadlineError extends Error {
  override readonly name = 'RequestDeadlineError';
  readonly code = 'REQUEST_DEADLINE';
  constructor(readonly timeoutMs: number) {
    super(`request reached its deadline (${timeoutMs} ms)`);
  }
}

/** Whether an abort reason is a request's deadline (the request is still answered), not its abandonment. */
export function isRequestDeadline(reason: unknown): boolean {
  return (reason as { code?: unknown } | undefined)?.code === 'REQUEST_DEADLINE';
}

/** How long before the request timeout the answer is due: a tenth of it, between 50 ms and 2 s. */
export function answerMarginMs(requestTimeoutMs: number): number {
  return Math.round(Math.min(2000, Math.max(50, requestTimeoutMs / 10)));
}

/** The time outbound work of one request may use: the request timeout less the margin for the answer. */
export function answerBudgetMs(requestTimeoutMs: number): number {
  return Math.max(1, requestTimeoutMs - answerMarginMs(requestTimeoutMs));
}

/**
 * After a request's deadline, how long its outbound calls get to fail by themselves (their error is
 * more precise) before the connection answers for work that is still running.
 */
export const DEADLINE_GRACE_MS = 25;

/**
 * The answer for a request still running after its deadline. An object, not a closure: a closure
 * stored here (on an object that lives as long as its connection) held the serving function's whole
 * context, and under load V8 then promoted every request's objects out of the young generation
 * (+36 % promoted bytes, +10 % CPU per Get, measured).
 */
export interface LateAnswer {
  /** The response, or undefined when it cannot answer truthfully yet (a commit is in flight): the connection then waits for the work. */
  answer(): Uint8Array | undefined;
}

/**
 * A connection's request deadlines on its (reused) signal. Nothing here runs per request on the
 * normal path but two field writes: the answer for a request still running after its deadline is
 * built only when the connection asks for it (`lateAnswer`), a grace period after that deadline.
 */
export class RequestDeadlines {
  /** The deadline of the request the signal currently serves (epoch ms): set per request, unset between requests. */
  at: number | undefined;
  /**
   * Set by whoever serves the current request: its answer built from what is done so far, for when
   * its work is still running a grace period after the deadline.
   */
  lateAnswer: LateAnswer | undefined;

  constructor(signal: AbortSignal) {
    deadlines.set(signal, this);
  }

  /** The request is answered: its deadline and late answer are dropped. */
  end(): void {
    this.at = undefined;
    this.lateAnswer = undefined;
  }
}

const deadlines = new WeakMap<AbortSignal, RequestDeadlines>();

/** When the request behind `signal` must have its outbound work done (epoch ms), if it has a deadline. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal ? deadlines.get(signal)?.at : undefined;
}

/** The connection's deadlines behind `signal`, when it serves requests on a connection. */
export function requestDeadlinesOf(signal: AbortSignal | undefined): RequestDeadlines | undefined {
  return signal && deadlines.get(signal);
}
