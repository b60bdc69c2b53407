/**
 * The KMIP listener: TLS 1.2/1.3 on a TCP port, client certificates requested but judged by the
 * caller (a client without one, or with an unknown one, completes the handshake and is refused per
 * request), renegotiation disabled, bounded connections and timeouts, and a drain for SIGTERM.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../log/logger.js';
import { errorSummary } from '../log/logger.js';
import { KMIP_CIPHERS } from './ciphers.js';
import { Connection } from './connection.js';
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
}

export class KmipListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** TCP connections still in their handshake (not yet Connections), by remote address and port. */
  private readonly handshaking = new Map<string, Socket>();
  private nextId = 1;
  private accepting = true;

  constructor(private readonly options: KmipListenerOptions) {
    this.server = createServer({
      cert: options.cert,
      key: options.key,
      ...(options.ca ? { ca: options.ca } : {}),
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: options.ciphers ?? KMIP_CIPHERS,
      honorCipherOrder: true,
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: options.limits.handshakeTimeoutMs,
      sessionTimeout: options.sessionTimeoutSeconds ?? 3600,
      ...(options.ticketKeys ? { ticketKeys: options.ticketKeys } : {}),
    });
    this.server.maxConnections = options.limits.maxConnections;
    this.server.on('connection', (raw: Socket) => {
      if (!this.accepting) {
        raw.destroy();
        return;
      }
      const key = `${raw.remoteAddress}:${raw.remotePort}`;
      this.handshaking.set(key, raw);
      raw.once('close', () => {
        if (this.handshaking.get(key) === raw) this.handshaking.delete(key);
      });
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
    this.handshaking.delete(`${socket.remoteAddress}:${socket.remotePort}`);
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    socket.disableRenegotiation();
    const cipher = socket.getCipher();
    const peer = socket.getPeerX509Certificate();
    const info: ConnectionInfo = {
      id: this.nextId++,
      remoteAddress: socket.remoteAddress ?? '',
      peerCertificate: peer,
      peerFingerprint: peer ? createHash('sha256').update(peer.raw).digest('hex') : undefined,
      tlsVersion: socket.getProtocol() ?? '',
      cipher: cipher?.standardName ?? cipher?.name ?? '',
      resumed: socket.isSessionReused(),
    };
    const connection = new Connection(socket, info, this.options.handler, this.options.limits, this.options.logger);
    this.connections.add(connection);
    this.options.events?.onConnectionOpen?.(info);
    void connection.closed.then(() => {
      this.connections.delete(connection);
      this.options.events?.onConnectionClose?.(info);
    });
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
    for (const raw of this.handshaking.values()) raw.destroy();
    for (const c of this.connections) c.shutdown();
    const all = Promise.all([...this.connections].map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([all, grace]);
    clearTimeout(timer);
    for (const c of this.connections) c.destroy();
    for (const raw of this.handshaking.values()) raw.destroy();
    await closed;
  }
}
