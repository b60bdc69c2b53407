/**
 * What every KMIP port shares, the TTLV listener and the HTTPS one: the TLS settings it presents
 * (TLS 1.2/1.3, the KMIP suites, client certificates requested but judged per request by the
 * handler) and what a handler learns of an accepted connection.
 */
import { hash, X509Certificate } from 'node:crypto';
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

/**
 * Certificates of peers met in full handshakes, by SHA-256 fingerprint: a client reconnects with the
 * same one. Any client can complete a handshake with a certificate of its own making (it is judged
 * per request), so the map is small and keeps only certificates of an ordinary size: 256 × 8 KiB at most.
 */
const MAX_KNOWN_PEERS = 256;
const MAX_KNOWN_PEER_BYTES = 8192;
const knownPeers = new Map<string, X509Certificate>();

/**
 * The client's certificate and its SHA-256 fingerprint (lower-case hex). After a full handshake Node's
 * getPeerX509Certificate copies the certificate through OpenSSL 3's decoders (about 0.1 ms, a tenth of
 * the handshake's cost), so there the DER and fingerprint come from getPeerCertificate and the object
 * is parsed once per certificate; a resumed session's certificate comes without that copy.
 */
function peerOf(socket: TLSSocket, resumed: boolean): { readonly cert: X509Certificate; readonly fingerprint: string } | undefined {
  // The fingerprint is identity/fingerprint.ts's certificateFingerprint (net may not import identity; a test ties them).
  if (resumed) {
    const cert = socket.getPeerX509Certificate();
    if (!cert) return undefined;
    const fingerprint = hash('sha256', cert.raw, 'hex');
    // The object met before, if any: what was read from it (its validity dates) is not read again.
    return { cert: knownPeers.get(fingerprint) ?? cert, fingerprint };
  }
  const detail = socket.getPeerCertificate();
  // An object without fields when the client sent no certificate.
  if (!detail?.raw || !detail.fingerprint256) return undefined;
  const fingerprint = detail.fingerprint256.replaceAll(':', '').toLowerCase();
  let cert = knownPeers.get(fingerprint);
  if (!cert) {
    cert = new X509Certificate(detail.raw);
    if (detail.raw.length <= MAX_KNOWN_PEER_BYTES) {
      if (knownPeers.size >= MAX_KNOWN_PEERS) knownPeers.delete(knownPeers.keys().next().value!);
      knownPeers.set(fingerprint, cert);
    }
  }
  return { cert, fingerprint };
}

/** An accepted connection as handlers see it: its peer certificate and fingerprint, read once. */
export function connectionInfoOf(socket: TLSSocket, id: number, remoteAddress = socket.remoteAddress ?? ''): ConnectionInfo {
  const cipher = socket.getCipher();
  const resumed = socket.isSessionReused();
  const peer = peerOf(socket, resumed);
  return {
    id,
    remoteAddress,
    peerCertificate: peer?.cert,
    peerFingerprint: peer?.fingerprint,
    tlsVersion: socket.getProtocol() ?? '',
    cipher: cipher?.standardName ?? cipher?.name ?? '',
    resumed,
  };
}
