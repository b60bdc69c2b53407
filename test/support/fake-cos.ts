/**
 * A local IBM Cloud Object Storage (the S3 API's object GET, path style) for tests, with IAM bearer tokens as
 * IBM documents them ("Using IAM with COS", "S3 API: objects"): `GET /<bucket>/<key>` with
 * `Authorization: Bearer <IAM access token>` answers 200 with the bytes; a missing or unknown token 403
 * AccessDenied, an unknown bucket 404 NoSuchBucket, an unknown key 404 NoSuchKey, each as S3's XML error body.
 * Tokens are checked against the fake IAM of FakeKeyProtect, and only the IAM ids given may read.
 * HTTP on 127.0.0.1 only; the client under test (the node's asset fetcher) is the production code.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface TokenChecker {
  tokenHolder(token: string): string | undefined;
}

export interface CosRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

export class FakeCos {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private readonly buckets = new Map<string, Map<string, Buffer>>();
  readonly requests: CosRequest[] = [];
  port = 0;

  constructor(
    private readonly iam: TokenChecker,
    /** IAM ids allowed to read (the trusted profile's, as its policy on the bucket would). */
    private readonly readers: ReadonlySet<string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  put(bucket: string, key: string, bytes: Buffer): void {
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = new Map()));
    b.set(key, Buffer.from(bytes));
  }

  get(bucket: string, key: string): Buffer | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  /** GETs of one object key that got this status. */
  count(key: string, status = 200): number {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${key}`) && r.status === status).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://cos');
    const path = decodeURIComponent(url.pathname);
    const log = (status: number): void => {
      this.requests.push({ method: req.method ?? '', path, status });
    };
    const auth = String(req.headers['authorization'] ?? '');
    const holder = auth.startsWith('Bearer ') ? this.iam.tokenHolder(auth.slice(7)) : undefined;
    const [, bucket = '', ...rest] = path.split('/');
    const key = rest.join('/');
    if (!holder || !this.readers.has(holder)) return log(this.error(res, 403, 'AccessDenied', 'Access Denied', path));
    if (req.method !== 'GET' && req.method !== 'HEAD') return log(this.error(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', path));
    const objects = this.buckets.get(bucket);
    if (!objects) return log(this.error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist.', path));
    const bytes = objects.get(key);
    if (!bytes) return log(this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.', path));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, etag: `"${randomUUID()}"` });
    res.end(req.method === 'HEAD' ? undefined : bytes);
    log(200);
  }

  private error(res: ServerResponse, status: number, code: string, message: string, resource: string): number {
    const body = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${resource.replace(/[<&>]/g, '')}</Resource><RequestId>${randomUUID()}</RequestId><httpStatusCode>${status}</httpStatusCode></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml' }).end(body);
    return status;
  }
}
