/**
 * The byte encoding of PKCS#11 parameters over KMIP (KMIP Profiles 2.1 §5.18.1, "PKCS#11 Server"):
 * CK_BYTE is one byte, CK_ULONG and CK_LONG are 8 bytes big-endian whatever the platform's width,
 * a CK_ULONG that is a count or a length is 4 bytes big-endian, strings are space padded, a pointer
 * to a structure is replaced by the structure's fields in line, and a variable-length array is
 * preceded by its count. A reader that runs short, or is left with bytes over, is a PKCS#11 Codec Error.
 */
import { KmipError } from '../errors.js';
import { ResultReason } from '../generated/enums.js';

export function codecError(what: string): KmipError {
  return new KmipError(ResultReason.PKCS_11CodecError, `PKCS#11 Input Parameters: ${what}`);
}

/** Reads one function's input parameters, in order, and insists on using every byte. */
export class ParamReader {
  private offset = 0;

  constructor(private readonly data: Uint8Array) {}

  private take(n: number, what: string): Uint8Array {
    if (this.offset + n > this.data.length) throw codecError(`${what} is cut short`);
    const out = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  byte(what: string): number {
    return this.take(1, what)[0]!;
  }

  /** A CK_BBOOL: CK_FALSE (0) or CK_TRUE (1); any other byte is not a PKCS#11 boolean. */
  bool(what: string): boolean {
    const b = this.byte(what);
    if (b > 1) throw codecError(`${what} must be CK_TRUE or CK_FALSE`);
    return b === 1;
  }

  /** A CK_ULONG that is a count or a length: 4 bytes. */
  count(what: string): number {
    return Buffer.from(this.take(4, what)).readUInt32BE(0);
  }

  end(): void {
    if (this.remaining !== 0) throw codecError(`${this.remaining} bytes more than the function takes`);
  }
}

/** Writes one function's output parameters, in order. */
export class ParamWriter {
  private readonly parts: Buffer[] = [];

  byte(value: number): this {
    this.parts.push(Buffer.from([value & 0xff]));
    return this;
  }

  /** A CK_VERSION: major then minor, one byte each. */
  version(major: number, minor: number): this {
    return this.byte(major).byte(minor);
  }

  /** A CK_ULONG or CK_FLAGS: 8 bytes. */
  ulong(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, value));
    this.parts.push(b);
    return this;
  }

  /** A CK_ULONG that is a count or a length: 4 bytes. */
  count(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.parts.push(b);
    return this;
  }

  /** A fixed-size CK_UTF8CHAR array: printable ASCII, cut to size, padded with spaces (never null terminated). */
  padded(text: string, size: number): this {
    const ascii = text.replace(/[^\x20-\x7e]/g, '?').slice(0, size);
    this.parts.push(Buffer.from(ascii.padEnd(size, ' '), 'ascii'));
    return this;
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}
