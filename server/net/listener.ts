/**
 * The KMIP listener: TLS 1.2/1.3 on a TCP port, client certificates requested but judged by the
 * caller (a client without one, or with an unknown one, completes the handshake and is refused per
 * request), renegotiation disabled, bounded connections and timeouts, and a drain for SIGTERM.
 *
 * Connections whose client is not known to be registered (no certificate, an unknown one, not judged
 * yet) cannot crowd out registered clients: they are kept within `maxUnauthenticatedConnections`, get
 * the short idle bound, and are the ones closed to make room, the oldest of the source address holding
 * most of them first. At `maxConnections` a new connection is never refused while such a connection
 * (or a socket still in its handshake) can be closed instead.
 */
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../log/logger.js';
import { errorSummary } from '../log/logger.js';
import { connectionInfoOf, kmipTlsOptions } from './kmip-tls.js';
import { Connection, type Trust } from './connection.js';
import type { ConnectionInfo, ListenerEvents, ListenerLimits, MessageHandler } from './types.js';

export interface KmipListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** CA certificates whose names are sent in the CertificateRequest (a hint to clients only). */
  readonly ca?: string | Buffer | undefined;
  readonly ciphers?: string | undefined;
  readonly limits: ListenerLimits;
  readonly handler: MessageHandler;
  readonly logger: Logger;
  readonly events?: ListenerEvents | undefined;
  /** 48 bytes shared by every node of a cluster, so a session resumes on any of them. */
  readonly ticketKeys?: Buffer | undefined;
  readonly sessionTimeoutSeconds?: number | undefined;
  /**
   * Judges a new connection's client at once (true: registered), before its first request, so that a
   * registered client's fresh connection is not counted (or closed) as unauthenticated. Each request's
   * verdict (MessageHandler) overrides it.
   */
  readonly classify?: ((info: ConnectionInfo) => boolean | Promise<boolean>) | undefined;
}

const SHED_LOG_INTERVAL_MS = 10_000;
/**
 * How long a socket may stay in its handshake, or a connection unjudged, before it may be closed to
 * make room: a registered client's own takes milliseconds, even from a cold client cache.
 */
const STALE_MS = 1_000;

export class KmipListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /**
   * TCP connections still in their handshake (not yet Connections), oldest first, with the peer address
   * read once there: reading it again through the TLS socket costs a proxied system call per connection.
   */
  private readonly handshaking = new Map<Socket, { readonly started: number; readonly remoteAddress: string }>();
  /** Connections not (or no longer) known to be authenticated, oldest first. */
  private readonly unverified = new Set<Connection>();
  private readonly maxUnverified: number;
  private nextId = 1;
  private accepting = true;
  private shed = 0;
  private shedLoggedAt = 0;

  constructor(private readonly options: KmipListenerOptions) {
    this.server = createServer(kmipTlsOptions({ ...options, handshakeTimeoutMs: options.limits.handshakeTimeoutMs }));
    this.maxUnverified = Math.max(1, Math.min(options.limits.maxUnauthenticatedConnections, options.limits.maxConnections));
    // Not Node's server.maxConnections: at the cap it refuses the new connection, a registered
    // client's too, while unauthenticated ones hold every slot. The cap is kept here instead.
    this.server.on('connection', (raw: Socket) => {
      if (!this.accepting) {
        raw.destroy();
        return;
      }
      if (this.handshaking.size + this.connections.size >= options.limits.maxConnections) {
        const victim = this.victimAtCap();
        if (!victim) {
          raw.destroy();
          return;
        }
        this.shedOne(victim, 'maxConnections');
      }
      this.handshaking.set(raw, { started: performance.now(), remoteAddress: raw.remoteAddress ?? '' });
      raw.once('close', () => this.handshaking.delete(raw));
    });
    this.server.on('secureConnection', (socket) => this.accept(socket));
    // With a listener here Node no longer destroys the failed socket itself (timeouts included).
    this.server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      options.events?.onTlsError?.(err.code ?? 'unknown');
      options.logger.debug({ error: errorSummary(err) }, 'TLS handshake failed');
      socket.destroy();
    });
    this.server.on('error', (err) => options.logger.error({ error: errorSummary(err) }, 'listener error'));
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
    return this.connections.size;
  }

  private accept(socket: TLSSocket): void {
    const remoteAddress = this.handshakeDone(socket);
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    socket.disableRenegotiation();
    const info = connectionInfoOf(socket, this.nextId++, remoteAddress);
    const connection = new Connection(socket, info, this.options.handler, this.options.limits, this.options.logger);
    this.connections.add(connection);
    this.unverified.add(connection);
    connection.onTrust = (c, previous) => this.trustChanged(c, previous);
    this.options.events?.onConnectionOpen?.(info);
    void connection.closed.then(() => {
      this.connections.delete(connection);
      this.unverified.delete(connection);
      this.options.events?.onConnectionClose?.(info);
    });
    const known = this.options.classify?.(info);
    if (typeof known === 'boolean') connection.setTrust(known ? 'authenticated' : 'refused');
    else
      known?.then(
        (ok) => {
          if (connection.trust === 'pending') connection.setTrust(ok ? 'authenticated' : 'refused');
        },
        (err: unknown) => this.options.logger.debug({ conn: info.id, error: errorSummary(err) }, 'connection not classified'),
      );
    if (connection.trust !== 'authenticated') this.withinUnverifiedBudget(connection);
  }

  /** Forgets the handshake of the TCP connection under `socket`; returns the peer address read at accept. */
  private handshakeDone(socket: TLSSocket): string {
    // A server's TLS socket wraps the accepted TCP socket, which Node keeps as `_parent`.
    const raw = (socket as unknown as { _parent?: unknown })._parent;
    let entry = raw instanceof Object ? this.handshaking.get(raw as Socket) : undefined;
    if (entry) this.handshaking.delete(raw as Socket);
    else {
      // Should Node stop exposing it: found by address and port (the slow way, once per connection).
      const [address, port] = [socket.remoteAddress, socket.remotePort];
      for (const [r, e] of this.handshaking) {
        if (r.remoteAddress === address && r.remotePort === port) {
          this.handshaking.delete(r);
          entry = e;
          break;
        }
      }
    }
    return entry?.remoteAddress ?? socket.remoteAddress ?? '';
  }

  private trustChanged(connection: Connection, previous: Trust): void {
    if (connection.trust === 'authenticated') {
      this.unverified.delete(connection);
    } else if (previous === 'authenticated' && this.connections.has(connection)) {
      // A registration removed or a certificate expired while connected: budgeted again.
      this.unverified.add(connection);
      this.withinUnverifiedBudget(connection);
    }
  }

  /** Closes unauthenticated connections other than `keep` until their count is within the budget. */
  private withinUnverifiedBudget(keep: Connection): void {
    while (this.unverified.size > this.maxUnverified) {
      const victim = this.unverifiedVictim(keep);
      if (!victim) return;
      this.shedOne(victim, 'maxUnauthenticatedConnections');
    }
  }

  /**
   * The connection to close for room among those not authenticated: a refused one, the oldest of the
   * source address holding most refused connections (so one noisy address cannot push out another's
   * probe), else the oldest still pending.
   */
  private unverifiedVictim(keep?: Connection): Connection | undefined {
    const perAddress = new Map<string, number>();
    let heaviest: string | undefined;
    let most = 0;
    let oldestPending: Connection | undefined;
    const now = performance.now();
    for (const c of this.unverified) {
      if (c === keep) continue;
      if (c.trust !== 'refused') {
        // Not judged yet: a registered client's fresh connection may be (its lookup takes milliseconds, even
        // from a cold cache); only one still pending after a while is fair game.
        if (now - c.acceptedAt >= STALE_MS) oldestPending ??= c;
        continue;
      }
      const n = (perAddress.get(c.info.remoteAddress) ?? 0) + 1;
      perAddress.set(c.info.remoteAddress, n);
      if (n > most) {
        most = n;
        heaviest = c.info.remoteAddress;
      }
    }
    if (heaviest !== undefined) {
      for (const c of this.unverified) if (c !== keep && c.trust === 'refused' && c.info.remoteAddress === heaviest) return c;
    }
    return oldestPending;
  }

  /**
   * At maxConnections: a refused connection, else the oldest socket still in its handshake. Never one
   * not judged yet (a registered client's fresh connection may be): then the new one is refused.
   */
  private victimAtCap(): Connection | Socket | undefined {
    const refused = this.unverifiedVictim();
    if (refused && refused.trust === 'refused') return refused;
    // Only a handshake that has lasted: a registered client's own takes milliseconds.
    const oldest = this.handshaking.entries().next().value;
    if (!oldest) return undefined;
    const [raw, { started }] = oldest;
    return performance.now() - started >= Math.min(STALE_MS, this.options.limits.handshakeTimeoutMs / 2) ? raw : undefined;
  }

  /** Closes the victim and forgets it at once (its close event comes later), so it makes room now. */
  private shedOne(victim: Connection | Socket, limit: string): void {
    if (victim instanceof Connection) {
      this.unverified.delete(victim);
      this.connections.delete(victim);
      victim.destroy();
    } else {
      this.handshaking.delete(victim);
      victim.destroy();
    }
    this.shed++;
    const now = performance.now();
    if (now - this.shedLoggedAt >= SHED_LOG_INTERVAL_MS) {
      this.shedLoggedAt = now;
      this.options.logger.warn(
        { limit, shed: this.shed, connections: this.connections.size, unauthenticated: this.unverified.size, handshaking: this.handshaking.size },
        'connection limit reached: closing connections of clients that are not registered',
      );
    }
  }

  /** Closes every connection matching the predicate at once (a removed client certificate). */
  disconnectWhere(predicate: (info: ConnectionInfo) => boolean): number {
    let n = 0;
    for (const c of this.connections) {
      if (predicate(c.info)) {
        c.destroy();
        n++;
      }
    }
    return n;
  }

  /**
   * Stops accepting, lets in-flight requests finish and their responses go out, closes idle
   * connections, and after the grace period destroys whatever is left.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const raw of this.handshaking.keys()) raw.destroy();
    for (const c of this.connections) c.shutdown();
    const all = Promise.all([...this.connections].map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([all, grace]);
    clearTimeout(timer);
    for (const c of this.connections) c.destroy();
    for (const raw of this.handshaking.keys()) raw.destroy();
    await closed;
  }
}
