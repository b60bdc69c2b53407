/**
 * What every KMIP port shares, the TTLV listener and the HTTPS one: the TLS settings it presents
 * (TLS 1.2/1.3, the KMIP suites, client certificates requested but judged per request by the
 * handler) and what a handler learns of an accepted connection.
 */
import { createHash } from 'node:crypto';
import type { TlsOptions, TLSSocket } from 'node:tls';
import { KMIP_CIPHERS } from './ciphers.js';
import type { ConnectionInfo } from './types.js';

export interface KmipTlsSettings {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca?: string | Buffer | undefined;
  readonly ciphers?: string | undefined;
  readonly ticketKeys?: Buffer | undefined;
  readonly sessionTimeoutSeconds?: number | undefined;
  readonly handshakeTimeoutMs: number;
}

export function kmipTlsOptions(s: KmipTlsSettings): TlsOptions {
  return {
    cert: s.cert,
    key: s.key,
    ...(s.ca ? { ca: s.ca } : {}),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: s.ciphers ?? KMIP_CIPHERS,
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: s.handshakeTimeoutMs,
    sessionTimeout: s.sessionTimeoutSeconds ?? 3600,
    ...(s.ticketKeys ? { ticketKeys: s.ticketKeys } : {}),
  };
}

/** An accepted connection as handlers see it: its peer certificate and fingerprint, read once. */
export function connectionInfoOf(socket: TLSSocket, id: number): ConnectionInfo {
  const cipher = socket.getCipher();
  const peer = socket.getPeerX509Certificate();
  return {
    id,
    remoteAddress: socket.remoteAddress ?? '',
    peerCertificate: peer,
    peerFingerprint: peer ? createHash('sha256').update(peer.raw).digest('hex') : undefined,
    tlsVersion: socket.getProtocol() ?? '',
    cipher: cipher?.standardName ?? cipher?.name ?? '',
    resumed: socket.isSessionReused(),
  };
}
