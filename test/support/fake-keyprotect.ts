/**
 * A local IBM Cloud IAM + Key Protect (API v2) for tests, following reference/keyprotect-api.md:
 * API-key exchange for unsigned JWTs with iat/exp, instances, root keys with versions, wrap /
 * unwrap / rewrap / rotate / disable / enable / delete / purge with the documented status codes
 * and error bodies, AAD binding, injectable latency and faults, and a request log.
 * Also import tokens and key creation (generated, imported, and secure import checked against the token's
 * RSA private key and nonce), so kmipctl keyprotect import-prepare can be tested end to end.
 * HTTP on 127.0.0.1 only; the client under test is the production client.
 */
import { constants as cryptoConstants, createCipheriv, createDecipheriv, generateKeyPairSync, privateDecrypt, randomBytes, randomUUID, timingSafeEqual, type CipherGCMTypes, type KeyObject } from 'node:crypto';
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
  /** Created from material the caller gave (plainly or by secure import). */
  imported?: boolean;
  keyRingId?: string;
}

/** An instance's import token (Key Protect keeps one per instance; its private key stays "in the HSM"). */
interface ImportTokenState {
  readonly privateKey: KeyObject;
  /** Base64 of the PEM public key, as GET /api/v2/import_token answers it. */
  readonly payload: string;
  readonly nonce: Buffer;
  readonly created: number;
  readonly expiresAt: number;
  readonly maxAllowedRetrievals: number;
  remainingRetrievals: number;
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
/** AES-GCM by key size: generated root keys are 256-bit, imported ones 128, 192 or 256. */
const gcmFor = (key: Buffer) => `aes-${key.length * 8}-gcm` as CipherGCMTypes;
/** Key Protect's dates: RFC 3339, whole seconds. */
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const STRICT_B64 = /^[A-Za-z0-9+/]+={0,2}$/;
function strictB64(v: unknown): Buffer | undefined {
  return typeof v === 'string' && v.length > 0 && v.length % 4 === 0 && STRICT_B64.test(v) ? Buffer.from(v, 'base64') : undefined;
}

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
  /** Key Protect's import token keys are RSA-4096 (docs, concepts/importing-keys.md); tests may ask for fewer bits to save time. */
  importTokenKeyBits = 4096;
  private readonly importTokens = new Map<string, ImportTokenState>();
  /** Keys created through POST /api/v2/keys, by how their material arrived. */
  readonly created = { generated: 0, imported: 0, secureImported: 0 };

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

  /** The instance's import token as Key Protect would describe it (no key, no nonce), or undefined. */
  importToken(instanceId: string): { expiresAt: number; maxAllowedRetrievals: number; remainingRetrievals: number } | undefined {
    const t = this.importTokens.get(instanceId);
    return t && { expiresAt: t.expiresAt, maxAllowedRetrievals: t.maxAllowedRetrievals, remainingRetrievals: t.remainingRetrievals };
  }
  /** Lets the instance's import token lapse now. */
  expireImportToken(instanceId: string): void {
    const t = this.importTokens.get(instanceId);
    if (t) this.importTokens.set(instanceId, { ...t, expiresAt: this.now() - 1 });
  }
  /** For assertions only: the material of a key's current version (what an import stored). */
  keyMaterial(keyId: string): Buffer | undefined {
    return this.keys.get(keyId)?.versions.at(-1)?.material;
  }
  isImported(keyId: string): boolean {
    return this.keys.get(keyId)?.imported === true;
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
    const { token, exp } = this.mintToken(iamId);
    return this.json(res, 200, { access_token: token, refresh_token: 'not-used-by-apikey-clients', token_type: 'Bearer', expires_in: this.tokenLifetimeSeconds, expiration: exp, scope: 'ibm openid' });
  }

  /**
   * An IAM access token for `iamId` that Key Protect here accepts until `exp` (or expireTokens()): what the
   * API-key exchange hands out, and what other fake issuers of IAM tokens (the instance metadata service's
   * trusted-profile exchange) mint through, so every token the fakes issue is one this Key Protect knows.
   */
  mintToken(iamId: string, lifetimeSeconds = this.tokenLifetimeSeconds): { token: string; iat: number; exp: number } {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + lifetimeSeconds;
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${part({ kid: 'fake', alg: 'RS256' })}.${part({ iam_id: iamId, sub: iamId, iat, exp, jti: randomUUID() })}.${part({ sig: 'unsigned' })}`;
    noteSecret('IAM token', token);
    this.tokens.set(token, { iamId, exp });
    return { token, iat, exp };
  }

  /** The IAM id a live token of this fake IAM belongs to (undefined when unknown or expired): for other fakes that accept IAM tokens. */
  tokenHolder(token: string): string | undefined {
    const t = this.tokens.get(token);
    return t && t.exp * 1000 > this.now() ? t.iamId : undefined;
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
    if (url.pathname === '/api/v2/import_token') return this.importTokenRoute(req, instance, body, res);
    if (url.pathname === '/api/v2/keys' && req.method === 'POST') return this.createKeyRoute(req, instance, body, res);
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

  // ---------------------------------------------------------------- import tokens and key creation
  //
  // Following Key Protect docs create-import-tokens.md, tutorials/secure-import.md, error-messages.md and the
  // keyprotect-go-client (import_token.go, keys.go). Where the docs name no reason code the choice is marked
  // (inferred); the error body is always the documented envelope.

  private importTokenRoute(req: IncomingMessage, instance: string, body: string, res: ServerResponse): number {
    if (req.method === 'POST') {
      let doc: { expiration?: unknown; maxAllowedRetrievals?: unknown } = {};
      if (body.trim() !== '') {
        try {
          doc = JSON.parse(body) as typeof doc;
        } catch {
          return this.kpError(res, 400, 'BAD_BODY_ERR', 'Bad Request: Import Token could not be created: invalid body data was passed');
        }
      }
      const expiration = doc.expiration ?? 600;
      const retrievals = doc.maxAllowedRetrievals ?? 1;
      // Ranges from the docs (300-86400 s, 1-500 retrievals); the reason code for a value out of range is (inferred).
      if (typeof expiration !== 'number' || !Number.isInteger(expiration) || expiration < 300 || expiration > 86_400) {
        return this.kpError(res, 400, 'INVALID_FIELD_ERR', 'Bad Request: Import Token could not be created: expiration must be 300 to 86400 seconds');
      }
      if (typeof retrievals !== 'number' || !Number.isInteger(retrievals) || retrievals < 1 || retrievals > 500) {
        return this.kpError(res, 400, 'INVALID_FIELD_ERR', 'Bad Request: Import Token could not be created: maxAllowedRetrievals must be 1 to 500');
      }
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: this.importTokenKeyBits });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const created = this.now();
      // One token per instance: a new one replaces the old.
      const t: ImportTokenState = {
        privateKey,
        payload: Buffer.from(pem, 'utf8').toString('base64'),
        nonce: randomBytes(12),
        created,
        expiresAt: created + expiration * 1000,
        maxAllowedRetrievals: retrievals,
        remainingRetrievals: retrievals,
      };
      this.importTokens.set(instance, t);
      return this.json(res, 200, this.importTokenMetadata(t));
    }
    if (req.method !== 'GET') return this.kpError(res, 405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed');
    const t = this.importTokens.get(instance);
    if (!t) return this.kpError(res, 404, 'NOT_FOUND_ERR', 'Not Found: Import Token could not be retrieved'); // (inferred)
    if (this.now() >= t.expiresAt) return this.kpError(res, 409, 'IMPORT_TOKEN_EXPIRED_ERR', 'Conflict: Import Token could not be retrieved');
    // Used up: "no longer accessible" (docs); the code is (inferred) the expired one, as both end the token.
    if (t.remainingRetrievals <= 0) return this.kpError(res, 409, 'IMPORT_TOKEN_EXPIRED_ERR', 'Conflict: Import Token could not be retrieved');
    t.remainingRetrievals--;
    return this.json(res, 200, { ...this.importTokenMetadata(t), payload: t.payload, nonce: b64(t.nonce) });
  }

  private importTokenMetadata(t: ImportTokenState): Record<string, unknown> {
    return { creationDate: rfc3339(t.created), expirationDate: rfc3339(t.expiresAt), maxAllowedRetrievals: t.maxAllowedRetrievals, remainingRetrievals: t.remainingRetrievals };
  }

  /**
   * POST /api/v2/keys: one resource; no payload ⇒ generated; payload alone ⇒ imported; payload + encryptedNonce + iv
   * ⇒ secure import under the instance's import token (RSAES_OAEP_SHA_256 only: RSAES_OAEP_SHA_1 is for HPCS).
   * The IBM Terraform provider (through keyprotect-go-client) sends this without a content-type.
   */
  private createKeyRoute(req: IncomingMessage, instance: string, body: string, res: ServerResponse): number {
    const type = req.headers['content-type'];
    if (type !== undefined && !String(type).startsWith('application/')) return this.kpError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type');
    let doc: { metadata?: { collectionTotal?: unknown }; resources?: unknown };
    try {
      doc = JSON.parse(body) as typeof doc;
    } catch {
      return this.kpError(res, 400, body.trim() === '' ? 'NO_BODY_ERR' : 'BAD_BODY_ERR', 'Bad Request: Key could not be created');
    }
    const fail = (status: number, code: string) => this.kpError(res, status, code, `${status === 409 ? 'Conflict' : status === 422 ? 'Unprocessable Entity' : status === 404 ? 'Not Found' : 'Bad Request'}: Key could not be created`);
    if (!Array.isArray(doc.resources) || doc.resources.length !== 1) return fail(400, 'BAD_BODY_ERR');
    if (doc.metadata?.collectionTotal !== 1) return fail(400, 'COLLECTION_TOTAL_MISMATCH_ERR');
    const r = doc.resources[0] as { name?: unknown; extractable?: unknown; payload?: unknown; encryptedNonce?: unknown; iv?: unknown; encryptionAlgorithm?: unknown };
    if (typeof r.name !== 'string' || r.name.length < 2 || r.name.length > 90) return fail(400, 'INVALID_FIELD_ERR');
    const extractable = r.extractable === true;
    const hasNonce = r.encryptedNonce !== undefined && r.encryptedNonce !== '';
    const hasIv = r.iv !== undefined && r.iv !== '';
    let material: Buffer;
    let how: keyof FakeKeyProtect['created'];
    if (r.payload === undefined || r.payload === '') {
      if (hasNonce || hasIv) return fail(400, 'BAD_BODY_ERR');
      material = randomBytes(32);
      how = 'generated';
    } else if (!hasNonce && !hasIv) {
      const plain = strictB64(r.payload);
      if (!plain || (extractable ? plain.length > 7500 : ![16, 24, 32].includes(plain.length))) return fail(400, 'INVALID_FIELD_ERR');
      material = plain;
      how = 'imported';
    } else {
      // keyprotect-go-client: "API will error if only one of IV or nonce are specified".
      if (!hasNonce || !hasIv || extractable) return fail(400, 'BAD_BODY_ERR');
      if ((r.encryptionAlgorithm ?? 'RSAES_OAEP_SHA_256') !== 'RSAES_OAEP_SHA_256') return fail(400, 'INVALID_FIELD_ERR');
      const t = this.importTokens.get(instance);
      if (!t) return fail(404, 'NOT_FOUND_ERR'); // (inferred)
      if (this.now() >= t.expiresAt) return fail(409, 'IMPORT_TOKEN_EXPIRED_ERR');
      const wrapped = strictB64(r.payload);
      const sealed = strictB64(r.encryptedNonce);
      const iv = strictB64(r.iv);
      if (!wrapped || !sealed || !iv || sealed.length <= 16) return fail(400, 'INVALID_FIELD_ERR');
      let unwrapped: Buffer;
      try {
        unwrapped = privateDecrypt({ key: t.privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
      } catch {
        return fail(422, 'UNPROCESSABLE_CIPHERTEXT_ERR'); // the HSM cannot open it: (inferred) code
      }
      if (![16, 24, 32].includes(unwrapped.length)) return fail(400, 'INVALID_FIELD_ERR');
      let nonce: Buffer;
      try {
        const d = createDecipheriv(gcmFor(unwrapped), unwrapped, iv);
        d.setAuthTag(sealed.subarray(sealed.length - 16));
        nonce = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
      } catch {
        return fail(400, 'INCORRECT_NONCE_IV_ERR');
      }
      if (nonce.length !== t.nonce.length || !timingSafeEqual(nonce, t.nonce)) return fail(400, 'INCORRECT_NONCE_ERR');
      material = unwrapped;
      how = 'secureImported';
    }
    noteSecret('Key Protect root key material', material);
    this.created[how]++;
    const id = randomUUID();
    const version: KeyVersion = { id: randomUUID(), material, created: new Date(this.now()).toISOString() };
    const keyRingId = typeof req.headers['x-kms-key-ring'] === 'string' ? req.headers['x-kms-key-ring'] : 'default';
    this.keys.set(id, { id, instanceId: instance, name: r.name, state: 1, extractable, versions: [version], imported: how !== 'generated', keyRingId });
    return this.json(res, 201, {
      metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
      resources: [
        {
          type: 'application/vnd.ibm.kms.key+json',
          id,
          name: r.name,
          state: 1,
          extractable,
          imported: how !== 'generated',
          keyRingID: keyRingId,
          crn: `crn:v1:bluemix:public:kms:us-south:a/fake-account:${instance}:key:${id}`,
          creationDate: rfc3339(this.now()),
          keyVersion: { id: version.id, creationDate: rfc3339(this.now()) },
          deleted: false,
        },
      ],
    });
  }

  /** The documented envelope: base64 of {"ciphertext","iv","version","handle"}. */
  private seal(v: KeyVersion, plain: Buffer, aad: Buffer): string {
    const iv = randomBytes(12);
    const c = createCipheriv(gcmFor(v.material), v.material, iv);
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
      const d = createDecipheriv(gcmFor(version.material), version.material, Buffer.from(env.iv, 'base64'));
      d.setAAD(aad);
      d.setAuthTag(data.subarray(data.length - 16));
      return { plain: Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]), version };
    } catch {
      return undefined;
    }
  }
}
