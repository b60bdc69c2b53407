/**
 * Test wiring around the fake vCenter: the real KMIP server (its PKI's CA both issued the server
 * certificate and signs vCenter's CSR, as the stack CA does), tenants made through the management
 * API, a tenant-certificate registry over that API, and files for running kmipctl.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProviderSpec } from '../../server/vcenter/provider-spec.js';
import type { TenantCertRegistry } from '../../server/vcenter/register.js';
import { loadSigningCa, type SigningCa } from '../../server/vcenter/csr.js';
import { startTestServer, type TestServer } from './server.js';

export interface VcenterRig {
  readonly kmip: TestServer;
  readonly signingCa: SigningCa;
  /** CA certificate and key files for --sign-ca-cert/--sign-ca-key and --kmip-ca. */
  readonly caCertFile: string;
  readonly caKeyFile: string;
  /** Management API calls (bearer token). */
  api<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }>;
  addTenant(name: string): Promise<void>;
  /** The management API as the register algorithm sees it; counts registrations. */
  registry(): TenantCertRegistry & { registered: number };
  /** One provider whose servers are the KMIP server at `address` (one per name). */
  spec(provider: string, names?: readonly string[], address?: string): ProviderSpec;
  close(): Promise<void>;
}

export async function startVcenterRig(): Promise<VcenterRig> {
  const kmip = await startTestServer({ identityCacheSeconds: 60 });
  const token = readFileSync(kmip.tokenFile, 'utf8').trim();
  const caCertFile = kmip.pki.caFile;
  const caKeyFile = join(kmip.pki.dir, 'ca-key.pem');
  writeFileSync(caKeyFile, kmip.pki.ca.privateKeyPem, { mode: 0o600 });
  const api = async <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${kmip.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  return {
    kmip,
    signingCa: loadSigningCa(kmip.pki.ca.certificatePem, kmip.pki.ca.privateKeyPem),
    caCertFile,
    caKeyFile,
    api,
    async addTenant(name) {
      const r = await api('POST', '/v1/tenants', { name });
      if (r.status !== 201 && r.status !== 200) throw new Error(`tenant add ${name}: HTTP ${r.status}`);
    },
    registry() {
      const reg = {
        registered: 0,
        async fingerprints(tenant: string) {
          const r = await api<{ certificates?: Array<{ fingerprint: string }>; error?: string }>('GET', `/v1/certs?tenant=${encodeURIComponent(tenant)}`);
          if (r.status !== 200) throw new Error(r.body.error ?? `HTTP ${r.status}`);
          return new Set(r.body.certificates!.map((c) => c.fingerprint));
        },
        async register(tenant: string, pem: string, label: string) {
          const r = await api<{ error?: string }>('POST', '/v1/certs', { tenant, pem, label });
          if (r.status !== 201) throw new Error(r.body.error ?? `HTTP ${r.status}`);
          reg.registered++;
        },
      };
      return reg;
    },
    spec(provider, names = [`${provider}-1`], address = '127.0.0.1') {
      return { provider, servers: names.map((name) => ({ name, address, port: kmip.port })), caPem: kmip.pki.ca.certificatePem, source: 'test' };
    },
    close: () => kmip.close(),
  };
}
