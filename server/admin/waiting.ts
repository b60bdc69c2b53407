/**
 * The admin port of a node waiting for its database at start: alive (/healthz 200) but not ready
 * (/readyz 503 naming why), so load balancers and rollouts see the node and its reason instead of
 * a refused port while systemd restarts it. The management API answers 503: nothing it does works
 * without the store. It binds the configured address and TLS settings and is closed before the
 * real admin server takes the same port.
 */
import { readFileSync } from 'node:fs';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { MetricsRegistry, type Counter } from '../metrics/registry.js';
import { AdminServer, type Route } from './http.js';
import { send } from './management-http.js';
import { isStatusPath } from './status/route.js';

const WAITING = 'unreachable: waiting for the database';

/**
 * Management calls and the status page fail fast and say why (no data: nothing is read yet); a client
 * still uploading gets the answer, not a reset.
 */
const waitingRoute: Route = async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://admin').pathname;
  const status = isStatusPath(path);
  if (!path.startsWith('/v1/') && !status) return false;
  if (!req.complete) req.resume();
  res.setHeader('retry-after', '5');
  if (status) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('the server is waiting for its database (see /readyz); the status page is served once it has started\n');
    return true;
  }
  send(res, 503, { error: 'the server is waiting for its database; try again when /readyz answers 200' });
  return true;
};

export class WaitingAdminServer {
  private reason = WAITING;
  private readonly server: AdminServer;
  private readonly failures: Counter;

  constructor(admin: Readonly<ServerConfig['admin']>, logger: Logger) {
    const registry = new MetricsRegistry();
    registry.gauge('kmip_store_waiting', 'The server is waiting for its database at start; the KMIP port is closed meanwhile').set(1);
    this.failures = registry.counter('kmip_store_open_failures_total', 'Attempts to open the store at start that failed');
    this.server = new AdminServer({
      host: admin.host,
      port: admin.port,
      requestTimeoutMs: admin.requestTimeoutMs,
      logger,
      tls: admin.tls && {
        cert: readFileSync(admin.tls.certFile),
        key: readFileSync(admin.tls.keyFile),
        ca: admin.tls.clientCaFile ? readFileSync(admin.tls.clientCaFile) : undefined,
      },
      metrics: () => registry.render(),
      checks: [
        {
          name: 'store',
          run: async () => {
            throw new Error(this.reason);
          },
        },
        {
          name: 'rootKey',
          run: async () => {
            throw new Error('not checked');
          },
        },
      ],
      routes: [waitingRoute],
    });
  }

  /** Binds the admin port; returns the bound port. */
  start(): Promise<number> {
    return this.server.start();
  }

  /** Records a failed attempt; `cause` (a socket error or SQLSTATE) goes into /readyz. */
  failed(cause: string): void {
    this.failures.inc();
    this.reason = `${WAITING} (${cause})`.slice(0, 200);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
