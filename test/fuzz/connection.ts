/**
 * One fuzzing connection to the real listener: writes an input the way it was generated (several
 * TLS records when it has split points), then waits, up to a deadline, for the responses the
 * framing predicts or for the server to close. TLS sessions are resumed, so reconnecting after the
 * server closed a connection costs little.
 */
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { FrameReader } from '../../server/ttlv/index.js';
import type { Expectation } from './oracle.js';

export interface Identity {
  readonly cert?: string;
  readonly key?: string;
}

export interface Exchange {
  readonly responses: Buffer[];
  /** The server closed the connection (before or after answering). */
  readonly closed: boolean;
  /** Neither the responses nor a close came before the deadline. */
  readonly timedOut: boolean;
  /** Responses that arrived when nothing had been asked: garbage by definition. */
  readonly unsolicited: number;
  /** The response stream did not frame (a header claiming more than any response could be). */
  readonly unframeable: boolean;
}

/** Responses are small; anything announcing more than this is not a response. */
const MAX_RESPONSE = 64 * 1024 * 1024;

export class FuzzConnection {
  private readonly framer = new FrameReader(MAX_RESPONSE);
  private readonly responses: Buffer[] = [];
  private wake: (() => void) | undefined;
  private unframeable = false;
  closed = false;

  private constructor(readonly socket: TLSSocket) {
    // Split inputs are several small writes: without this, Nagle holds each back for an ACK.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.responses.push(...this.framer.push(chunk));
      } catch {
        this.unframeable = true;
        socket.destroy();
      }
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  /**
   * The identity's TLS context, built once: parsing the CA, certificate and private key again for
   * every connection costs the fuzzer more than the server spends on most inputs.
   */
  static context(ca: string, identity: Identity): SecureContext {
    return createSecureContext({ ca, ...(identity.cert ? { cert: identity.cert, key: identity.key } : {}) });
  }

  static open(port: number, secureContext: SecureContext, session: Buffer | undefined, onSession: (s: Buffer) => void, timeoutMs: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, secureContext, servername: 'localhost', ...(session ? { session } : {}) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`TLS handshake not done within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('session', onSession);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(new FuzzConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  async exchange(bytes: Uint8Array, splits: readonly number[], expect: Expectation, deadlineMs: number): Promise<Exchange> {
    const unsolicited = this.responses.splice(0).length;
    let from = 0;
    for (const to of [...splits, bytes.length]) {
      if (to > from) this.socket.write(bytes.subarray(from, to));
      from = to;
    }
    // An incomplete message waits for bytes that never come: say so, as a client that gives up would.
    if (expect.ending === 'partial') this.socket.end();
    const done = () => this.closed || (expect.ending === 'open' && this.responses.length >= expect.frames.length);
    let timedOut = false;
    if (!done()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, deadlineMs);
        this.wake = () => {
          if (!done()) return;
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return { responses: this.responses.splice(0), closed: this.closed, timedOut, unsolicited, unframeable: this.unframeable };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
