/**
 * The names a server certificate must carry so clients on other machines (a lab vCenter) can verify it:
 * the listen address, or for a wildcard address (0.0.0.0, ::) this machine's non-loopback interface
 * addresses and its host name, plus names the operator adds with --san. localhost and 127.0.0.1 are
 * always there, so local tools and health checks keep working.
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

export interface ServerNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** A DNS name a certificate may carry: letters, digits and hyphens in dot-separated labels, optionally one leading "*." label. */
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Why `value` cannot be a subject alternative name, or undefined when it can. */
export function sanProblem(value: string): string | undefined {
  const v = value.trim();
  if (v === '') return 'an empty name';
  if (isIP(stripBrackets(v))) return undefined;
  if (v.length > 253 || !DNS_NAME.test(v)) return `${JSON.stringify(value)} is neither an IP address nor a DNS name (letters, digits, hyphens and dots)`;
  return undefined;
}

function stripBrackets(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** One spelling per address (IPv6 compressed, lower case), so names read from a certificate compare equal. */
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip;
}

/** True for the addresses that mean "every interface". */
export function isWildcardHost(host: string): boolean {
  const h = stripBrackets(host.trim());
  return h === '0.0.0.0' || h === '::' || h === '0:0:0:0:0:0:0:0';
}

/** This machine's addresses other clients can reach: not loopback, not IPv6 link-local (those need a zone id). */
function interfaceAddresses(ipv6: boolean): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' || (ipv6 && a.family === 'IPv6' && !/^fe[89ab]/i.test(a.address))) out.push(a.address);
    }
  }
  return out;
}

/**
 * The names for a server listening on `host`, with `extra` (--san values, checked with sanProblem
 * first). 0.0.0.0 listens on IPv4 only, so only IPv4 interface addresses; :: listens on both.
 */
export function serverNames(host: string, extra: readonly string[] = []): ServerNames {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1']);
  const add = (name: string) => {
    const n = stripBrackets(name.trim());
    if (n === '') return;
    if (isIP(n)) ips.add(canonicalIp(n));
    else dns.add(n.toLowerCase());
  };
  if (isWildcardHost(host)) {
    for (const ip of interfaceAddresses(stripBrackets(host.trim()) !== '0.0.0.0')) add(ip);
    const name = hostname();
    if (sanProblem(name) === undefined) add(name);
  } else {
    add(host);
  }
  for (const name of extra) add(name);
  return { dnsNames: [...dns].sort(), ipAddresses: [...ips].sort() };
}

/** The names a certificate carries, from Node's subjectAltName text ("DNS:a, IP Address:1.2.3.4"). */
export function certificateNames(subjectAltName: string | undefined): ServerNames {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) ips.push(canonicalIp(part.slice(11)));
  }
  return { dnsNames: dns.sort(), ipAddresses: ips.sort() };
}

export function sameNames(a: ServerNames, b: ServerNames): boolean {
  const key = (n: ServerNames) => JSON.stringify([[...n.dnsNames].sort(), [...n.ipAddresses].sort()]);
  return key(a) === key(b);
}

/** "DNS:localhost, IP:127.0.0.1, …" for banners and init's output. */
export function describeNames(n: ServerNames): string {
  return [...n.dnsNames.map((d) => `DNS:${d}`), ...n.ipAddresses.map((i) => `IP:${i}`)].join(', ');
}
