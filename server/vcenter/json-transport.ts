/**
 * VI/JSON: vim25 over JSON at /sdk/vim25/{release}/{type}/{moId}/{method} (vCenter 8.0 Update 1+).
 * The session is the `vmware-api-session-id` header that Login answers with; faults come as HTTP 500
 * with the fault object as the body. Shapes follow govmomi's JSON client and vim_rs.
 */
import { VcenterError } from './errors.js';
import type { HttpAnswer, HttpClient } from './http.js';
import type { MoRef, VimParams, VimTransport } from './transport.js';

/** Releases we ask for, newest first: everything we call exists in 8.0.1.0. */
export const JSON_RELEASES = ['8.0.3.0', '8.0.2.0', '8.0.1.0'] as const;
/** What 8.0 Update 1 speaks; it predates the hello call. */
export const BASELINE_JSON_RELEASE = '8.0.1.0';
const SESSION_HEADER = 'vmware-api-session-id';

/**
 * Asks vCenter which release to use (POST /api/vcenter/system?action=hello, vSphere 8.0 Update 2+).
 * Undefined when the call is missing (older vCenter) or no release is common.
 */
export async function helloRelease(http: HttpClient): Promise<string | undefined> {
  const res = await http.send({
    method: 'POST',
    path: '/api/vcenter/system?action=hello',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_releases: JSON_RELEASES }),
  });
  // Older vCenters answer 404; a proxy may answer anything: only a JSON 200 counts as an answer.
  if (res.status !== 200 || !/^application\/json/.test(res.headers['content-type'] ?? '')) return undefined;
  const release = (parseJson(res, 'hello') as { api_release?: unknown } | undefined)?.api_release;
  return typeof release === 'string' && release !== '' ? release : undefined;
}

/** Whether VI/JSON answers at `release` (the service content needs no session). */
export async function jsonAvailable(http: HttpClient, release: string): Promise<boolean> {
  const res = await http.send({ method: 'GET', path: `/sdk/vim25/${release}/ServiceInstance/ServiceInstance/content` });
  return res.status === 200 && /^application\/json/.test(res.headers['content-type'] ?? '');
}

export class JsonTransport implements VimTransport {
  readonly kind = 'json' as const;
  private session: string | undefined;
  private sessionManager: MoRef | undefined;

  constructor(
    private readonly http: HttpClient,
    readonly release: string,
  ) {}

  async serviceContent(): Promise<unknown> {
    const res = await this.http.send({ method: 'GET', path: `/sdk/vim25/${this.release}/ServiceInstance/ServiceInstance/content` });
    const content = this.answer(res, 'ServiceInstance.content');
    const sm = (content as { sessionManager?: MoRef } | undefined)?.sessionManager;
    if (sm && typeof sm.value === 'string') this.sessionManager = { type: 'SessionManager', value: sm.value };
    return content;
  }

  async login(userName: string, password: string): Promise<void> {
    if (!this.sessionManager) await this.serviceContent();
    this.session = undefined;
    const res = await this.post(`/sdk/vim25/${this.release}/SessionManager/${this.sm().value}/Login`, { userName, password });
    if (res.status === 500) {
      const fault = faultOf(res);
      if (fault.type === 'InvalidLogin') throw new VcenterError('VC_ERR_AUTH', `vCenter refused the login of ${userName} (wrong user name or password)`, fault.type);
    }
    this.answer(res, 'Login');
    const token = res.headers[SESSION_HEADER];
    if (typeof token !== 'string' || token === '') throw new VcenterError('VC_ERR_PROTOCOL', `vCenter accepted the login but sent no ${SESSION_HEADER} header`);
    this.session = token;
  }

  async logout(): Promise<void> {
    if (!this.session || !this.sessionManager) return;
    try {
      const res = await this.post(`/sdk/vim25/${this.release}/SessionManager/${this.sm().value}/Logout`, {});
      this.answer(res, 'Logout');
    } finally {
      this.session = undefined;
    }
  }

  async invoke(obj: MoRef, method: string, params: VimParams): Promise<unknown> {
    const res = await this.post(`/sdk/vim25/${this.release}/${enc(obj.type)}/${enc(obj.value)}/${enc(method)}`, params);
    return this.answer(res, method);
  }

  /** The vSAN API "rendered under /vsan" (Broadcom's VI/JSON reference); the exact path is unverified. */
  async invokeVsan(obj: MoRef, method: string, params: VimParams): Promise<unknown> {
    const res = await this.post(`/sdk/vsan/${this.release}/${enc(obj.type)}/${enc(obj.value)}/${enc(method)}`, params);
    return this.answer(res, method);
  }

  close(): void {
    this.http.close();
  }

  private sm(): MoRef {
    if (!this.sessionManager) throw new VcenterError('VC_ERR_PROTOCOL', 'vCenter service content names no session manager');
    return this.sessionManager;
  }

  private post(path: string, params: VimParams): Promise<HttpAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.session) headers[SESSION_HEADER] = this.session;
    return this.http.send({ method: 'POST', path, headers, body: JSON.stringify(params) });
  }

  private answer(res: HttpAnswer, what: string): unknown {
    if (res.status === 204 || (res.status === 200 && res.body === '')) return undefined;
    if (res.status === 200) return parseJson(res, what);
    if (res.status === 500) {
      const fault = faultOf(res);
      throw new VcenterError('VC_ERR_FAULT', `${what}: ${fault.type}${fault.message ? `: ${fault.message}` : ''}`, fault.type);
    }
    throw new VcenterError('VC_ERR_HTTP', `${what}: vCenter answered HTTP ${res.status}`);
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function parseJson(res: HttpAnswer, what: string): unknown {
  if (!/^application\/json/.test(res.headers['content-type'] ?? '')) {
    throw new VcenterError('VC_ERR_PROTOCOL', `${what}: vCenter answered ${res.headers['content-type'] ?? 'no content type'}, not JSON`);
  }
  try {
    return JSON.parse(res.body) as unknown;
  } catch {
    throw new VcenterError('VC_ERR_PROTOCOL', `${what}: vCenter's answer is not valid JSON`);
  }
}

/** The fault type and text of a VI/JSON error body (govmomi reads `_typeName` and `faultstring`). */
function faultOf(res: HttpAnswer): { type: string; message: string } {
  let doc: { _typeName?: unknown; faultstring?: unknown; faultMessage?: Array<{ message?: unknown }> } = {};
  try {
    doc = JSON.parse(res.body) as typeof doc;
  } catch {
    // an HTML error page from a proxy: fall through to a generic fault
  }
  const type = typeof doc._typeName === 'string' ? doc._typeName : 'RuntimeFault';
  const text = typeof doc.faultstring === 'string' ? doc.faultstring : typeof doc.faultMessage?.[0]?.message === 'string' ? doc.faultMessage[0].message : '';
  return { type, message: text.slice(0, 500) };
}
