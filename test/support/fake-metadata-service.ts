/**
 * A local IBM Cloud VPC instance metadata service (its identity part) for tests, following IBM Cloud's
 * docs "Instance identity operations" and "Metadata API error codes" (VPC Identity API, versions
 * 2022-03-01 … 2025-08-25, the /instance_identity paths):
 *
 *   PUT  /instance_identity/v1/token?version=…      needs `Metadata-Flavor: ibm`; body {"expires_in": 5…3600,
 *        default 300} → 200 {access_token, created_at, expires_at, expires_in}   (an instance identity token)
 *   POST /instance_identity/v1/iam_token?version=…  needs `Authorization: Bearer <instance identity token>`;
 *        body {"trusted_profile": {"id" | "crn" | "name": …}} (absent: the instance's default profile)
 *        → 200 {access_token, created_at, expires_at, expires_in}   (an IAM access token of the profile)
 *
 * Errors: {"errors": [{code, message, more_info, target?}], "status_code", "trace"} — 400 missing_value (no
 * Metadata-Flavor), invalid_value (expires_in, version), invalid_request (malformed body), unknown_field,
 * missing_field (no trusted profile and no default), profile_not_linked; 401 unauthenticated (no, bad or
 * expired bearer); 403 unauthorized (metadata service disabled on the instance); 404 for the /instance_identity
 * paths with a version of 2025-08-26 or later (they moved to /identity); 500 service_error.
 * Inferred where the docs are silent: 401 also for a missing bearer; 200 (not 201) for both creations.
 *
 * IAM tokens are minted by the fake IAM of FakeKeyProtect (`mintToken`), so the fake Key Protect accepts
 * them, and expireTokens() there expires them too. Every token issued is noted in the secrets ledger.
 * HTTP on 127.0.0.1 only; the client under test is the production client.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { noteSecret } from './secrets-ledger.js';

/** Mints IAM access tokens that the fake Key Protect accepts (FakeKeyProtect implements it). */
export interface IamTokenMinter {
  mintToken(iamId: string, lifetimeSeconds?: number): { token: string; iat: number; exp: number };
}

export interface MetadataRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly status: number;
}

export interface MetadataFault {
  /** Status to answer with (429, 500, 503…), or "reset" to drop the connection. */
  readonly kind: number | 'reset';
  /** Apply to this many requests (Infinity until cleared). */
  remaining: number;
  /** Only this operation. */
  readonly only?: 'token' | 'iam_token';
}

interface Profile {
  readonly id: string;
  readonly name: string;
  readonly crn: string;
}

const FIRST_VERSION = '2022-03-01';
/** From this version on the /instance_identity paths answer 404 (IBM's 2025-08-26 migration guide). */
const MOVED_VERSION = '2025-08-26';
const MORE_INFO = 'https://cloud.ibm.com/docs/vpc?topic=vpc-instance-metadata-error-codes';

type Target = { name: string; type: 'field' | 'header' | 'query' | 'parameter'; value?: string };

export class FakeMetadataService {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private readonly profiles = new Map<string, Profile>();
  private readonly identityTokens = new Map<string, number>(); // token → expiry (epoch ms)
  private defaultProfile: string | undefined;
  readonly requests: MetadataRequest[] = [];
  /** Tokens handed out: instance identity tokens, and IAM tokens of trusted profiles. */
  readonly calls = { identityToken: 0, iamToken: 0 };
  /** Every token this service issued (both kinds), for tests that look for them where they must not be. */
  readonly issued: string[] = [];
  /** False: 403 `unauthorized`, as on an instance whose metadata service is not enabled. */
  enabled = true;
  iamTokenLifetimeSeconds = 3600;
  latencyMs = 0;
  fault: MetadataFault | undefined;
  now: () => number = Date.now;
  port = 0;

  constructor(
    private readonly iam: IamTokenMinter,
    readonly instanceId = `0717_${randomUUID()}`,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1 (again on the same port after stop(), when it had one). */
  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Stops listening: the service is down (connections refused) until start() again. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Links a trusted profile to the instance (the IAM link with cr_type VSI); the first becomes the default. */
  linkProfile(id = `Profile-${randomUUID()}`, name = `kmip-node-${id.slice(8, 16)}`): string {
    this.profiles.set(id, { id, name, crn: `crn:v1:bluemix:public:iam-identity::a/0123456789abcdef::profile:${id}` });
    this.defaultProfile ??= id;
    return id;
  }
  unlinkProfile(id: string): void {
    this.profiles.delete(id);
    if (this.defaultProfile === id) this.defaultProfile = undefined;
  }
  /** Every instance identity token issued so far lapses now. */
  expireIdentityTokens(): void {
    for (const t of this.identityTokens.keys()) this.identityTokens.set(t, 0);
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const operation = /^\/instance_identity\/v1\/(token|iam_token)$/.exec(url.pathname)?.[1] as 'token' | 'iam_token' | undefined;
    const log = (status: number) =>
      this.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body, status });
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const fault = this.fault;
    if (fault && fault.remaining > 0 && (!fault.only || fault.only === operation)) {
      fault.remaining--;
      log(fault.kind === 'reset' ? 0 : fault.kind);
      if (fault.kind === 'reset') req.socket.destroy();
      else this.error(res, fault.kind, fault.kind === 429 ? 'too_many_requests' : 'service_error', 'An internal error occurred.');
      return;
    }
    log(this.route(req, url, operation, body, res));
  }

  private route(req: IncomingMessage, url: URL, operation: 'token' | 'iam_token' | undefined, body: string, res: ServerResponse): number {
    const version = url.searchParams.get('version');
    if (!operation) return this.error(res, 404, 'not_found', 'The requested path was not found.');
    if (version === null) return this.error(res, 400, 'missing_field', 'The `version` query parameter is required.', { name: 'version', type: 'query' });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version) || version < FIRST_VERSION) {
      return this.error(res, 400, 'invalid_value', `The \`version\` query parameter must be a date on or after \`${FIRST_VERSION}\`.`, { name: 'version', type: 'query', value: version });
    }
    if (version >= MOVED_VERSION) return this.error(res, 404, 'not_found', 'The requested path was not found.');
    if (req.method !== (operation === 'token' ? 'PUT' : 'POST')) return this.error(res, 404, 'not_found', 'The requested path was not found.');
    if (!this.enabled) return this.error(res, 403, 'unauthorized', 'The metadata service is not enabled on the provided instance.');
    let doc: Record<string, unknown>;
    try {
      doc = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
    } catch {
      return this.error(res, 400, 'invalid_request', 'The request body was malformed.');
    }
    return operation === 'token' ? this.identityToken(req, doc, res) : this.iamToken(req, doc, res);
  }

  private identityToken(req: IncomingMessage, doc: Record<string, unknown>, res: ServerResponse): number {
    if (req.headers['metadata-flavor'] !== 'ibm') {
      return this.error(res, 400, 'missing_value', 'A value such as `ibm` must be provided in the `Metadata-Flavor` header.', { name: 'Metadata-Flavor', type: 'header' });
    }
    const unknown = Object.keys(doc).find((k) => k !== 'expires_in');
    if (unknown) return this.error(res, 400, 'unknown_field', `Unknown property \`${unknown}\` was specified in the request body.`, { name: unknown, type: 'field' });
    const expiresIn = doc['expires_in'] ?? 300;
    if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 5 || expiresIn > 3600) {
      return this.error(res, 400, 'invalid_value', 'The value provided for the `expires_in` field must be between `5` and `3600`.', { name: 'expires_in', type: 'field', value: String(expiresIn) });
    }
    const iat = Math.floor(this.now() / 1000);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const sub = `crn:v1:bluemix:public:is:us-south-1:a/0123456789abcdef::instance:${this.instanceId}`;
    const token = `${part({ kid: 'VSI-CR_us-south', alg: 'RS256' })}.${part({ sub, iat, exp: iat + expiresIn, jti: randomUUID() })}.${part({ sig: 'unsigned' })}`;
    noteSecret('instance identity token', token);
    this.identityTokens.set(token, (iat + expiresIn) * 1000);
    this.issued.push(token);
    this.calls.identityToken++;
    return this.json(res, 200, { access_token: token, ...this.times(iat, expiresIn) });
  }

  private iamToken(req: IncomingMessage, doc: Record<string, unknown>, res: ServerResponse): number {
    const auth = String(req.headers['authorization'] ?? '');
    const expiry = auth.startsWith('Bearer ') ? this.identityTokens.get(auth.slice(7)) : undefined;
    if (expiry === undefined || expiry <= this.now()) return this.error(res, 401, 'unauthenticated', 'The provided token is invalid or expired.');
    const unknown = Object.keys(doc).find((k) => k !== 'trusted_profile');
    if (unknown) return this.error(res, 400, 'unknown_field', `Unknown property \`${unknown}\` was specified in the request body.`, { name: unknown, type: 'field' });
    const wanted = doc['trusted_profile'];
    let profile: Profile | undefined;
    if (wanted === undefined) {
      if (!this.defaultProfile) return this.error(res, 400, 'missing_field', 'A trusted profile ID was not passed in the request body.', { name: 'trusted_profile', type: 'field' });
      profile = this.profiles.get(this.defaultProfile);
    } else {
      const by = typeof wanted === 'object' && wanted !== null ? Object.entries(wanted as Record<string, unknown>) : [];
      if (by.length !== 1 || !['id', 'crn', 'name'].includes(by[0]![0]) || typeof by[0]![1] !== 'string') {
        return this.error(res, 400, 'invalid_value', 'The `trusted_profile` field must name exactly one of `id`, `crn` or `name`.', { name: 'trusted_profile', type: 'field' });
      }
      const [key, value] = by[0]! as ['id' | 'crn' | 'name', string];
      profile = [...this.profiles.values()].find((p) => p[key] === value);
    }
    if (!profile) return this.error(res, 400, 'profile_not_linked', 'The virtual server instance is not linked to the specified trusted profile.', { name: 'trusted_profile', type: 'field' });
    const { token, iat } = this.iam.mintToken(`iam-${profile.id}`, this.iamTokenLifetimeSeconds);
    this.issued.push(token);
    this.calls.iamToken++;
    return this.json(res, 200, { access_token: token, ...this.times(iat, this.iamTokenLifetimeSeconds) });
  }

  private times(iat: number, expiresIn: number): { created_at: string; expires_at: string; expires_in: number } {
    return { created_at: new Date(iat * 1000).toISOString(), expires_at: new Date((iat + expiresIn) * 1000).toISOString(), expires_in: expiresIn };
  }

  private json(res: ServerResponse, status: number, doc: unknown): number {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
    return status;
  }

  private error(res: ServerResponse, status: number, code: string, message: string, target?: Target): number {
    return this.json(res, status, { errors: [{ code, message, more_info: MORE_INFO, ...(target ? { target } : {}) }], status_code: status, trace: randomUUID() });
  }
}
