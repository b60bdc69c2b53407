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

/** Serves one whole request message; must resolve with a response (it never sees a socket). */
export type MessageHandler = (message: Buffer, connection: ConnectionInfo, signal: AbortSignal) => Promise<Uint8Array>;

export interface ListenerLimits {
  /** Largest request message accepted, header included. */
  readonly maxMessageSize: number;
  readonly maxConnections: number;
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
