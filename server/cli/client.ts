/**
 * The management API client: where the server is, how to authenticate (bearer token from a file,
 * a client certificate over HTTPS, or both), JSON calls, and streamed bodies both ways. Plain
 * node:http(s), so uploads stream and client certificates need no extra dependency.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { lines } from '../backup/snapshot-lines.js';
import { CliError, type CliCode } from './errors.js';


export interface Endpoint {
  readonly url: string;
  readonly token?: string | undefined;
  /** The admin client certificate (with its key) and the CA that issued the admin port's certificate, each when given. */
  readonly tls?: { readonly cert?: Buffer | undefined; readonly key?: Buffer | undefined; readonly ca?: Buffer | undefined } | undefined;
}

export interface EndpointOptions {
  readonly adminUrl?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly caFile?: string | undefined;
  readonly dev: boolean;
  readonly dataDir: string;
}

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read the ${what} ${file}: ${(err as Error).message}`, 2);
  }
}

export function resolveEndpoint(options: EndpointOptions): Endpoint {
  let url = options.adminUrl ?? process.env['KMIPCTL_ADMIN_URL'];
  let tokenFile = options.tokenFile ?? process.env['KMIPCTL_TOKEN_FILE'];
  const certFile = options.certFile ?? process.env['KMIPCTL_CERT_FILE'];
  const keyFile = options.keyFile ?? process.env['KMIPCTL_KEY_FILE'];
  const caFile = options.caFile ?? process.env['KMIPCTL_CA_FILE'];
  if (options.dev) {
    const file = join(resolve(options.dataDir), 'admin.json');
    let doc: { url?: string; tokenFile?: string };
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
    } catch {
      throw new CliError(`no running development server found (${file} is missing): start it with npm start, or give --data-dir DIR`, 1, undefined, 'UNREACHABLE');
    }
    url ??= doc.url;
    tokenFile ??= doc.tokenFile;
  }
  if (!url) throw new CliError('where is the server? give --admin-url URL (or --dev --data-dir DIR)', 2);
  if (!/^https?:\/\//.test(url)) throw new CliError(`--admin-url must be an http(s) URL, got ${url}`, 2);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new CliError('--client-cert and --client-key go together', 2);
  if (certFile && !url.startsWith('https://')) throw new CliError('a client certificate needs an https:// admin URL', 2);
  if (!tokenFile && !certFile) throw new CliError('give --token-file FILE or --client-cert FILE --client-key FILE (or --dev --data-dir DIR)', 2);
  const token = tokenFile ? readOrFail(tokenFile, 'token file').toString('utf8').trim() : undefined;
  if (caFile && !url.startsWith('https://')) throw new CliError('--server-ca needs an https:// admin URL', 2);
  // The CA counts with a token as much as with a client certificate: a private CA signs the admin port either way.
  const ca = caFile ? readOrFail(caFile, 'CA file') : undefined;
  const tls = certFile && keyFile ? { cert: readOrFail(certFile, 'certificate'), key: readOrFail(keyFile, 'key'), ca } : ca ? { ca } : undefined;
  return { url: url.replace(/\/+$/, ''), token, tls };
}

/** The stable code of a management API answer; the exit code stays the status' (409 → 3, 400/404 → 2, else 1). */
function httpCode(status: number, doc: unknown): CliCode {
  if (status === 400) return 'USAGE';
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return Array.isArray((doc as { blockers?: unknown }).blockers) ? 'REFUSED_IN_USE' : 'CONFLICT';
  if (status === 503) return 'UNAVAILABLE';
  return status >= 500 ? 'SERVER_ERROR' : 'FAILED';
}

/** A connection that failed, with what to check: the socket's reason (ECONNREFUSED …), never a stack. */
function unreachable(url: string, err: Error): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'ECONNREFUSED'
      ? 'is the server running, and is this its admin port (admin.port)?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'check the host name in --admin-url'
        : /certificate|self.signed|SSL|TLS/i.test(err.message)
          ? 'check --server-ca (the CA that issued the admin port\'s certificate)'
          : 'check --admin-url and that the server runs';
  return new CliError(`cannot reach the server at ${url}: ${err.message}; ${hint}`, 1, undefined, 'UNREACHABLE');
}

/** Long enough for a rewrap or a restore of a large store; short for everything else. */
const LONG_MS = 24 * 3600_000;
const SHORT_MS = 60_000;

export class ManagementClient {
  constructor(private readonly endpoint: Endpoint) {}

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) }, SHORT_MS);
    return this.json<T>(res);
  }

  /** Answers that come as JSON lines; each line goes to `onLine`. */
  async stream(method: 'GET' | 'POST', path: string, onLine: (line: unknown) => void): Promise<void> {
    for await (const line of this.lines(method, path)) onLine(JSON.parse(line));
  }

  /** The raw lines of a streamed answer (a snapshot passes through untouched). */
  async *lines(method: 'GET' | 'POST', path: string): AsyncGenerator<string> {
    const res = await this.send(method, path, undefined, LONG_MS);
    if ((res.statusCode ?? 500) >= 300) await this.json(res);
    yield* lines(res);
  }

  /** Streams a body up and returns the JSON answer. */
  async upload<T>(path: string, body: Readable, type: string): Promise<T> {
    return this.json<T>(await this.send('POST', path, { type, data: body }, LONG_MS));
  }

  private async json<T>(res: IncomingMessage): Promise<T> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let doc: unknown;
    try {
      doc = text ? JSON.parse(text) : {};
    } catch {
      throw new CliError(`the server at ${this.endpoint.url} answered ${res.statusCode} with something that is not JSON: is --admin-url the admin port?`, 1, undefined, 'SERVER_ERROR');
    }
    const status = res.statusCode ?? 500;
    if (status < 300) return doc as T;
    const message = (doc as { error?: string }).error ?? `HTTP ${status}`;
    throw new CliError(message, status === 409 ? 3 : status === 400 || status === 404 ? 2 : 1, doc, httpCode(status, doc));
  }

  private send(method: string, path: string, body: { type: string; data: string | Readable } | undefined, timeoutMs: number): Promise<IncomingMessage> {
    const url = new URL(`${this.endpoint.url}${path}`);
    const headers: Record<string, string> = {};
    if (this.endpoint.token) headers['authorization'] = `Bearer ${this.endpoint.token}`;
    if (body) headers['content-type'] = body.type;
    // No keep-alive agent: a finished command leaves no socket holding the process open.
    const options: RequestOptions & { cert?: Buffer; key?: Buffer; ca?: Buffer } = { method, headers, timeout: timeoutMs, agent: false };
    if (this.endpoint.tls) {
      if (this.endpoint.tls.cert) options.cert = this.endpoint.tls.cert;
      if (this.endpoint.tls.key) options.key = this.endpoint.tls.key;
      if (this.endpoint.tls.ca) options.ca = this.endpoint.tls.ca;
    }
    return new Promise((resolvePromise, reject) => {
      let bodyError: Error | undefined;
      // A failing body (a damaged backup file) is the cause to report, not the connection it broke.
      const fail = (err: Error) =>
        reject(bodyError ?? (err instanceof CliError ? err : unreachable(this.endpoint.url, err)));
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, resolvePromise);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      req.on('error', fail);
      if (!body) req.end();
      else if (typeof body.data === 'string') req.end(body.data);
      else {
        body.data.on('error', (err) => {
          bodyError = err;
          req.destroy(err);
        });
        body.data.pipe(req);
      }
    });
  }
}
