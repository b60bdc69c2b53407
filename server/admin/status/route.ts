/**
 * GET /status on the admin port: the read-only status page for the operator on call. Same
 * authorization as the management API (admin client certificate, or the bearer token in the
 * Authorization header); without it a 401 that carries no data. Never cached, framed or scripted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log/logger.js';
import { adminAccessConfigured, isAuthorized, type AdminAuth } from '../auth.js';
import type { Route } from '../http.js';
import { html } from './escape.js';
import { gatherStatus, type StatusSources } from './gather.js';
import { renderStatusPage } from './render.js';
import { CONTENT_SECURITY_POLICY } from './style.js';

export const STATUS_PATH = '/status';

/** The status page's path, with or without its trailing slash. */
export function isStatusPath(pathname: string): boolean {
  return pathname === STATUS_PATH || pathname === `${STATUS_PATH}/`;
}

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** Query parameters that would carry a credential in the URL, where logs and history keep it. */
const CREDENTIAL_PARAMS = ['token', 'access_token', 'bearer', 'auth', 'authorization'];

function notice(res: ServerResponse, req: IncomingMessage, status: number, title: string, text: string, extra: Record<string, string> = {}): void {
  const body = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`.markup;
  res.writeHead(status, { ...HEADERS, ...extra });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface StatusRouteDeps extends StatusSources {
  readonly auth: AdminAuth;
  /** The audit logger: every view and every refusal is a line. */
  readonly logger: Logger;
}

export function statusRoute(deps: StatusRouteDeps): Route {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (!isStatusPath(url.pathname)) return false;
    // A body is never needed; read and drop it so the answer is not a broken connection.
    if (!req.complete) req.resume();
    if (!adminAccessConfigured(deps.auth)) {
      notice(res, req, 404, 'Status page off', 'The status page is off, like the management API: set admin.tokenFile or admin.tls.clientCaFile.');
      return true;
    }
    if (CREDENTIAL_PARAMS.some((p) => url.searchParams.has(p))) {
      deps.logger.info({ audit: true, admin: 'status view', result: 'refused', why: 'credential in the URL' }, 'management');
      notice(res, req, 400, 'Credential in the URL', 'The status page never takes a token in the URL (logs and browser history keep URLs). Send it in the Authorization header ("Authorization: Bearer TOKEN"), or use an admin client certificate.');
      return true;
    }
    if (!isAuthorized(deps.auth, req)) {
      deps.logger.info({ audit: true, admin: 'status view', result: 'refused' }, 'management');
      notice(res, req, 401, 'Not authorized', 'The status page needs the same credentials as the management API: the bearer token in the Authorization header, or an admin client certificate.', {
        'www-authenticate': 'Bearer realm="kmip-for-vmware admin"',
      });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      notice(res, req, 405, 'Read-only', `The status page only answers GET and HEAD, not ${req.method}.`, { allow: 'GET, HEAD' });
      return true;
    }
    const page = renderStatusPage(await gatherStatus(deps));
    deps.logger.info({ audit: true, admin: 'status view', result: 'success' }, 'management');
    res.writeHead(200, { ...HEADERS, 'content-length': Buffer.byteLength(page) });
    res.end(req.method === 'HEAD' ? undefined : page);
    return true;
  };
}
