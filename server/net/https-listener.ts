/**
 * The KMIP HTTPS transport (KMIP Profiles "HTTPS"): POST /kmip on its own port, with the TLS settings
 * of the KMIP listener (TLS 1.2/1.3, its ciphers, client certificates requested and judged per
 * request by the handler, renegotiation off). The body's Content-Type picks its encoding and the
 * answer goes back in the same one. Bodies are bounded before they are buffered, every request has a
 * deadline, connections are capped, and a drain lets requests in flight finish.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log/logger.js';
import { errorSummary } from '../log/logger.js';
import { connectionInfoOf, kmipTlsOptions } from './kmip-tls.js';
import type { ConnectionInfo, ListenerEvents } from './types.js';

/** The body encodings, by the Content-Type that names them. */
export type HttpsEncoding = 'ttlv' | 'xml' | 'json';
const CONTENT_TYPES: ReadonlyMap<string, HttpsEncoding> = new Map([
  ['application/octet-stream', 'ttlv'],
  ['text/xml', 'xml'],
  ['application/json', 'json'],
]);
const RESPONSE_TYPE: Readonly<Record<HttpsEncoding, string>> = { ttlv: 'application/octet-stream', xml: 'text/xml; charset=utf-8', json: 'application/json' };

export const KMIP_HTTPS_PATH = '/kmip';

/** Serves one request body; resolves with the response body in the same encoding (never rejects for a bad message). */
export type HttpsMessageHandler = (body: Buffer, encoding: HttpsEncoding, connection: ConnectionInfo, signal: AbortSignal) => Promise<Uint8Array | string>;

export interface HttpsListenerLimits {
  readonly maxMessageSize: number;
  readonly maxConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export interface KmipHttpsListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca?: string | Buffer | undefined;
  readonly ticketKeys?: Buffer | undefined;
  readonly sessionTimeoutSeconds?: number | undefined;
  readonly limits: HttpsListenerLimits;
  readonly handler: HttpsMessageHandler;
  readonly logger: Logger;
  readonly events?: ListenerEvents | undefined;
}

/**
 * Ids of HTTPS connections start far above the KMIP listener's, so the two never share one in the
 * handler's per-connection bookkeeping.
 */
const FIRST_ID = 2 ** 40;

export class KmipHttpsListener {
  private readonly server: Server;
  private readonly infos = new WeakMap<TLSSocket, ConnectionInfo>();
  private readonly open = new Set<TLSSocket>();
  private readonly inFlight = new Set<AbortController>();
  private nextId = FIRST_ID;
  private accepting = true;

  constructor(private readonly options: KmipHttpsListenerOptions) {
    const { limits } = options;
    this.server = createServer(
      {
        ...kmipTlsOptions({ ...options, handshakeTimeoutMs: limits.handshakeTimeoutMs }),
        // Whole request (headers and body) within the request deadline: bounds slow senders.
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
        // How often Node checks those two bounds (its default, 30 s, would let a slow sender stay far longer).
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.requestTimeoutMs / 2)),
        keepAliveTimeout: limits.idleTimeoutMs,
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => void this.serve(req, res),
    );
    // Node's cap refuses (closes) a connection past it; with no budget of unauthenticated clients here, that is the rule.
    this.server.maxConnections = limits.maxConnections;
    this.server.timeout = limits.idleTimeoutMs;
    this.server.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
    this.server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      options.events?.onTlsError?.(err.code ?? 'unknown');
      options.logger.debug({ error: errorSummary(err) }, 'HTTPS TLS handshake failed');
      socket.destroy();
    });
    this.server.on('clientError', (err, socket) => {
      options.logger.debug({ error: errorSummary(err) }, 'HTTPS client error');
      socket.destroy();
    });
    this.server.on('error', (err) => options.logger.error({ error: errorSummary(err) }, 'HTTPS listener error'));
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : this.options.port);
      });
    });
  }

  get connectionCount(): number {
    return this.open.size;
  }

  private accept(socket: TLSSocket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    socket.disableRenegotiation();
    const info = connectionInfoOf(socket, this.nextId++);
    this.infos.set(socket, info);
    this.open.add(socket);
    this.options.events?.onConnectionOpen?.(info);
    socket.once('close', () => {
      this.open.delete(socket);
      this.options.events?.onConnectionClose?.(info);
    });
  }

  private reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(`${message}\n`);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const info = this.infos.get(socket);
    const path = (req.url ?? '').split('?')[0];
    if (!info || !this.accepting) {
      res.shouldKeepAlive = false;
      return this.reply(res, 503, 'not accepting requests');
    }
    if (path !== KMIP_HTTPS_PATH) return this.reply(res, 404, 'not found: KMIP is served at POST /kmip');
    if (req.method !== 'POST') return this.reply(res, 405, 'method not allowed', { allow: 'POST' });
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding = CONTENT_TYPES.get(mediaType);
    if (!encoding) return this.reply(res, 415, 'unsupported content type: application/octet-stream (TTLV), text/xml or application/json');
    const max = this.options.limits.maxMessageSize;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) {
      res.shouldKeepAlive = false;
      return this.reply(res, 413, `body larger than ${max} bytes`);
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    const onGone = () => controller.abort(new Error('client went away'));
    res.once('close', onGone);
    const timer = setTimeout(() => controller.abort(new Error('request deadline')), this.options.limits.requestTimeoutMs);
    try {
      const body = await readBounded(req, max, controller.signal);
      if (body === 'too large') {
        res.shouldKeepAlive = false;
        return this.reply(res, 413, `body larger than ${max} bytes`);
      }
      if (body === 'aborted') return this.reply(res, 503, 'request deadline passed');
      const answer = await Promise.race([
        this.options.handler(body, encoding, info, controller.signal),
        new Promise<'late'>((resolve) => controller.signal.addEventListener('abort', () => resolve('late'), { once: true })),
      ]);
      if (answer === 'late') return this.reply(res, 503, 'request deadline passed');
      if (answer.length === 0) return this.reply(res, 503, 'no answer within the request deadline');
      res.writeHead(200, { 'content-type': RESPONSE_TYPE[encoding], 'cache-control': 'no-store' });
      res.end(answer);
    } catch (err) {
      this.options.logger.error({ conn: info.id, error: errorSummary(err) }, 'HTTPS request failed');
      this.reply(res, 500, 'internal error');
    } finally {
      clearTimeout(timer);
      res.off('close', onGone);
      this.inFlight.delete(controller);
    }
  }

  /** Cuts off matching connections now (a removed client certificate). */
  disconnectWhere(predicate: (info: ConnectionInfo) => boolean): number {
    let n = 0;
    for (const socket of this.open) {
      const info = this.infos.get(socket);
      if (info && predicate(info)) {
        socket.destroy();
        n++;
      }
    }
    return n;
  }

  /** Stops accepting, lets requests in flight answer within the grace period, then closes everything. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.server.closeAllConnections();
    for (const socket of this.open) socket.destroy();
    await closed;
  }
}

/** The request body, refused as soon as it passes `max` bytes (nothing more is buffered). */
function readBounded(req: IncomingMessage, max: number, signal: AbortSignal): Promise<Buffer | 'too large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too large' | 'aborted') => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        finish('too large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks, size));
    const onError = () => finish('aborted');
    const onAbort = () => finish('aborted');
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
