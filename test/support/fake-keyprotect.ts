/**
 * A local IBM Cloud IAM + Key Protect (API v2) for tests, following reference/keyprotect-api.md:
 * API-key exchange for unsigned JWTs with iat/exp, instances, root keys with versions, wrap /
 * unwrap / rewrap / rotate / disable / enable / delete / purge with the documented status codes
 * and error bodies, AAD binding, injectable latency and faults, and a request log.
 * HTTP on 127.0.0.1 only; the client under test is the production client.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { noteSecret } from './secrets-ledger.js';

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly status: number;
  readonly at: number;
}

interface KeyVersion {
  readonly id: string;
  readonly material: Buffer;
  readonly created: string;
}

interface RootKey {
  readonly id: string;
  readonly instanceId: string;
  name: string;
  /** 1 active, 2 suspended (disabled), 3 deactivated, 5 destroyed (deleted); purged keys are removed. */
  state: number;
  versions: KeyVersion[];
  extractable: boolean;
}

export interface Fault {
  /** Status to answer with (429, 500, 503…), or "reset" to drop the connection. */
  readonly kind: number | 'reset';
  /** Apply to this many requests (Infinity until cleared). */
  remaining: number;
  /** Only KP (not IAM) requests when true. */
  readonly kpOnly?: boolean;
}

const b64 = (b: Buffer) => b.toString('base64');

export class FakeKeyProtect {
  private server!: Server;
  readonly requests: LoggedRequest[] = [];
  private readonly apiKeys = new Map<string, string>(); // api key → iam id
  private readonly tokens = new Map<string, { iamId: string; exp: number }>();
  private readonly keys = new Map<string, RootKey>();
  readonly instances = new Set<string>();
  private readonly sockets = new Set<Socket>();
  latencyMs = 0;
  /** Off for long benchmark runs, where the request log would only grow. */
  keepLog = true;
  tokenLifetimeSeconds = 3600;
  fault: Fault | undefined;
  /** Counts of wrap/unwrap/rewrap calls that reached the key logic. */
  readonly calls = { wrap: 0, unwrap: 0, rewrap: 0, token: 0 };
  now: () => number = Date.now;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
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

  addApiKey(apiKey: string, iamId = `iam-ServiceId-${randomUUID()}`): void {
    noteSecret('Key Protect API key', apiKey);
    this.apiKeys.set(apiKey, iamId);
  }
  revokeApiKey(apiKey: string): void {
    this.apiKeys.delete(apiKey);
  }
  addInstance(id = randomUUID()): string {
    this.instances.add(id);
    return id;
  }

  createRootKey(instanceId: string, name = 'kmip-crk'): string {
    const id = randomUUID();
    this.keys.set(id, { id, instanceId, name, state: 1, extractable: false, versions: [this.newVersion()] });
    return id;
  }
  createStandardKey(instanceId: string): string {
    const id = randomUUID();
    this.keys.set(id, { id, instanceId, name: 'std', state: 1, extractable: true, versions: [this.newVersion()] });
    return id;
  }
  private newVersion(): KeyVersion {
    const material = randomBytes(32);
    noteSecret('Key Protect root key material', material);
    return { id: randomUUID(), material, created: new Date(this.now()).toISOString() };
  }
  rotate(keyId: string): string {
    const k = this.keys.get(keyId)!;
    const v = this.newVersion();
    k.versions.push(v);
    return v.id;
  }
  setState(keyId: string, state: 1 | 2 | 3 | 5): void {
    this.keys.get(keyId)!.state = state;
  }
  purge(keyId: string): void {
    this.keys.delete(keyId);
  }
  currentVersion(keyId: string): string {
    return this.keys.get(keyId)!.versions.at(-1)!.id;
  }
  /** Expires every token now (as if an hour passed). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.exp = 0;
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const isIam = url.pathname === '/identity/token' || url.pathname === '/oidc/token';
    const log = (status: number) =>
      this.keepLog &&
      this.requests.push({ method: req.method ?? '', path: url.pathname, headers: { ...req.headers }, body, status, at: this.now() });
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const fault = this.fault;
    if (fault && fault.remaining > 0 && !(fault.kpOnly && isIam)) {
      fault.remaining--;
      if (fault.kind === 'reset') {
        log(0);
        req.socket.destroy();
        return;
      }
      log(fault.kind);
      this.kpError(res, fault.kind, fault.kind === 429 ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERR', 'injected fault');
      return;
    }
    const status = isIam ? this.iam(req, body, res) : this.keyProtect(req, url, body, res);
    log(status);
  }

  private json(res: ServerResponse, status: number, doc: unknown, type = 'application/json'): number {
    res.writeHead(status, { 'content-type': type });
    res.end(doc === undefined ? undefined : JSON.stringify(doc));
    return status;
  }

  private iam(req: IncomingMessage, body: string, res: ServerResponse): number {
    const form = new URLSearchParams(body);
    const iamError = (status: number, code: string, message: string) =>
      this.json(res, status, { errorCode: code, errorMessage: message, context: { requestId: randomUUID(), requestType: 'incoming.OIDC_Token', url: 'https://iam.cloud.ibm.com' } });
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return iamError(400, 'BXNIM0106E', 'Missing or invalid parameter');
    }
    if (form.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey') return iamError(400, 'BXNIM0106E', 'Unsupported grant type');
    const iamId = this.apiKeys.get(form.get('apikey') ?? '');
    if (!iamId) return iamError(400, 'BXNIM0415E', 'Provided API key could not be found.');
    this.calls.token++;
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.tokenLifetimeSeconds;
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${part({ kid: 'fake', alg: 'RS256' })}.${part({ iam_id: iamId, sub: iamId, iat, exp, jti: randomUUID() })}.${part({ sig: 'unsigned' })}`;
    noteSecret('IAM token', token);
    this.tokens.set(token, { iamId, exp });
    return this.json(res, 200, { access_token: token, refresh_token: 'not-used-by-apikey-clients', token_type: 'Bearer', expires_in: this.tokenLifetimeSeconds, expiration: exp, scope: 'ibm openid' });
  }

  private kpError(res: ServerResponse, status: number, code: string, message: string): number {
    return this.json(
      res,
      status,
      {
        metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 },
        resources: [{ errorMsg: `${message}. Please see \`reasons\` for more details.`, reasons: [{ code, message, status, moreInfo: 'https://cloud.ibm.com/apidocs/key-protect' }] }],
      },
      'application/json',
    );
  }

  private keyProtect(req: IncomingMessage, url: URL, body: string, res: ServerResponse): number {
    const auth = String(req.headers['authorization'] ?? '');
    const token = auth.startsWith('Bearer ') ? this.tokens.get(auth.slice(7)) : undefined;
    if (!auth.startsWith('Bearer ')) return this.kpError(res, 400, 'BEARER_SUB_EXTRACTION_ERR', 'Bad Request: bearer token missing');
    if (!token || token.exp * 1000 <= this.now()) return this.kpError(res, 401, 'UNAUTHORIZED_ERR', 'Unauthorized: The user does not have access to the specified resource');
    const instance = String(req.headers['bluemix-instance'] ?? '');
    if (!this.instances.has(instance)) return this.kpError(res, 401, 'UNAUTHORIZED_ERR', 'Unauthorized: The user does not have access to the specified resource');
    const m = /^\/api\/v2\/keys\/([^/]+)(?:\/(metadata|actions\/(wrap|unwrap|rewrap|rotate)))?$/.exec(url.pathname);
    if (!m) return this.kpError(res, 404, 'NOT_FOUND_ERR', 'Not Found');
    const key = this.keys.get(m[1]!);
    if (!key || key.instanceId !== instance) return this.kpError(res, 404, 'KEY_NOT_FOUND_ERR', 'Not Found: Key does not exist');
    if (m[2] === 'metadata' && req.method === 'GET') {
      const v = key.versions.at(-1)!;
      return this.json(res, 200, {
        metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
        resources: [{ type: 'application/vnd.ibm.kms.key+json', id: key.id, name: key.name, state: key.state, extractable: key.extractable, deleted: key.state === 5, keyVersion: { id: v.id, creationDate: v.created } }],
      });
    }
    const action = m[3];
    if (!action || req.method !== 'POST') return this.kpError(res, 405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/')) return this.kpError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type');
    if (key.state === 5) return this.json(res, 410, { metadata: { collectionType: 'application/vnd.ibm.kms.error+json', collectionTotal: 1 }, resources: [{ errorMsg: 'Gone: The key has been deleted and is no longer available. Please see `reasons` for more details.', reasons: [{ code: 'KEY_DELETED_ERR', message: 'Key has already been deleted', status: 410 }] }] });
    if (key.extractable && action !== 'rotate') return this.kpError(res, 400, 'KEY_ROOT_REQ_ERR', 'Bad Request: Requested action can only be completed with a root key');
    if (key.state !== 1) return this.kpError(res, 409, 'KEY_ACTION_INVALID_STATE_ERR', 'Conflict: Key is not in a valid state');
    let doc: { plaintext?: string; ciphertext?: string; aad?: string[] } = {};
    if (body.trim() !== '') {
      try {
        doc = JSON.parse(body) as typeof doc;
      } catch {
        return this.kpError(res, 400, 'BAD_BODY_ERR', 'Bad Request: malformed body');
      }
    }
    if (doc.aad !== undefined && (!Array.isArray(doc.aad) || doc.aad.some((a) => typeof a !== 'string' || a.length > 255))) {
      return this.kpError(res, 400, 'INVALID_FIELD_ERR', 'Bad Request: aad must be strings of at most 255 characters');
    }
    const aad = Buffer.from(JSON.stringify(doc.aad ?? []));
    switch (action) {
      case 'rotate':
        this.rotate(key.id);
        res.writeHead(204).end();
        return 204;
      case 'wrap': {
        this.calls.wrap++;
        let plain: Buffer;
        if (doc.plaintext === undefined) plain = randomBytes(32);
        else {
          plain = Buffer.from(doc.plaintext, 'base64');
          if (b64(plain) !== doc.plaintext.replace(/\s/g, '')) return this.kpError(res, 400, 'INVALID_FIELD_ERR', 'Bad Request: plaintext is not base64');
        }
        const v = key.versions.at(-1)!;
        return this.json(res, 200, { ...(doc.plaintext === undefined ? { plaintext: b64(plain) } : {}), ciphertext: this.seal(v, plain, aad), keyVersion: { id: v.id } });
      }
      case 'unwrap':
      case 'rewrap': {
        this.calls[action]++;
        if (typeof doc.ciphertext !== 'string') return this.kpError(res, 400, 'BAD_BODY_ERR', 'Bad Request: ciphertext is required');
        const opened = this.open(key, doc.ciphertext, aad);
        if (!opened) return this.kpError(res, 422, 'UNPROCESSABLE_CIPHERTEXT_ERR', 'Unprocessable Entity: The ciphertext provided is invalid or corrupted');
        const latest = key.versions.at(-1)!;
        const stale = opened.version.id !== latest.id;
        if (action === 'unwrap') {
          return this.json(res, 200, {
            plaintext: b64(opened.plain),
            keyVersion: { id: opened.version.id },
            ...(stale ? { ciphertext: this.seal(latest, opened.plain, aad), rewrappedKeyVersion: { id: latest.id } } : {}),
          });
        }
        return this.json(res, 200, { ciphertext: this.seal(latest, opened.plain, aad), keyVersion: { id: opened.version.id }, rewrappedKeyVersion: { id: latest.id } });
      }
    }
    return this.kpError(res, 404, 'NOT_FOUND_ERR', 'Not Found');
  }

  /** The documented envelope: base64 of {"ciphertext","iv","version","handle"}. */
  private seal(v: KeyVersion, plain: Buffer, aad: Buffer): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', v.material, iv);
    c.setAAD(aad);
    const data = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    return Buffer.from(JSON.stringify({ ciphertext: b64(data), iv: b64(iv), version: '4.0.0', handle: v.id })).toString('base64');
  }

  private open(key: RootKey, ciphertext: string, aad: Buffer): { plain: Buffer; version: KeyVersion } | undefined {
    try {
      const env = JSON.parse(Buffer.from(ciphertext, 'base64').toString('utf8')) as { ciphertext: string; iv: string; handle: string };
      const version = key.versions.find((v) => v.id === env.handle);
      if (!version) return undefined;
      const data = Buffer.from(env.ciphertext, 'base64');
      const d = createDecipheriv('aes-256-gcm', version.material, Buffer.from(env.iv, 'base64'));
      d.setAAD(aad);
      d.setAuthTag(data.subarray(data.length - 16));
      return { plain: Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]), version };
    } catch {
      return undefined;
    }
  }
}
