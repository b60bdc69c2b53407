import type { X509Certificate } from 'node:crypto';

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  /** The certificate the client presented, if any (checked by the caller, not by TLS). */
  readonly peerCertificate: X509Certificate | undefined;
  /** SHA-256 of that certificate's DER, lower-case hex, computed once per connection. */
  readonly peerFingerprint: string | undefined;
  readonly tlsVersion: string;
  readonly cipher: string;
  readonly resumed: boolean;
}

/**
 * How the handler tells the listener what it made of the connection's client: `true` once a request
 * was served for a registered client, `false` when one was refused (no certificate, an unknown one).
 * The listener keeps connections that are not authenticated in a small budget of their own.
 */
export type PeerVerdict = (authenticated: boolean) => void;

/** Serves one whole request message; must resolve with a response (it never sees a socket). */
export type MessageHandler = (message: Buffer, connection: ConnectionInfo, signal: AbortSignal, verdict?: PeerVerdict) => Promise<Uint8Array>;

export interface ListenerLimits {
  /** Largest request message accepted, header included. */
  readonly maxMessageSize: number;
  readonly maxConnections: number;
  /**
   * Connections not known to belong to a registered client (no certificate, an unknown one, or not yet
   * judged) the listener keeps at once; past it, and at `maxConnections`, the oldest of them is closed
   * to make room (from the source address holding most of them first).
   */
  readonly maxUnauthenticatedConnections: number;
  readonly handshakeTimeoutMs: number;
  /** A connection with no request in flight and no bytes for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A request taking longer than this is abandoned and its connection closed. */
  readonly requestTimeoutMs: number;
  /** Requests a client may pipeline before we stop reading its socket. */
  readonly maxQueuedMessages: number;
}

export interface ListenerEvents {
  onConnectionOpen?(info: ConnectionInfo): void;
  onConnectionClose?(info: ConnectionInfo): void;
  onTlsError?(code: string): void;
}
