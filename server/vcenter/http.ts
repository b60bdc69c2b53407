/**
 * The only place that opens connections to vCenter: HTTPS with the certificate verified (against the
 * system roots or the operator's --vcenter-ca), a timeout and a size limit on every call, and one
 * keep-alive agent per session so a session's calls reuse a TLS connection.
 */
import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { VcenterError } from './errors.js';

export interface TlsTrust {
  /** PEM of the CA (or CAs) that issued vCenter's certificate; the system roots when absent. */
  readonly ca?: string | undefined;
  /** Skip certificate verification (labs only; the CLI prints a warning). */
  readonly insecure?: boolean | undefined;
}

export interface HttpOptions {
  /** Per call, from sending the request to the last byte of the answer. */
  readonly timeoutMs: number;
  /** The largest answer body accepted. */
  readonly maxBytes: number;
}

export const DEFAULT_HTTP: HttpOptions = { timeoutMs: 60_000, maxBytes: 32 * 1024 * 1024 };

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'INVALID_PURPOSE',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'CERT_CHAIN_TOO_LONG',
]);

export class HttpClient {
  private readonly agent: Agent;
  readonly origin: string;

  constructor(
    baseUrl: string,
    trust: TlsTrust,
    private readonly options: HttpOptions = DEFAULT_HTTP,
  ) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      // Not echoed: whatever it is, it may hold a password.
      throw new VcenterError('VC_ERR_INPUT', '--vcenter must be an https:// URL, and this is not a URL');
    }
    if (url.username || url.password) {
      throw new VcenterError('VC_ERR_INPUT', '--vcenter must not carry a user or password (they would be printed and ignored): use --vcenter-user and --vcenter-password-file');
    }
    if (url.protocol !== 'https:') throw new VcenterError('VC_ERR_INPUT', `--vcenter must be an https:// URL, got ${url.origin}`);
    this.origin = url.origin;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(trust.ca ? { ca: trust.ca } : {}),
      rejectUnauthorized: trust.insecure !== true,
      minVersion: 'TLSv1.2',
    });
  }

  send(req: HttpRequest): Promise<HttpAnswer> {
    const url = new URL(req.path, this.origin);
    const { timeoutMs, maxBytes } = this.options;
    const headers: Record<string, string> = { accept: '*/*', ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    return new Promise((resolve, reject) => {
      const r = request(url, { method: req.method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            r.destroy(new VcenterError('VC_ERR_PROTOCOL', `vCenter's answer to ${req.method} ${url.pathname} is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => fail(err));
      });
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(describe(err, this.origin));
      };
      // One deadline for the whole exchange: a slow trickle of bytes cannot hold the command forever.
      const timer = setTimeout(() => r.destroy(new VcenterError('VC_ERR_CONNECT', `vCenter at ${this.origin} did not answer ${req.method} ${url.pathname} within ${timeoutMs / 1000} s`)), timeoutMs);
      r.on('error', fail);
      r.end(req.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function describe(err: Error, origin: string): VcenterError {
  if (err instanceof VcenterError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (TLS_CODES.has(code)) {
    return new VcenterError(
      'VC_ERR_TLS',
      `the certificate of ${origin} did not verify (${err.message}): give --vcenter-ca FILE with the vCenter root CA (from https://<vcenter>/certs/download.zip), or --insecure in a lab`,
      undefined,
      { cause: err },
    );
  }
  return new VcenterError('VC_ERR_CONNECT', `cannot reach vCenter at ${origin}: ${err.message}`, undefined, { cause: err });
}
