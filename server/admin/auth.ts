/**
 * Who may use the management API and the status page: a client certificate the admin CA verified
 * (HTTPS with admin.tls.clientCaFile), or the bearer token in the Authorization header, compared in
 * constant time. Never a token in the URL: URLs end up in proxy logs, browser history and Referer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface AdminAuth {
  /** SHA-256 of the bearer token. */
  readonly tokenHash: Buffer | undefined;
  /** Whether admin client certificates (verified by the admin CA) authorize. */
  readonly clientCertificates: boolean;
}

/** Whether anything can authorize at all; without a token or an admin CA the API and the page are off. */
export function adminAccessConfigured(auth: AdminAuth): boolean {
  return auth.tokenHash !== undefined || auth.clientCertificates;
}

export function isAuthorized(auth: AdminAuth, req: IncomingMessage): boolean {
  if (auth.clientCertificates && (req.socket as TLSSocket).authorized === true) return true;
  const header = req.headers['authorization'];
  if (!auth.tokenHash || typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const presented = createHash('sha256').update(header.slice(7)).digest();
  return timingSafeEqual(presented, auth.tokenHash);
}
