/**
 * The admin port: /healthz (the process is alive), /readyz (store and root key usable within a
 * deadline), /metrics (Prometheus). Management API routes are mounted here by later layers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { errorSummary } from '../log/logger.js';

export interface ReadinessCheck {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

const exempt = new WeakSet<IncomingMessage>();
/** Tells the request's connection it is exempt: such a connection is never shed to make room. */
const onExempt = new WeakMap<IncomingMessage, () => void>();

/** Lifts the request deadline: only for authorized management calls, which may stream for long (a restore). */
export function exemptFromDeadline(req: IncomingMessage): void {
  exempt.add(req);
  onExempt.get(req)?.();
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly checks: readonly ReadinessCheck[];
  readonly metrics: () => string;
  readonly logger: Logger;
  readonly readinessTimeoutMs?: number;
  readonly routes?: readonly Route[];
  /** From a request's first byte to its answer, body included, unless exemptFromDeadline(); default 30 s. */
  readonly requestTimeoutMs?: number;
  /** From accepting a connection (TLS handshake included) to a request's complete headers; default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Connections held at most; past it the least useful one is shed, not the new one refused. Default 256. */
  readonly maxConnections?: number;
  /** Told of every failed readiness check (its timeout included), e.g. to keep the last error for the status page. */
  readonly onCheckFailed?: (name: string, message: string) => void;
  /** HTTPS; with `ca`, client certificates are requested and verified (routes read socket.authorized). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer | undefined } | undefined;
}

/** Open connections the admin port holds at most; past it, the least useful one is shed (see admit). */
const MAX_CONNECTIONS = 256;
/** From accepting a connection (TLS handshake included) to a request's complete headers. */
const HEADERS_TIMEOUT_MS = 10_000;
/** The TLS handshake alone, at most. */
const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Idle between requests on a kept-alive connection (Node's default). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node checks headersTimeout for messages under way (its default, 30 s, let them live three times longer). */
const CHECK_INTERVAL_MS = 1_000;
/** At most one warning per this period while sockets are shed. */
const SHED_WARNING_MS = 60_000;

/**
 * One TCP connection to the admin port. `requests` counts requests whose headers arrived and whose
 * answer is not finished yet; `exempt` counts those an authorized route exempted from the deadline.
 */
interface Connection {
  readonly socket: Socket;
  requests: number;
  exempt: number;
  timer: NodeJS.Timeout | undefined;
}

export class AdminServer {
  private readonly server: Server;
  /** Connections with no request under way (handshaking, sending headers, idle between requests), oldest first. */
  private readonly waiting = new Set<Connection>();
  /** Connections with a request under way, in the order their requests began. */
  private readonly busy = new Set<Connection>();
  /** TLS: the connection of each TCP socket, by its peer address, until the handshake hands the TLS socket over. */
  private readonly handshaking = new Map<string, Connection>();
  private readonly connections = new WeakMap<Socket, Connection>();
  private readonly headersTimeoutMs: number;
  private readonly maxConnections: number;
  private shed = 0;
  private lastShedWarning = 0;

  constructor(private readonly options: AdminServerOptions) {
    this.headersTimeoutMs = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    this.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.requestStarted(req, res);
      // Node's own requestTimeout is off (it would cut a restore); this one binds everyone else,
      // so a body trickled in below the idle timeout cannot hold one of the 256 connections.
      const deadline = setTimeout(() => {
        if (!exempt.has(req) && !(req.complete && res.writableFinished)) req.socket.destroy();
      }, options.requestTimeoutMs ?? 30_000);
      const settle = () => {
        if (req.complete && res.writableFinished) clearTimeout(deadline);
      };
      req.once('end', settle);
      res.once('finish', settle);
      deadline.unref();
      this.route(req, res).catch((err) => {
        options.logger.error({ error: errorSummary(err) }, 'admin request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'internal error' }));
      });
    };
    const tls = options.tls;
    // Node checks headersTimeout on this interval only: at its default (30 s) a half-sent header held a connection for 30 s.
    const http = { connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, this.headersTimeoutMs), headersTimeout: this.headersTimeoutMs, requestTimeout: 0, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS };
    this.server = tls
      ? createHttpsServer(
          {
            ...http,
            cert: tls.cert,
            key: tls.key,
            minVersion: 'TLSv1.2',
            handshakeTimeout: Math.min(HANDSHAKE_TIMEOUT_MS, this.headersTimeoutMs),
            ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}),
          },
          handle,
        )
      : createServer(http, handle);
    // Headers must come quickly (headersTimeout above); bodies may stream for long only in authorized calls (see handle), never idle.
    this.server.timeout = 60_000;
    // No maxConnections: at the cap Node would refuse every new connection, a health probe's too, while
    // sockets that never finish a header hold the rest. admit() sheds one of those instead.
    this.server.on('connection', (socket: Socket) => this.admit(socket));
    if (tls) this.server.on('secureConnection', (socket: Socket) => this.secured(socket));
  }

  /**
   * A new TCP connection. It must complete a request's headers (after its TLS handshake) within
   * headersTimeoutMs. At the cap the oldest connection with no request under way is closed to make
   * room (one that is handshaking, trickling a header or idle), else the one whose request began
   * first, unless an authorized route exempted it; only when every connection is an exempt request
   * is the new one refused. Health probes complete their headers at once, so they are never the
   * oldest waiting for long, and the attack cannot hold the port.
   */
  private admit(socket: Socket): void {
    const connection: Connection = { socket, requests: 0, exempt: 0, timer: undefined };
    if (this.waiting.size + this.busy.size >= this.maxConnections) {
      const victim = this.victim();
      if (!victim) {
        socket.destroy();
        return;
      }
      this.forget(victim);
      victim.socket.destroy();
      this.noteShed();
    }
    this.connections.set(socket, connection);
    const key = this.options.tls ? peer(socket) : undefined;
    if (key) this.handshaking.set(key, connection);
    this.wait(connection, this.headersTimeoutMs);
    socket.once('close', () => {
      if (key && this.handshaking.get(key) === connection) this.handshaking.delete(key);
      this.forget(connection);
    });
  }

  /** TLS: the handshake is done; requests arrive on the TLS socket, which belongs to the TCP connection. */
  private secured(socket: Socket): void {
    const key = peer(socket);
    const connection = key ? this.handshaking.get(key) : undefined;
    if (!key || !connection) return;
    this.handshaking.delete(key);
    this.connections.set(socket, connection);
  }

  private victim(): Connection | undefined {
    for (const connection of this.waiting) return connection;
    for (const connection of this.busy) if (connection.exempt === 0) return connection;
    return undefined;
  }

  /** No request under way: closed unless one's headers arrive within `ms`. */
  private wait(connection: Connection, ms: number): void {
    clearTimeout(connection.timer);
    this.busy.delete(connection);
    this.waiting.delete(connection);
    this.waiting.add(connection);
    connection.timer = setTimeout(() => {
      if (connection.requests === 0) connection.socket.destroy();
    }, ms);
    connection.timer.unref();
  }

  private forget(connection: Connection): void {
    clearTimeout(connection.timer);
    this.waiting.delete(connection);
    this.busy.delete(connection);
  }

  private requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.connections.get(req.socket);
    if (!connection || connection.socket.destroyed) return;
    connection.requests++;
    if (connection.requests === 1) {
      clearTimeout(connection.timer);
      this.waiting.delete(connection);
      this.busy.add(connection);
    }
    let counted = false;
    let exempted = false;
    onExempt.set(req, () => {
      if (counted || exempted) return;
      exempted = true;
      connection.exempt++;
    });
    const done = () => {
      if (counted) return;
      counted = true;
      if (exempted) connection.exempt--;
      connection.requests--;
      // Answered: the connection may idle for the keep-alive period, then must send its next headers in time.
      if (connection.requests === 0 && !connection.socket.destroyed) this.wait(connection, KEEP_ALIVE_TIMEOUT_MS + this.headersTimeoutMs);
    };
    res.once('finish', done);
    res.once('close', done);
  }

  private noteShed(): void {
    this.shed++;
    const now = Date.now();
    if (now - this.lastShedWarning < SHED_WARNING_MS) return;
    this.lastShedWarning = now;
    this.options.logger.warn({ shed: this.shed, max: this.maxConnections }, 'admin port at its connection limit: closing connections that have not completed a request');
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : this.options.port);
      });
    });
  }

  /** Runs every readiness check with a deadline; the result names each failing check. */
  async readiness(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const timeout = this.options.readinessTimeoutMs ?? 2000;
    const checks: Record<string, string> = {};
    await Promise.all(
      this.options.checks.map(async (check) => {
        const controller = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check.run(controller.signal),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms`)), timeout))),
          ]);
          checks[check.name] = 'ok';
        } catch (err) {
          controller.abort();
          checks[check.name] = (err as Error).message.slice(0, 200);
          this.options.onCheckFailed?.(check.name, checks[check.name]!);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      // An absolute-form target WHATWG URL refuses (a port beyond 65535, a bad host): the client's mistake.
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'malformed request target' }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method === 'GET' && url.pathname === '/readyz') {
      const r = await this.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.options.metrics());
      return;
    }
    for (const route of this.options.routes ?? []) if (await route(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** The TCP connection's peer, which its TLS socket shares. */
function peer(socket: Socket): string | undefined {
  return socket.remoteAddress && socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : undefined;
}
