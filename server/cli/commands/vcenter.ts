/**
 * vcenter config / register / usage: wiring our servers into vCenter as a Standard Key Provider and
 * finding what still uses it. The vCenter client lives in server/vcenter; this file turns flags into
 * its inputs, the management API into its tenant registry, and its errors into exit codes.
 */
import { readFileSync } from 'node:fs';
import type { ManagementClient } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { CliError, cliCode } from '../errors.js';
import type { CliOptions } from '../options.js';
import { table } from '../output.js';
import { configDocument, configText } from '../../vcenter/config-text.js';
import { CryptoManagerKmip } from '../../vcenter/crypto-manager.js';
import { loadSigningCa, type SigningCa } from '../../vcenter/csr.js';
import { VcenterError } from '../../vcenter/errors.js';
import { endpointsSpec, readStackSpec, type ProviderSpec } from '../../vcenter/provider-spec.js';
import { registerProvider, type RegisterReport, type TenantCertRegistry } from '../../vcenter/register.js';
import { VcenterSession, type SessionOptions } from '../../vcenter/session.js';
import { providerUsage, type ProviderUsage } from '../../vcenter/usage.js';

/** Exit codes: our input 2, a refusal 3, anything vCenter did or said 1. */
export function asCliError(err: unknown): unknown {
  if (!(err instanceof VcenterError)) return err;
  return new CliError(err.message, err.code === 'VC_ERR_INPUT' ? 2 : err.code === 'VC_ERR_REFUSED' ? 3 : 1, { code: err.code, ...(err.faultType ? { fault: err.faultType } : {}) });
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the ${what} ${file}: ${(err as Error).message}`, 2);
  }
}

function providerSpec(o: CliOptions): ProviderSpec {
  if (o.stack && o.endpoints) throw new CliError('give either --stack NAME or --endpoints LIST --kmip-ca FILE, not both', 2);
  if (o.stack) return readStackSpec(o.stack, o['cdktf-out'], o.provider);
  if (o.endpoints) {
    if (!o['kmip-ca']) throw new CliError('--endpoints needs --kmip-ca FILE (the CA that issued the KMIP servers\' certificates)', 2);
    return endpointsSpec(o.endpoints, o['kmip-ca'], o.provider);
  }
  throw new CliError('which servers? give --stack NAME [--cdktf-out DIR], or --endpoints HOST:PORT,... --kmip-ca FILE --provider NAME', 2);
}

/** Whether any vCenter flag is given (preflight-destroy only talks to vCenter then). */
export function wantsVcenter(o: CliOptions): boolean {
  return o.vcenter !== undefined || o['vcenter-user'] !== undefined || o['vcenter-password-file'] !== undefined;
}

/** The session options from flags; the password comes from a file and goes nowhere else. */
export function sessionOptions(o: CliOptions): SessionOptions {
  const url = o.vcenter;
  const user = o['vcenter-user'] ?? process.env['KMIPCTL_VCENTER_USER'];
  const passwordFile = o['vcenter-password-file'] ?? process.env['KMIPCTL_VCENTER_PASSWORD_FILE'];
  if (!url || !user || !passwordFile) throw new CliError('give --vcenter https://HOST --vcenter-user USER --vcenter-password-file FILE', 2);
  const api = o['vcenter-api'];
  if (api !== 'auto' && api !== 'json' && api !== 'soap') throw new CliError(`--vcenter-api must be auto, json or soap, got ${api}`, 2);
  const password = readText(passwordFile, 'vCenter password file').replace(/\r?\n$/, '');
  if (!password) throw new CliError(`the vCenter password file ${passwordFile} is empty`, 2);
  if (o.insecure) process.stderr.write("kmipctl: warning: --insecure: vCenter's certificate is not verified, so anyone on the network path could read the password\n");
  return { url, user, password, api, insecure: o.insecure, ...(o['vcenter-ca'] ? { ca: readText(o['vcenter-ca'], 'vCenter CA file') } : {}) };
}

export async function withSession<T>(o: CliOptions, use: (s: VcenterSession) => Promise<T>): Promise<T> {
  const options = sessionOptions(o);
  let session: VcenterSession;
  try {
    session = await VcenterSession.open(options);
  } catch (err) {
    throw asCliError(err);
  }
  try {
    return await use(session);
  } catch (err) {
    throw asCliError(err);
  } finally {
    await session.close();
  }
}

/** The tenant's certificates through the management API (kmipctl's own connection flags). */
function managementRegistry(client: () => ManagementClient): TenantCertRegistry {
  return {
    async fingerprints(tenant) {
      try {
        const r = await client().call<{ certificates: Array<{ fingerprint: string }> }>('GET', `/v1/certs?tenant=${encodeURIComponent(tenant)}`);
        return new Set(r.certificates.map((c) => c.fingerprint));
      } catch (err) {
        if (err instanceof CliError && /no tenant named/.test(err.message)) throw new CliError(`${err.message}: create it first with kmipctl tenant add ${tenant}`, 2);
        throw err;
      }
    },
    async register(tenant, pem, label) {
      await client().call('POST', '/v1/certs', { tenant, pem, label });
    },
  };
}

function registerText(r: RegisterReport): string {
  return [
    r.changed ? `key provider ${r.provider} on ${r.vcenter}: ${r.actions.length} change(s)` : `no changes: key provider ${r.provider} on ${r.vcenter} is registered and trusted both ways`,
    ...r.actions.map((a) => `  - ${a.detail}`),
    ...r.notes.map((n) => `  (${n})`),
    table(
      ['SERVER', 'ADDRESS', 'STATUS', 'VCENTER TRUSTS KMS', 'KMS TRUSTS VCENTER'],
      r.servers.map((s) => [s.name, `${s.address}:${s.port}`, s.status, s.clientTrustServer ? 'yes' : 'no', s.serverTrustClient ? 'yes' : 'no']),
    ),
    `vCenter's client certificate: SHA-256 ${r.clientCertificate.fingerprint}, ${r.clientCertificate.subject}, until ${r.clientCertificate.notAfter}`,
    ...(r.default ? [`${r.provider} is vCenter's default key provider`] : []),
  ].join('\n');
}

/** What vCenter said about a provider, plus, when it does not list it, the providers it does list. */
export type ProviderReport = ProviderUsage & { readonly knownProviders?: readonly string[] };

function knownText(known: readonly string[]): string {
  return known.length === 0 ? 'vCenter has no key provider at all' : `the key providers vCenter knows: ${known.join(', ')}`;
}

export function usageText(u: ProviderReport): string {
  const rows = [...u.users, ...u.unknownProvider, ...u.unreadable].map((e) => [e.kind, e.name, e.id, e.detail]);
  return [
    u.registered
      ? `key provider ${u.provider} on ${u.vcenter}: registered${u.isDefault ? ", vCenter's default" : ''}`
      : `key provider ${u.provider} on ${u.vcenter}: NOT REGISTERED: vCenter has no key provider of that name (check the name); ${knownText(u.knownProviders ?? [])}`,
    u.inUse
      ? `in use: ${u.counts.vms} VM(s) or template(s), ${u.counts.hosts} host(s), ${u.counts.clusters} cluster(s)${u.unknownProvider.length ? `, ${u.unknownProvider.length} VM(s) with a key of unknown provider` : ''}${u.unreadable.length ? `, ${u.unreadable.length} vSAN cluster(s) unreadable` : ''}${u.isDefault ? ', default provider' : ''}`
      : `not in use (${u.counts.scanned} inventory object(s) checked)`,
    ...(rows.length ? [table(['KIND', 'NAME', 'ID', 'WHY'], rows)] : []),
  ].join('\n');
}

/** providerUsage, and the providers vCenter knows when it does not list this one (same session). */
async function providerReport(session: VcenterSession, provider: string): Promise<ProviderReport> {
  const usage = await providerUsage(session, provider);
  if (usage.registered) return usage;
  const known = [...new Set((await new CryptoManagerKmip(session).listKmsClusters()).map((c) => c.clusterId.id))].sort();
  return { ...usage, knownProviders: known };
}

/**
 * For preflight-destroy: who in vCenter still uses --provider (with all the vCenter flags). A name
 * vCenter does not list and nothing in its inventory names is a mistake in the command (a typo would
 * otherwise find nothing and call the teardown safe): exit 2, listing the providers vCenter knows. A
 * provider no longer listed whose keys VMs or hosts still hold is in use (exit 3 from the caller).
 */
export async function providerInUse(o: CliOptions): Promise<ProviderReport> {
  if (!o.provider) throw new CliError('with --vcenter, give --provider NAME: the key provider being torn down', 2);
  const provider = o.provider;
  const report = await withSession(o, (session) => providerReport(session, provider));
  if (!report.registered && report.users.length === 0) {
    const known = report.knownProviders ?? [];
    throw new CliError(`vCenter ${report.vcenter} has no key provider named ${provider}, so it cannot tell whether the provider is in use: check --provider; ${knownText(known)}`, 2, {
      code: 'VC_ERR_INPUT',
      provider,
      knownProviders: known,
    });
  }
  return report;
}

const config: Command = async ({ out, options: o }) => {
  let spec: ProviderSpec;
  try {
    spec = providerSpec(o);
  } catch (err) {
    throw asCliError(err);
  }
  const doc = configDocument(spec, o.tenant);
  out.result(doc, () => configText(doc));
};

const register: Command = async (ctx: CommandContext) => {
  const o = ctx.options;
  let spec: ProviderSpec;
  let signingCa: SigningCa;
  try {
    spec = providerSpec(o);
    if (!o.tenant) throw new CliError('give --tenant NAME: the tenant whose keys vCenter will reach', 2);
    if (!o['sign-ca-cert'] || !o['sign-ca-key']) throw new CliError("give --sign-ca-cert FILE --sign-ca-key FILE: the CA that signs vCenter's certificate request", 2);
    signingCa = loadSigningCa(readText(o['sign-ca-cert'], 'signing CA certificate'), readText(o['sign-ca-key'], 'signing CA key'));
  } catch (err) {
    throw asCliError(err);
  }
  const tenant = o.tenant;
  const pins = o['expect-server-fingerprint']?.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (pins?.some((f) => !/^[0-9a-fA-F]{64}$/.test(f.replace(/:/g, '')))) throw new CliError('--expect-server-fingerprint takes SHA-256 fingerprints (64 hex digits, colons allowed)', 2);
  const report = await withSession(o, (session) =>
    registerProvider(session, {
      spec,
      tenant,
      signingCa,
      registry: managementRegistry(ctx.client),
      makeDefault: o.default,
      prune: o.prune,
      ...(pins ? { expectFingerprints: pins } : {}),
    }),
  );
  ctx.out.result(report, () => registerText(report));
};

/** What POST /v1/vcenter-usage takes: the report as read, named by its source and time (the server validates it). */
function publishedReport(r: ProviderReport, readAt: Date): Record<string, unknown> {
  return {
    source: 'kmipctl vcenter usage',
    readAt: readAt.toISOString(),
    provider: r.provider,
    vcenter: r.vcenter,
    registered: r.registered,
    isDefault: r.isDefault,
    inUse: r.inUse,
    users: r.users,
    unknownProvider: r.unknownProvider,
    unreadable: r.unreadable,
    counts: r.counts,
    ...(r.knownProviders ? { knownProviders: r.knownProviders } : {}),
  };
}

interface PublishAnswer {
  readonly receivedAt: string;
  readonly keptOn: string;
}

const usage: Command = async ({ out, options: o, client }) => {
  if (!o.provider) throw new CliError('give --provider NAME: the key provider to look for', 2);
  const provider = o.provider;
  // --publish sends the report to the server's status page: its connection flags are checked before vCenter is read.
  const publish = o.publish ? client() : undefined;
  const readAt = new Date();
  const r = await withSession(o, (session) => providerReport(session, provider));
  if (!publish) {
    out.result(r, () => usageText(r));
    return;
  }
  let answer: PublishAnswer;
  try {
    answer = await publish.call<PublishAnswer>('POST', '/v1/vcenter-usage', publishedReport(r, readAt));
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    // A rejected report is no usage error of this command (vCenter was read): exit 1. The code (UNREACHABLE,
    // UNAUTHORIZED …) stays whenever the exit code does, so a pipeline still tells a down server from a bad token.
    const exit = err.exitCode === 2 ? 1 : err.exitCode;
    throw new CliError(`vCenter was read, but publishing the report to the server failed: ${err.message}`, exit, err.details, exit === err.exitCode ? cliCode(err) : undefined);
  }
  const result = { ...r, published: answer };
  out.result(result, () => `${usageText(r)}
published to the server's status page (GET /status) at ${answer.receivedAt}: kept on ${answer.keptOn}`);
};

export const vcenterCommands: Record<string, Command> = {
  'vcenter config': config,
  'vcenter register': register,
  'vcenter usage': usage,
};
