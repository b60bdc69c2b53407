/**
 * A logged-in vCenter session over the transport the vCenter speaks. `auto` picks VI/JSON when it is
 * there (release from the hello call on 8.0 Update 2+, else 8.0.1.0 if that answers) and SOAP
 * otherwise (7.0 Update 2/3). A call that finds the session expired logs in again once and is
 * retried (NotAuthenticated means vCenter did not run it).
 *
 * Errors never carry the password, by construction rather than by masking: the password goes into one
 * request only (Login), and every failure of that request becomes a fixed text that names the user and
 * the failure class, never vCenter's own words (which could echo the request). No other request
 * carries the password, so no other answer can echo it. Nothing here searches a message for the
 * password's text: replacing it (as this module once did) turned `(wrong user name or password)` into
 * `(******** user name or password)` for a password of `wrong`, and so revealed it.
 */
import { VcenterError, isFault } from './errors.js';
import { DEFAULT_HTTP, HttpClient, type HttpOptions, type TlsTrust } from './http.js';
import { BASELINE_JSON_RELEASE, JsonTransport, helloRelease, jsonAvailable } from './json-transport.js';
import { SoapTransport } from './soap-transport.js';
import type { ApiKind, MoRef, VimParams, VimTransport } from './transport.js';
import { ServiceContentSchema, read, type ServiceContent } from './wire.js';

export interface SessionOptions extends TlsTrust {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly api?: ApiKind | 'auto';
  readonly http?: HttpOptions;
}

/** vim25 API version as numbers, for "at least 7.0.2". */
function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

async function chooseTransport(http: HttpClient, api: ApiKind | 'auto'): Promise<VimTransport> {
  if (api === 'soap') return new SoapTransport(http);
  const hello = await helloRelease(http);
  if (hello) return new JsonTransport(http, hello);
  if (await jsonAvailable(http, BASELINE_JSON_RELEASE)) return new JsonTransport(http, BASELINE_JSON_RELEASE);
  if (api === 'json') throw new VcenterError('VC_ERR_UNSUPPORTED', `${http.origin} does not offer the VI/JSON API (vCenter 8.0 Update 1 or later); use --vcenter-api soap`);
  return new SoapTransport(http);
}

export class VcenterSession {
  private constructor(
    readonly transport: VimTransport,
    readonly content: ServiceContent,
    private readonly options: SessionOptions,
  ) {}

  static async open(options: SessionOptions): Promise<VcenterSession> {
    const http = new HttpClient(options.url, options, options.http ?? DEFAULT_HTTP);
    let transport: VimTransport | undefined;
    try {
      transport = await chooseTransport(http, options.api ?? 'auto');
      const content = read(ServiceContentSchema, await transport.serviceContent(), 'ServiceInstance.content');
      if (content.about.apiType && content.about.apiType !== 'VirtualCenter') {
        throw new VcenterError('VC_ERR_UNSUPPORTED', `${options.url} is ${content.about.fullName}, not a vCenter Server`);
      }
      if (!versionAtLeast(content.about.apiVersion, [7, 0, 2])) {
        throw new VcenterError('VC_ERR_UNSUPPORTED', `${content.about.fullName} (API ${content.about.apiVersion}) is older than vCenter 7.0 Update 2, which this tool needs`);
      }
      if (!content.cryptoManager || !content.viewManager) throw new VcenterError('VC_ERR_UNSUPPORTED', `${content.about.fullName} has no CryptoManager or ViewManager`);
      await login(transport, options);
      return new VcenterSession(transport, content, options);
    } catch (err) {
      if (transport) transport.close();
      else http.close();
      throw err;
    }
  }

  get description(): string {
    return `${this.content.about.fullName} (${this.transport.kind === 'json' ? `VI/JSON ${this.transport.release}` : 'SOAP'})`;
  }

  call(obj: MoRef, method: string, params: VimParams = {}): Promise<unknown> {
    return this.retrying(() => this.transport.invoke(obj, method, params));
  }

  callVsan(obj: MoRef, method: string, params: VimParams = {}): Promise<unknown> {
    return this.retrying(() => this.transport.invokeVsan(obj, method, params));
  }

  /** Logs out and closes the connections; a failed logout is not an error of the command. */
  async close(): Promise<void> {
    try {
      await this.transport.logout();
    } catch {
      // the session ends on its own when it idles out
    } finally {
      this.transport.close();
    }
  }

  private async retrying(op: () => Promise<unknown>): Promise<unknown> {
    try {
      return await op();
    } catch (err) {
      if (!isFault(err, 'NotAuthenticated')) throw err;
      await login(this.transport, this.options);
      return await op();
    }
  }
}

/** A vim25 fault type name as vCenter sends them (InvalidLogin, NoPermission…); anything else is not repeated. */
const FAULT_TYPE = /^[A-Z][A-Za-z0-9]{0,63}$/;

/**
 * The one request that carries the password. Its failures are rebuilt from fixed texts: the same
 * message whatever the password, and never a word of vCenter's answer, which could echo the request.
 */
async function login(transport: VimTransport, options: SessionOptions): Promise<void> {
  try {
    await transport.login(options.user, options.password);
  } catch (err) {
    throw loginError(err, options.user);
  }
}

function loginError(err: unknown, user: string): VcenterError {
  const code = err instanceof VcenterError ? err.code : 'VC_ERR_PROTOCOL';
  switch (code) {
    case 'VC_ERR_AUTH':
      return new VcenterError('VC_ERR_AUTH', `vCenter refused the login of ${user} (wrong user name or password)`, 'InvalidLogin');
    case 'VC_ERR_CONNECT':
    case 'VC_ERR_TLS':
    case 'VC_ERR_HTTP':
      // Built by http.ts from the URL, the method, the path and the socket's error: nothing of the request body.
      return err as VcenterError;
    case 'VC_ERR_FAULT': {
      const type = (err as VcenterError).faultType;
      const named = type !== undefined && FAULT_TYPE.test(type) ? type : undefined;
      return new VcenterError('VC_ERR_FAULT', `vCenter did not log ${user} in: it answered the login with ${named ? `the fault ${named}` : 'a fault'} (its text is not shown: it could repeat what was sent)`, named);
    }
    default:
      return new VcenterError(code, `vCenter did not log ${user} in: its answer to the login could not be used (${code}; the answer is not shown: it could repeat what was sent)`);
  }
}
