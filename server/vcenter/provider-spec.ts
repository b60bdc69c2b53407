/**
 * What vCenter must be told about our key provider: its name, every server (name, address, port)
 * and the CA that issued the servers' certificates. Comes from the synthesized stack
 * (<cdktf.out>/stacks/<stack>/cdk.tf.json, outputs kmip_endpoints, kmip_server_ca_pem and
 * vcenter_key_provider) or from --endpoints and a CA file.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ServerEndpoint } from './crypto-manager.js';
import { VcenterError } from './errors.js';

export interface ProviderSpec {
  readonly provider: string;
  readonly servers: readonly ServerEndpoint[];
  readonly caPem: string;
  /** Where it came from, for messages. */
  readonly source: string;
}

export const KMIP_PORT = 5696;
/** vCenter's KeyProviderId and server names: keep to what its UI and APIs accept without surprises. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:.]+\]?$/;

export function checkName(name: string, what: string): string {
  if (!NAME.test(name)) throw new VcenterError('VC_ERR_INPUT', `${what} "${name}" must be 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return name;
}

/**
 * Parses `host[:port],…` where each entry may be named: `name=host:port`. Unnamed servers are called
 * `<provider>-1`, `<provider>-2`, … by position, so a changed address keeps its name (an update).
 */
export function parseEndpoints(text: string, provider: string): ServerEndpoint[] {
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0) throw new VcenterError('VC_ERR_INPUT', '--endpoints lists no server');
  const servers = entries.map((entry, i) => {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? `${provider}-${i + 1}` : entry.slice(0, eq);
    const hostPort = eq === -1 ? entry : entry.slice(eq + 1);
    const m = /^(\[[^\]]+\]|[^:]+|[0-9A-Fa-f:]+)(?::(\d{1,5}))?$/.exec(hostPort);
    const host = m?.[1]?.replace(/^\[|\]$/g, '');
    const port = m?.[2] === undefined ? KMIP_PORT : Number(m[2]);
    if (!host || !HOST.test(host) || port < 1 || port > 65535) throw new VcenterError('VC_ERR_INPUT', `--endpoints: "${entry}" is not host[:port] (or name=host[:port])`);
    return { name: checkName(name, 'server name'), address: host, port };
  });
  const names = new Set(servers.map((s) => s.name));
  if (names.size !== servers.length) throw new VcenterError('VC_ERR_INPUT', '--endpoints names a server twice');
  return servers;
}

export function checkCaPem(pem: string, what: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new VcenterError('VC_ERR_INPUT', `${what} is not a PEM X.509 certificate`);
  }
  if (!cert.ca) throw new VcenterError('VC_ERR_INPUT', `${what} is not a CA certificate (${cert.subject.replace(/\n/g, ', ')})`);
  return pem.trim() + '\n';
}

const OutputValue = z.object({ value: z.unknown() });
const StackOutputs = z.object({ output: z.record(z.string(), OutputValue) });
const KeyProviderDoc = z.object({ keyProvider: z.string(), servers: z.array(z.object({ info: z.object({ name: z.string(), address: z.string(), port: z.number().int() }) })) });

function literal(value: unknown, name: string, file: string): unknown {
  if (JSON.stringify(value).includes('${')) {
    throw new VcenterError('VC_ERR_INPUT', `output ${name} of ${file} is a Terraform reference, not a value; give --endpoints and --kmip-ca instead`);
  }
  return value;
}

/** The stacks synthesized in `cdktfOut` (those with a cdk.tf.json), sorted; none when the folder is missing. */
function synthesizedStacks(cdktfOut: string): string[] {
  const dir = join(cdktfOut, 'stacks');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => existsSync(join(dir, n, 'cdk.tf.json'))).sort();
}

/** Reads the synthesized stack's outputs (literal values at synth time: node addresses and the CA). */
export function readStackSpec(stack: string, cdktfOut: string, provider?: string): ProviderSpec {
  const file = join(cdktfOut, 'stacks', stack, 'cdk.tf.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // A typo in the name and a checkout never synthesized need different fixes: say which it is.
    const known = synthesizedStacks(cdktfOut);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && known.length > 0) {
      throw new VcenterError('VC_ERR_INPUT', `no synthesized stack named ${stack} in ${join(cdktfOut, 'stacks')}; the stacks there: ${known.join(', ')} (give one of them to --stack, or synthesize ${stack} first: npm run synth)`);
    }
    throw new VcenterError('VC_ERR_INPUT', `cannot read the synthesized stack ${file} (${(err as Error).message}); ${known.length === 0 ? `no stack is synthesized in ${cdktfOut}: ` : ''}run the synth first (npm run synth)`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new VcenterError('VC_ERR_INPUT', `${file} is not JSON (${(err as Error).message}); synthesize the stack again (npm run synth)`);
  }
  const outputs = StackOutputs.safeParse(doc);
  if (!outputs.success) throw new VcenterError('VC_ERR_INPUT', `${file} has no Terraform outputs`);
  const out = outputs.data.output;
  const endpoints = z.array(z.string()).safeParse(literal(out['kmip_endpoints']?.value, 'kmip_endpoints', file));
  const ca = z.string().safeParse(literal(out['kmip_server_ca_pem']?.value, 'kmip_server_ca_pem', file));
  if (!endpoints.success || !ca.success) throw new VcenterError('VC_ERR_INPUT', `${file} lacks the outputs kmip_endpoints (list of host:port) and kmip_server_ca_pem`);
  // The stack's key-provider document names each server by zone; use those names when it is there.
  let named: ServerEndpoint[] | undefined;
  let docName: string | undefined;
  const raw = out['vcenter_key_provider']?.value;
  if (typeof raw === 'string') {
    try {
      const kp = KeyProviderDoc.parse(JSON.parse(raw));
      docName = kp.keyProvider;
      named = kp.servers.map((s) => ({ name: checkName(s.info.name, 'server name'), address: s.info.address, port: s.info.port }));
    } catch {
      named = undefined;
    }
  }
  const name = checkName(provider ?? docName ?? stack, 'key provider name');
  const servers = named && named.length === endpoints.data.length ? named : parseEndpoints(endpoints.data.join(','), name);
  return { provider: name, servers, caPem: checkCaPem(ca.data, `output kmip_server_ca_pem of ${file}`), source: file };
}

export function endpointsSpec(endpoints: string, caFile: string, provider: string | undefined): ProviderSpec {
  if (!provider) throw new VcenterError('VC_ERR_INPUT', 'give --provider NAME with --endpoints (the key provider name vCenter shows)');
  const name = checkName(provider, 'key provider name');
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new VcenterError('VC_ERR_INPUT', `cannot read --kmip-ca ${caFile}: ${(err as Error).message}`);
  }
  return { provider: name, servers: parseEndpoints(endpoints, name), caPem: checkCaPem(pem, `--kmip-ca ${caFile}`), source: '--endpoints' };
}
