/**
 * SOAP: vim25 at /sdk, the vSAN API at /vsanHealth. The session is the `vmware_soap_session` cookie
 * that Login sets; the vSAN endpoint takes the same cookie (govmomi copies it the same way).
 */
import { VcenterError, isFault } from './errors.js';
import type { HttpClient } from './http.js';
import { decodeResponse, encodeRequest } from './soap-codec.js';
import type { MoRef, VimParams, VimTransport } from './transport.js';

/** The vim25 release our SOAP calls use: 7.0 Update 2, the oldest vCenter this tool supports. */
export const SOAP_RELEASE = '7.0.2.0';
const SESSION_COOKIE = 'vmware_soap_session';
const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export class SoapTransport implements VimTransport {
  readonly kind = 'soap' as const;
  readonly release = SOAP_RELEASE;
  private cookie: string | undefined;
  private sessionManager: MoRef | undefined;

  constructor(private readonly http: HttpClient) {}

  async serviceContent(): Promise<unknown> {
    const content = await this.call('/sdk', 'urn:vim25', SERVICE_INSTANCE, 'RetrieveServiceContent', {});
    const sm = (content as { sessionManager?: MoRef } | undefined)?.sessionManager;
    if (sm && typeof sm.value === 'string') this.sessionManager = { type: 'SessionManager', value: sm.value };
    return content;
  }

  async login(userName: string, password: string): Promise<void> {
    if (!this.sessionManager) await this.serviceContent();
    this.cookie = undefined;
    try {
      await this.call('/sdk', 'urn:vim25', this.sm(), 'Login', { userName, password });
    } catch (err) {
      if (isFault(err, 'InvalidLogin')) throw new VcenterError('VC_ERR_AUTH', `vCenter refused the login of ${userName} (wrong user name or password)`, 'InvalidLogin');
      throw err;
    }
    if (!this.cookie) throw new VcenterError('VC_ERR_PROTOCOL', `vCenter accepted the login but set no ${SESSION_COOKIE} cookie`);
  }

  async logout(): Promise<void> {
    if (!this.cookie || !this.sessionManager) return;
    try {
      await this.call('/sdk', 'urn:vim25', this.sm(), 'Logout', {});
    } finally {
      this.cookie = undefined;
    }
  }

  invoke(obj: MoRef, method: string, params: VimParams): Promise<unknown> {
    return this.call('/sdk', 'urn:vim25', obj, method, params);
  }

  invokeVsan(obj: MoRef, method: string, params: VimParams): Promise<unknown> {
    return this.call('/vsanHealth', 'urn:vsan', obj, method, params);
  }

  close(): void {
    this.http.close();
  }

  private sm(): MoRef {
    if (!this.sessionManager) throw new VcenterError('VC_ERR_PROTOCOL', 'vCenter service content names no session manager');
    return this.sessionManager;
  }

  private async call(path: string, namespace: 'urn:vim25' | 'urn:vsan', obj: MoRef, method: string, params: VimParams): Promise<unknown> {
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      // govmomi sends "urn:vsan/" with no version to the vSAN endpoint; we do the same.
      soapaction: namespace === 'urn:vim25' ? `urn:vim25/${SOAP_RELEASE}` : 'urn:vsan/',
    };
    if (this.cookie) headers['cookie'] = this.cookie;
    const res = await this.http.send({ method: 'POST', path, headers, body: encodeRequest(namespace, obj, method, params) });
    if (res.status === 404 && path === '/sdk') throw new VcenterError('VC_ERR_UNSUPPORTED', `${method}: ${this.http.origin} has no SOAP API at /sdk (is it a vCenter?)`);
    const result = decodeResponse(res.body, method, res.status);
    const set = res.headers['set-cookie']?.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (set) this.cookie = set.split(';')[0];
    return result;
  }
}
