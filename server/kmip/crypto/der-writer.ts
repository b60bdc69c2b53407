/**
 * Just enough DER writing to build an X.509 certificate (RFC 5280) and read back the object
 * identifiers it holds. The reader side is objects/der.ts.
 */

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) out.unshift(n % 256);
  return [0x80 | out.length, ...out];
}

/** One element: tag, minimal length, contents. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Uint8Array {
  const body = Buffer.concat(contents);
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...lengthBytes(body.length)]), body]));
}

export const sequence = (...items: readonly Uint8Array[]): Uint8Array => tlv(0x30, ...items);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes);
export const derNull = (): Uint8Array => tlv(0x05);
export const derBoolean = (value: boolean): Uint8Array => tlv(0x01, Uint8Array.of(value ? 0xff : 0x00));
/** A context-specific constructed [n] wrapper (EXPLICIT tagging). */
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);

/** A BIT STRING of whole bytes, or of `bits` leading bits (named-bit lists such as Key Usage). */
export function bitString(bytes: Uint8Array, bits = bytes.length * 8): Uint8Array {
  const unused = bytes.length * 8 - bits;
  if (unused < 0 || unused > 7) throw new Error('DER: bit count does not fit the bytes');
  return tlv(0x03, Uint8Array.of(unused), bytes);
}

/** A non-negative INTEGER from its big-endian magnitude (a 0x00 is prefixed where the sign bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Uint8Array.of(0), trimmed]) : trimmed);
}

export function smallInteger(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 127) throw new Error('DER: small integers only');
  return tlv(0x02, Uint8Array.of(value));
}

export function oid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map(Number);
  if (parts.length < 2 || parts.some((p) => !Number.isSafeInteger(p) || p < 0)) throw new Error(`DER: bad object identifier ${dotted}`);
  const out: number[] = [];
  const arcs = [parts[0]! * 40 + parts[1]!, ...parts.slice(2)];
  for (const arc of arcs) {
    const base128: number[] = [];
    for (let n = arc; ; n = Math.floor(n / 128)) {
      base128.unshift((n % 128) | (base128.length > 0 ? 0x80 : 0));
      if (n < 128) break;
    }
    out.push(...base128);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** The dotted form of an OBJECT IDENTIFIER's contents. */
export function oidText(body: Uint8Array): string {
  if (body.length === 0 || body.length > 64) throw new Error('DER: bad object identifier');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new Error('DER: object identifier arc too large');
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if ((body[body.length - 1]! & 0x80) !== 0) throw new Error('DER: truncated object identifier');
  const first = arcs.shift()!;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - top * 40, ...arcs].join('.');
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, UTC. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}
