/**
 * One client connection: socket bytes → whole messages (FrameReader, size limit before buffering)
 * → handler → response, strictly in order. Pipelined requests queue up to a bound, then the socket
 * stops being read; a slow reader of responses stops us reading too (backpressure both ways).
 * Every timeout also holds against a peer that keeps the socket barely alive: a message must arrive
 * whole within the request timeout, and a peer that stops reading its responses is idle.
 */
import type { TLSSocket } from 'node:tls';
import { FrameReader, TtlvError } from '../ttlv/index.js';
import type { Logger } from '../log/logger.js';
import { errorSummary } from '../log/logger.js';
import type { ConnectionInfo, ListenerLimits, MessageHandler, PeerVerdict } from './types.js';
import { answerBudgetMs, answerMarginMs, DEADLINE_GRACE_MS, RequestDeadlineError, RequestDeadlines } from '../util/deadline.js';

/** What is known of the client: not judged yet, a registered client, or one whose requests are refused. */
export type Trust = 'pending' | 'authenticated' | 'refused';

export class Connection {
  private readonly framer: FrameReader;
  private readonly queue: Buffer[] = [];
  private busy = false;
  private closing = false;
  /** Runs from the first byte of a message until it is whole. */
  private arrival: NodeJS.Timeout | undefined;
  /**
   * The signal of the request in flight, aborted at its deadline or when the connection goes. Requests on a
   * connection run one at a time, so one controller serves them all until it is aborted (then a new one):
   * no allocation per request on the hot path.
   */
  private abort = new AbortController();
  private deadline = new RequestDeadlines(this.abort.signal);
  /**
   * Fires at the deadline of the request in flight. Made once and re-armed with refresh() for each
   * request, never cleared between them: a timer made and cleared per request was the largest share
   * of the timers' cost under load (list churn). When it fires between requests it does nothing.
   */
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** Settles the request in flight's wait with an answer given after its deadline, or none (close). */
  private settleLate: ((response: Uint8Array | undefined) => void) | undefined;
  private settled: (() => void) | undefined;
  /** Resolves when the connection is gone. */
  readonly closed: Promise<void>;
  /** Set by the listener's classification at accept and by every request's verdict. */
  trust: Trust = 'pending';
  /** When the connection was accepted (performance.now()): a judgement still pending after a while is stale. */
  readonly acceptedAt = performance.now();
  /** Passed to the handler with each request; the listener learns the verdict through `onTrust`. */
  private readonly verdict: PeerVerdict = (authenticated) => this.setTrust(authenticated ? 'authenticated' : 'refused');
  /** Called when `trust` changes (the listener's accounting). */
  onTrust: ((connection: Connection, previous: Trust) => void) | undefined;

  constructor(
    private readonly socket: TLSSocket,
    readonly info: ConnectionInfo,
    private readonly handler: MessageHandler,
    private readonly limits: ListenerLimits,
    private readonly log: Logger,
  ) {
    this.framer = new FrameReader(limits.maxMessageSize);
    this.closed = new Promise((resolve) => (this.settled = resolve));
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => {
      // Node reports the timeout only when our pending write made no progress either (it checks at
      // the end of one idle period and again at the next), so a peer that reads nothing for that long
      // is as gone as one that sends nothing: it is closed within two idle periods.
      const stalled = socket.writableNeedDrain;
      if (stalled || (!this.busy && this.queue.length === 0)) {
        this.log.debug({ conn: info.id, stalled }, 'idle connection closed');
        socket.destroy();
      }
    });
    // Resets are normal for KMIP clients (vCenter probes): never noisy. Any socket error ends the
    // connection, including a refused renegotiation, which Node reports without closing.
    socket.on('error', (err) => {
      this.log.debug({ conn: info.id, error: errorSummary(err) }, 'connection error');
      socket.destroy();
    });
    socket.on('close', () => {
      clearTimeout(this.arrival);
      clearTimeout(this.deadlineTimer);
      // Only a request in flight listens; aborting builds a DOMException with a stack trace, which
      // was a visible share of a connection's cost when clients connect once per request.
      if (this.busy) this.abort.abort();
      this.queue.length = 0;
      this.settled?.();
    });
    socket.on('end', () => {
      if (!this.busy && this.queue.length === 0) socket.end();
    });
  }

  /**
   * Until its client is known to be registered a connection gets the short idle bound (the handshake
   * timeout, when shorter): a peer without a registered certificate has nothing to wait for.
   */
  private idleTimeoutMs(): number {
    if (this.trust === 'authenticated') return this.limits.idleTimeoutMs;
    return Math.min(this.limits.idleTimeoutMs, this.limits.handshakeTimeoutMs);
  }

  setTrust(trust: Trust): void {
    if (trust === this.trust) return;
    const previous = this.trust;
    const idle = this.idleTimeoutMs();
    this.trust = trust;
    // Re-armed only when the bound changes (pending → refused keeps the short one).
    if (!this.socket.destroyed && this.idleTimeoutMs() !== idle) this.socket.setTimeout(this.idleTimeoutMs());
    this.onTrust?.(this, previous);
  }

  get isIdle(): boolean {
    return !this.busy && this.queue.length === 0;
  }

  private onData(chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (err) {
      // An oversized message cannot be skipped safely on a byte stream: close the connection.
      this.log.info({ conn: this.info.id, error: errorSummary(err) }, err instanceof TtlvError ? 'message refused' : 'framing failed');
      this.socket.destroy();
      return;
    }
    this.watchArrival(messages.length > 0);
    if (messages.length === 0) return;
    this.queue.push(...messages);
    if (this.queue.length >= this.limits.maxQueuedMessages) this.socket.pause();
    void this.pump();
  }

  /**
   * The idle timeout restarts with every byte, so alone it lets a peer sending one byte a second
   * hold a connection and its buffer for days: a message gets the request timeout to arrive whole.
   */
  private watchArrival(completedOne: boolean): void {
    if (completedOne || this.framer.pendingBytes === 0) {
      clearTimeout(this.arrival);
      this.arrival = undefined;
    }
    if (this.framer.pendingBytes === 0 || this.arrival !== undefined) return;
    const expire = (): void => {
      // While we are not reading (backpressure), the delay is ours: wait until we read again.
      if (this.socket.isPaused()) {
        this.arrival = setTimeout(expire, this.limits.requestTimeoutMs);
        return;
      }
      this.log.info({ conn: this.info.id, pendingBytes: this.framer.pendingBytes, timeoutMs: this.limits.requestTimeoutMs }, 'message not received in time; connection closed');
      this.socket.destroy();
    };
    this.arrival = setTimeout(expire, this.limits.requestTimeoutMs);
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.socket.destroyed) {
        const message = this.queue.shift()!;
        if (this.socket.isPaused() && this.queue.length < this.limits.maxQueuedMessages && !this.closing) this.socket.resume();
        const response = await this.serve(message);
        if (response === undefined || this.socket.destroyed) return;
        if (!this.socket.write(response)) await this.waitForDrain();
      }
    } finally {
      this.busy = false;
    }
    if (this.closing && this.queue.length === 0) this.endGracefully();
  }

  /**
   * Every request carries its deadline: the signal the handler gets is aborted a margin before the
   * request timeout (deadline.ts), so outbound calls give up in time for the failure to be answered;
   * a grace period later, work that is still running (something ignored the signal) is answered for
   * with what is done so far; at the request timeout a handler that could not answer loses the connection.
   */
  private async serve(message: Buffer): Promise<Uint8Array | undefined> {
    if (this.abort.signal.aborted) {
      this.abort = new AbortController();
      this.deadline = new RequestDeadlines(this.abort.signal);
    }
    const request = this.abort;
    const deadline = this.deadline;
    deadline.at = Date.now() + answerBudgetMs(this.limits.requestTimeoutMs);
    const late = new Promise<Uint8Array | undefined>((resolve) => (this.settleLate = resolve));
    if (this.deadlineTimer) this.deadlineTimer.refresh();
    else this.deadlineTimer = setTimeout(() => this.onDeadline(), answerBudgetMs(this.limits.requestTimeoutMs));
    try {
      const response = await Promise.race([this.handler(message, this.info, request.signal, this.verdict), late]);
      if (response === undefined) {
        this.log.warn({ conn: this.info.id, timeoutMs: this.limits.requestTimeoutMs }, 'request timed out; connection closed');
        request.abort();
        this.socket.destroy();
      }
      return response;
    } catch (err) {
      this.log.error({ conn: this.info.id, error: errorSummary(err) }, 'request handler failed; connection closed');
      this.socket.destroy();
      return undefined;
    } finally {
      this.settleLate = undefined;
      deadline.end();
    }
  }

  /** The deadline timer fired: if a request is still in flight, its deadline has come (rare path: allocate freely). */
  private onDeadline(): void {
    const settle = this.settleLate;
    if (!settle) return;
    const deadline = this.deadline;
    const budget = answerBudgetMs(this.limits.requestTimeoutMs);
    this.abort.abort(new RequestDeadlineError(budget));
    setTimeout(() => {
      if (this.settleLate !== settle) return;
      const answer = this.answerLate(deadline);
      if (answer) settle(answer);
      else setTimeout(() => this.settleLate === settle && settle(undefined), answerMarginMs(this.limits.requestTimeoutMs) - DEADLINE_GRACE_MS);
    }, DEADLINE_GRACE_MS);
  }

  /** The current request's answer for work still running after its deadline, if it can give one. */
  private answerLate(deadline: RequestDeadlines): Uint8Array | undefined {
    try {
      return deadline.lateAnswer?.answer();
    } catch (err) {
      this.log.error({ conn: this.info.id, error: errorSummary(err) }, 'could not answer a request after its deadline');
      return undefined;
    }
  }

  private waitForDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Finishes what is in flight, then closes; new bytes are no longer read. */
  shutdown(): void {
    this.closing = true;
    this.socket.pause();
    if (this.isIdle) this.endGracefully();
  }

  /** close_notify and FIN, then a hard close if the peer does not finish the close itself. */
  private endGracefully(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
