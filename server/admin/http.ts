/**
 * The admin port: /healthz (the process is alive), /readyz (store and root key usable within a
 * deadline), /metrics (Prometheus). Management API routes are mounted here by later layers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from '../log/logger.js';
import { errorSummary } from '../log/logger.js';

export interface ReadinessCheck {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

const exempt = new WeakSet<IncomingMessage>();

/** Lifts the request deadline: only for authorized management calls, which may stream for long (a restore). */
export function exemptFromDeadline(req: IncomingMessage): void {
  exempt.add(req);
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
  /** HTTPS; with `ca`, client certificates are requested and verified (routes read socket.authorized). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer | undefined } | undefined;
}

export class AdminServer {
  private readonly server: Server;

  constructor(private readonly options: AdminServerOptions) {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
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
    this.server = tls
      ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}) }, handle)
      : createServer(handle);
    // Headers must come quickly; bodies may stream for long only in authorized calls (see handle), never idle.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 0;
    this.server.timeout = 60_000;
    this.server.maxConnections = 256;
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
