/**
 * One value against the value rules of one attribute (allowed values, ranges, patterns, lengths,
 * formats), with messages worded like the SDK helpers and the IBM provider's validators.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { ValueRule } from './rules.js';

export type Scalar = string | number | boolean;

const goStrings = (values: readonly string[]) => `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;

/** Patterns are Go RE2; JavaScript reads these without the `u` flag. A pattern JS cannot read is not checked. */
const patternCache = new Map<string, RegExp | null>();
function pattern(source: string): RegExp | null {
  if (!patternCache.has(source)) {
    try {
      patternCache.set(source, new RegExp(source));
    } catch {
      process.stderr.write(`fake provider: pattern not checked (not valid in JavaScript): ${source}\n`);
      patternCache.set(source, null);
    }
  }
  return patternCache.get(source) ?? null;
}
const matches = (source: string, value: string) => pattern(source)?.test(value) ?? true;

function isCidr(value: string): boolean {
  const [address, bits, extra] = value.split('/');
  if (extra !== undefined || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const width = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  return width > 0 && Number(bits) <= width;
}

/** Go's time.ParseDuration grammar: a sequence of decimal numbers, each with a unit, optionally signed; "0" alone too. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * (unitMs[part[2] ?? ''] ?? 0);
  return m[1] === '-' ? -total : total;
}

function checkFormat(format: string, value: Scalar, key: string): string | undefined {
  const text = String(value);
  const bad = (what: string) => `${JSON.stringify(key)} must be ${what}, got ${JSON.stringify(text)}`;
  switch (format) {
    case 'cidr':
      return isCidr(text) ? undefined : `${JSON.stringify(key)} must contain a valid CIDR, got error parsing: invalid CIDR address: ${text}`;
    case 'ip':
      return isIP(text) ? undefined : bad('a valid IP address');
    case 'ipv4':
      return isIPv4(text) ? undefined : bad('a valid IPv4 address');
    case 'ipv6':
      return isIPv6(text) ? undefined : bad('a valid IPv6 address');
    case 'ip_or_cidr':
      return isIP(text) || isCidr(text) ? undefined : bad('a valid IP address or CIDR');
    case 'json':
      try {
        JSON.parse(text);
        return undefined;
      } catch (e) {
        return `${JSON.stringify(key)} contains an invalid JSON: ${(e as Error).message}`;
      }
    case 'rfc3339':
      return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text)) ? undefined : `expected ${JSON.stringify(key)} to be a valid RFC3339 date, got ${JSON.stringify(text)}`;
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text)) ? undefined : bad('a date (YYYY-MM-DD)');
    case 'uuid':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text) ? undefined : `expected ${JSON.stringify(key)} to be a valid UUID, got ${text}`;
    case 'base64':
      return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0 ? undefined : `expected ${JSON.stringify(key)} to be a base64 string, got ${text}`;
    case 'not_zero':
      return value === '' || value === 0 ? `expected ${JSON.stringify(key)} not to be an empty string or whitespace` : undefined;
    case 'https_url':
    case 'http_url': {
      const scheme = format === 'https_url' ? 'https:' : 'http:';
      try {
        const url = new URL(text);
        return url.protocol === scheme || (format === 'http_url' && url.protocol === 'https:') ? undefined : bad(`a URL with scheme ${scheme.slice(0, -1)}`);
      } catch {
        return bad('a valid URL');
      }
    }
    case 'regexp':
      return pattern(text) ? undefined : `${JSON.stringify(key)}: ${JSON.stringify(text)} is not a valid regular expression`;
    case 'duration':
      return parseGoDuration(text) === undefined ? `${JSON.stringify(key)} must be a duration such as "30s" or "2m", got ${JSON.stringify(text)} (time: invalid duration ${JSON.stringify(text)})` : undefined;
    default:
      return undefined;
  }
}

/** The messages of every rule the value breaks; none when it passes. */
export function checkValue(rule: ValueRule, value: Scalar, key: string): string[] {
  if (rule.no_op) return [];
  const errors: string[] = [];
  const text = typeof value === 'string' ? value : String(value);
  const quoted = JSON.stringify(key);

  if (rule.allowed && typeof value === 'string') {
    const ok = rule.ignore_case ? rule.allowed.some((a) => a.toLowerCase() === value.toLowerCase()) : rule.allowed.includes(value);
    if (!ok) errors.push(`${quoted} must contain a value from ${goStrings(rule.allowed)}, got ${JSON.stringify(value)}`);
  }
  if (rule.allowed_int && typeof value === 'number' && !rule.allowed_int.includes(value)) {
    errors.push(`expected ${key} to be one of [${rule.allowed_int.join(' ')}], got ${value}`);
  }
  if (typeof value === 'number') {
    const [min, max] = [rule.int_min ?? rule.float_min, rule.int_max ?? rule.float_max];
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      if (min !== undefined && max !== undefined) errors.push(`expected ${key} to be in the range (${min} - ${max}), got ${value}`);
      else if (min !== undefined) errors.push(`expected ${key} to be at least (${min}), got ${value}`);
      else errors.push(`expected ${key} to be at most (${max}), got ${value}`);
    }
  }
  if (typeof value === 'string') {
    const patterns = rule.regex === undefined ? [] : Array.isArray(rule.regex) ? rule.regex : [rule.regex];
    const failed = patterns.find((p) => !matches(p, value));
    if (failed !== undefined) {
      errors.push(rule.message ? `invalid value for ${key} (${rule.message})` : `${quoted} (${JSON.stringify(value)}) should match regexp ${failed}`);
    } else {
      // The provider's regex-and-length validator checks the length only once the pattern matched.
      const bytes = Buffer.byteLength(value, 'utf8');
      if ((rule.length_min !== undefined && bytes < rule.length_min) || (rule.length_max !== undefined && bytes > rule.length_max)) {
        errors.push(`expected length of ${key} to be in the range (${rule.length_min ?? 0} - ${rule.length_max ?? '∞'}), got ${value}`);
      }
    }
    if (rule.regex_any && !rule.regex_any.some((p) => matches(p, value))) errors.push(`${quoted} (${JSON.stringify(value)}) should match one of ${rule.regex_any.join(' , ')}`);
    if (rule.not_regex !== undefined && pattern(rule.not_regex)?.test(value)) errors.push(rule.message ? `invalid value for ${key} (${rule.message})` : `${quoted} (${JSON.stringify(value)}) must not match regexp ${rule.not_regex}`);
    if (rule.not_in?.includes(value)) errors.push(`${quoted} must not be one of ${goStrings(rule.not_in)}, got ${JSON.stringify(value)}`);
    if (rule.not_contains !== undefined && value.includes(rule.not_contains)) errors.push(`${quoted} must not contain ${JSON.stringify(rule.not_contains)}`);
    if (rule.not_contains_chars !== undefined && [...rule.not_contains_chars].some((c) => value.includes(c))) {
      errors.push(`${quoted} must not contain any of ${JSON.stringify(rule.not_contains_chars)}, got ${JSON.stringify(value)}`);
    }
  }
  if (rule.format !== undefined) {
    const problem = checkFormat(rule.format, value, key);
    if (problem) errors.push(problem);
  }
  if (rule.any_of && rule.any_of.length > 0) {
    const alternatives = rule.any_of.map((alt) => checkValue(alt, value, key));
    if (alternatives.every((problems) => problems.length > 0)) errors.push(`${quoted} (${JSON.stringify(text)}): no alternative holds: ${alternatives.map((p) => p.join('; ')).join(' | ')}`);
  }
  return errors;
}
