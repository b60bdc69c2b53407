/**
 * A logged-in vCenter session over the transport the vCenter speaks. `auto` picks VI/JSON when it is
 * there (release from the hello call on 8.0 Update 2+, else 8.0.1.0 if that answers) and SOAP
 * otherwise (7.0 Update 2/3). A call that finds the session expired logs in again once and is
 * retried (NotAuthenticated means vCenter did not run it). Errors never carry the password.
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
      await transport.login(options.user, options.password);
      return new VcenterSession(transport, content, options);
    } catch (err) {
      if (transport) transport.close();
      else http.close();
      throw scrub(err, options.password);
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
      if (!isFault(err, 'NotAuthenticated')) throw scrub(err, this.options.password);
      try {
        await this.transport.login(this.options.user, this.options.password);
        return await op();
      } catch (again) {
        throw scrub(again, this.options.password);
      }
    }
  }
}

/** Belt and braces: no message that leaves this module may contain the password. */
function scrub(err: unknown, password: string): unknown {
  if (password.length < 4 || !(err instanceof Error) || !err.message.includes(password)) return err;
  const code = err instanceof VcenterError ? err.code : 'VC_ERR_PROTOCOL';
  return new VcenterError(code, err.message.split(password).join('********'), err instanceof VcenterError ? err.faultType : undefined);
}
