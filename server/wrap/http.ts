/** JSON over HTTP with undici: bounded time, bounded body size, typed failures. */
import { isRequestDeadline } from '../util/deadline.js';
import { request, type Dispatcher } from 'undici';
import { WrapError, WrapErrorCode } from './errors.js';

export interface HttpResponse {
  readonly status: number;
  readonly body: unknown;
}

const MAX_BODY = 1024 * 1024;

export async function sendJson(
  dispatcher: Dispatcher,
  url: string,
  init: { method: 'GET' | 'POST' | 'PUT'; headers: Record<string, string>; body?: string; timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<HttpResponse> {
  let res: Dispatcher.ResponseData;
  // Our own deadline: undici's timers are too coarse for sub-second bounds.
  const deadline = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
  const failed = (err: unknown): WrapError => {
    if (init.signal?.aborted) return new WrapError(WrapErrorCode.Timeout, abandoned(init.signal), { retryable: false }, { cause: err });
    if (deadline.aborted) return new WrapError(WrapErrorCode.Timeout, `no answer within ${init.timeoutMs} ms`, { retryable: true }, { cause: err });
    const code = (err as { code?: string }).code ?? '';
    return new WrapError(WrapErrorCode.Unavailable, `request failed (${code || (err as Error).name})`, { retryable: true }, { cause: err });
  };
  try {
    res = await request(url, {
      dispatcher,
      method: init.method,
      headers: init.headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal,
    });
  } catch (err) {
    throw failed(err);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        res.body.destroy();
        throw new WrapError(WrapErrorCode.Unavailable, 'response body too large', { status: res.statusCode, retryable: false });
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof WrapError) throw err;
    throw failed(err);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: res.statusCode, body };
}

/** Why the caller's signal stopped the call: the KMIP request's deadline, or the caller going away. */
function abandoned(signal: AbortSignal): string {
  return isRequestDeadline(signal.reason) ? "no answer before the request's deadline" : 'request abandoned';
}

/** IBM's retry guidance: connection errors, 429 and every 5xx except 501; never other 4xx. */
export function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Exponential backoff with full jitter, never past the deadline. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.random() * ceiling;
}

/** `attempt` again after a backoff while it fails with a retryable WrapError, at most `maxAttempts` times. */
export async function withRetries<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof WrapError) || !err.details.retryable || i + 1 >= policy.maxAttempts) throw err;
    }
    await sleep(backoffDelay(policy, i));
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new WrapError(WrapErrorCode.Timeout, abandoned(signal), { retryable: false }));
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(new WrapError(WrapErrorCode.Timeout, abandoned(signal!), { retryable: false }));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `work` for one caller: the caller may give up (its signal) without cancelling the work others share. */
export function unlessAbandoned<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new WrapError(WrapErrorCode.Timeout, abandoned(signal), { retryable: false }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
