/** The management API client: where the server is, how to authenticate, JSON and NDJSON calls. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class CliError extends Error {
  constructor(
    message: string,
    /** 1 failure, 2 usage, 3 refused for safety. */
    readonly exitCode: 1 | 2 | 3,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface Endpoint {
  readonly url: string;
  readonly token: string;
}

export function resolveEndpoint(options: { adminUrl?: string | undefined; tokenFile?: string | undefined; dev: boolean; dataDir: string }): Endpoint {
  let url = options.adminUrl ?? process.env['KMIPCTL_ADMIN_URL'];
  let tokenFile = options.tokenFile ?? process.env['KMIPCTL_TOKEN_FILE'];
  if (options.dev) {
    const file = join(resolve(options.dataDir), 'admin.json');
    let doc: { url?: string; tokenFile?: string };
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
    } catch {
      throw new CliError(`no running development server found (${file} is missing): start it with npm start`, 1);
    }
    url ??= doc.url;
    tokenFile ??= doc.tokenFile;
  }
  if (!url) throw new CliError('where is the server? give --admin-url URL (or --dev --data-dir DIR)', 2);
  if (!tokenFile) throw new CliError('give --token-file FILE with the management token (or --dev --data-dir DIR)', 2);
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    throw new CliError(`cannot read the token file ${tokenFile}: ${(err as Error).message}`, 2);
  }
  if (!/^https?:\/\//.test(url)) throw new CliError(`--admin-url must be an http(s) URL, got ${url}`, 2);
  return { url: url.replace(/\/+$/, ''), token };
}

export class ManagementClient {
  constructor(private readonly endpoint: Endpoint) {}

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    const text = await res.text();
    let doc: unknown;
    try {
      doc = text ? JSON.parse(text) : {};
    } catch {
      throw new CliError(`the server answered ${res.status} with something that is not JSON`, 1);
    }
    if (res.ok) return doc as T;
    const message = (doc as { error?: string }).error ?? `HTTP ${res.status}`;
    throw new CliError(message, res.status === 409 ? 3 : res.status === 400 || res.status === 404 ? 2 : 1, doc);
  }

  /** POST that answers with JSON lines; each line goes to `onLine`. */
  async stream(path: string, onLine: (line: unknown) => void): Promise<void> {
    const res = await this.fetch('POST', path);
    if (!res.ok || !res.body) {
      const doc = (await res.json().catch(() => ({}))) as { error?: string };
      throw new CliError(doc.error ?? `HTTP ${res.status}`, 1);
    }
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) onLine(JSON.parse(line));
      }
    }
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(`${this.endpoint.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.endpoint.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(method === 'POST' && path.startsWith('/v1/rewrap') ? 24 * 3600_000 : 60_000),
      });
    } catch (err) {
      throw new CliError(`cannot reach the server at ${this.endpoint.url}: ${(err as Error).message}`, 1);
    }
  }
}
