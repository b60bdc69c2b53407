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
 * more precise) before the request stops waiting for them.
 */
export const DEADLINE_GRACE_MS = 25;

/**
 * A connection's request deadlines on its (reused) signal. One abort listener for the signal's whole
 * life, not one per batch item: one promise per request, made by its first item and shared by the
 * rest, rejects a grace period after the deadline so the request is answered even if its work hangs.
 */
export class RequestDeadlines {
  /** The deadline of the request the signal currently serves (epoch ms): set per request, unset between requests. */
  at: number | undefined;
  private expiry: Promise<never> | undefined;
  private expire: ((reason: unknown) => void) | undefined;

  constructor(private readonly signal: AbortSignal) {
    deadlines.set(signal, this);
    signal.addEventListener(
      'abort',
      () => {
        if (isRequestDeadline(signal.reason)) setTimeout(() => this.expire?.(signal.reason), DEADLINE_GRACE_MS);
      },
      { once: true },
    );
  }

  /**
   * Rejects with `failure(reason)` a grace period after the current request's deadline; never settles
   * when the request ends in time. One per request (`end` drops it), so waiting on it leaks nothing.
   */
  expired(failure: (reason: unknown) => Error): Promise<never> {
    return (this.expiry ??= new Promise<never>((_resolve, reject) => {
      this.expire = (reason) => reject(failure(reason));
    }));
  }

  /** The request is answered: its deadline and what waited on it are dropped. */
  end(): void {
    this.at = undefined;
    this.expiry = undefined;
    this.expire = undefined;
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
