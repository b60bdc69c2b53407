/**
 * Scalar values of the XML encoding in both directions (KMIP Profiles 1.4 §5.4 / 2.1 XML Encoding):
 * decimal integers, 0x hex for any integer type, hex byte strings, two's complement big integers,
 * ISO 8601 dates, enumeration and mask names. Every parser returns undefined on text it cannot read;
 * the caller turns that into an error that names the element.
 */
import { Buffer } from 'node:buffer';
import { nameForTag, nameValue, tagForName, valueName, type Naming } from './names.js';

const DECIMAL = /^[+-]?[0-9]{1,20}$/;
const HEX = /^0x([0-9A-Fa-f]+)$/;

/** A 0x hex value of at most `bits` bits, read as an unsigned number. */
function hexBits(text: string, bits: number): bigint | undefined {
  const m = HEX.exec(text);
  if (!m || m[1]!.length > bits / 4) return undefined;
  return BigInt(`0x${m[1]}`);
}

function signed(u: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, u);
}

export function parseInt32(text: string): number | undefined {
  const h = hexBits(text, 32);
  if (h !== undefined) return Number(signed(h, 32));
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return n >= -0x80000000 && n <= 0x7fffffff ? n : undefined;
}

export function parseUint32(text: string): number | undefined {
  const h = hexBits(text, 32);
  if (h !== undefined) return Number(h);
  if (!DECIMAL.test(text) || text.startsWith('-')) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}

export function parseInt64(text: string): bigint | undefined {
  const h = hexBits(text, 64);
  if (h !== undefined) return signed(h, 64);
  if (!DECIMAL.test(text)) return undefined;
  const n = BigInt(text);
  return n === BigInt.asIntN(64, n) ? n : undefined;
}

/** Mask names joined by "|" or spaces, each a name of the table or a 0x hex part. */
export function parseMask(text: string, naming: Naming): number | undefined {
  if (naming?.kind !== 'mask') return undefined;
  const parts = text.split(/[|\s]+/).filter((p) => p !== '');
  if (parts.length === 0 || parts.length > 64) return undefined;
  let bits = 0;
  for (const part of parts) {
    const v = nameValue(naming.info, part) ?? (HEX.test(part) ? parseUint32(part) : undefined);
    if (v === undefined) return undefined;
    bits = (bits | v) >>> 0;
  }
  return bits | 0;
}

export function formatMask(value: number, naming: Naming): string | undefined {
  if (naming?.kind !== 'mask' || value === 0) return undefined;
  const names: string[] = [];
  let rest = value >>> 0;
  for (let bit = 1; rest !== 0 && bit <= 0x80000000; bit *= 2) {
    if ((rest & bit) === 0) continue;
    const name = valueName(naming.info, bit);
    if (name === undefined) return undefined;
    names.push(name);
    rest = (rest & ~bit) >>> 0;
  }
  // Spaces, as the OASIS test cases write masks; "|" is read too.
  return rest === 0 ? names.join(' ') : undefined;
}

export function parseEnumeration(text: string, naming: Naming): number | undefined {
  const hex = HEX.test(text) ? parseUint32(text) : undefined;
  if (hex !== undefined) return hex;
  if (naming?.kind === 'enum') return nameValue(naming.info, text);
  if (naming?.kind === 'tags') return tagForName(text);
  return undefined;
}

export function formatEnumeration(value: number, naming: Naming): string {
  const name = naming?.kind === 'enum' ? valueName(naming.info, value) : naming?.kind === 'tags' ? nameForTag(value) : undefined;
  return name ?? `0x${value.toString(16).padStart(8, '0')}`;
}

export function parseBytes(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function formatBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Big-endian two's complement, as on the wire (any whole number of bytes; 0x prefix optional). */
export function parseBigInteger(text: string): bigint | undefined {
  const digits = text.startsWith('0x') ? text.slice(2) : text;
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(digits)) return undefined;
  return BigInt.asIntN(digits.length * 4, BigInt(`0x${digits}`));
}

/** Padded to a multiple of 8 bytes with the sign, as TTLV carries it. */
export function formatBigInteger(value: bigint): string {
  let bytes = 8;
  while (BigInt.asIntN(bytes * 8, value) !== value) bytes += 8;
  return BigInt.asUintN(bytes * 8, value).toString(16).padStart(bytes * 2, '0');
}

export function parseBoolean(text: string): boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  const h = hexBits(text, 64);
  return h === 0n ? false : h === 1n ? true : undefined;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** ISO 8601 (with a zone; a fraction kept to microseconds) to POSIX microseconds. */
function isoMicros(text: string): bigint | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, 0);
  let offsetMinutes = 0;
  const zone = m[8]!;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const fraction = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  return (BigInt(date.getTime()) - BigInt(offsetMinutes) * 60_000n) * 1000n + fraction;
}

export function parseDateTime(text: string): bigint | undefined {
  const micros = isoMicros(text);
  if (micros !== undefined) return micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
  return parseInt64(text.startsWith('0x') ? text : '');
}

export function parseDateTimeExtended(text: string): bigint | undefined {
  return isoMicros(text) ?? parseInt64(text.startsWith('0x') ? text : '');
}

/** Years 0000–9999 in ISO 8601 with "+00:00", as the test cases write dates; anything else as 0x hex. */
function isoFromMillis(ms: bigint, fraction: string): string | undefined {
  const date = new Date(Number(ms));
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 0 || year > 9999) return undefined;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}+00:00`;
}

const hex64 = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;

export function formatDateTime(seconds: bigint): string {
  const limit = 253_402_300_799n; // 9999-12-31T23:59:59Z
  if (seconds > limit || seconds < -62_167_219_200n) return hex64(seconds);
  return isoFromMillis(seconds * 1000n, '') ?? hex64(seconds);
}

export function formatDateTimeExtended(micros: bigint): string {
  if (micros > 253_402_300_799_999_999n || micros < -62_167_219_200_000_000n) return hex64(micros);
  const floorMs = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const secondsFloor = floorMs / 1000n - (floorMs % 1000n < 0n ? 1n : 0n);
  const fraction = micros - secondsFloor * 1_000_000n;
  return isoFromMillis(secondsFloor * 1000n, `.${fraction.toString().padStart(6, '0')}`) ?? hex64(micros);
}
