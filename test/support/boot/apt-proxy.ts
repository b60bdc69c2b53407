/**
 * The booted node's only way out: an HTTP proxy for apt (Acquire::http::Proxy) that forwards requests to
 * Debian's archive and to nothing else, so the user data's `package_update` and `nodejs` install run as they
 * would against a mirror while the node itself has no route. Plain GET/HEAD of absolute URLs, and CONNECT on
 * port 443, for the archive hosts only; anything else gets 403. Listens on the host's loopback.
 */
import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export const ARCHIVE_HOSTS = Object.freeze(['deb.debian.org', 'security.debian.org']);
/** How long the archive may stay silent on a proxied request or tunnel. */
const UPSTREAM_TIMEOUT_MS = 60_000;
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export interface AptProxy {
  readonly port: number;
  /** Requests seen: `METHOD URL STATUS` (403 for refused ones). */
  readonly log: string[];
  close(): Promise<void>;
}

export async function startAptProxy(): Promise<AptProxy> {
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      url = new URL('http://invalid/');
    }
    if (url.protocol !== 'http:' || !ARCHIVE_HOSTS.includes(url.hostname) || (url.port !== '' && url.port !== '80') || !['GET', 'HEAD'].includes(req.method ?? '')) {
      log.push(`${req.method} ${req.url} 403`);
      res.writeHead(403, { 'content-type': 'text/plain' }).end('only GET and HEAD of Debian archive URLs are proxied\n');
      return;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP_BY_HOP.has(k)));
    const upstream = request({ host: url.hostname, port: 80, method: req.method, path: `${url.pathname}${url.search}`, headers, timeout: UPSTREAM_TIMEOUT_MS }, (up) => {
      log.push(`${req.method} ${url.href} ${up.statusCode}`);
      const back = Object.fromEntries(Object.entries(up.headers).filter(([k]) => !HOP_BY_HOP.has(k)));
      res.writeHead(up.statusCode ?? 502, back as Record<string, string | string[]>);
      up.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', (err) => {
      log.push(`${req.method} ${url.href} 502 ${err.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(':');
    if (!host || !ARCHIVE_HOSTS.includes(host) || port !== '443') {
      log.push(`CONNECT ${req.url} 403`);
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(443, host, () => {
      log.push(`CONNECT ${req.url} 200`);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    // As the plain requests' upstream timeout: an archive host that stops answering (while connecting or
    // mid-transfer) frees the tunnel instead of holding apt and this socket forever.
    upstream.setTimeout(UPSTREAM_TIMEOUT_MS, () => {
      log.push(`CONNECT ${req.url} timeout`);
      end();
    });
    upstream.on('error', end);
    client.on('error', end);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    log,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
