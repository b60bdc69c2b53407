import { Buffer } from 'node:buffer';
import { TtlvError, TtlvErrorCode } from './errors.js';
import { HEADER_SIZE, padded } from './types.js';

/** First allocation for a message body that arrives in pieces; it doubles from there. */
const MIN_CAPACITY = 4096;

/**
 * Turns a byte stream into whole TTLV messages using the 8-byte item header. The size limit is
 * checked as soon as the header is complete, before the body is buffered, so a peer claiming a
 * 4 GiB message costs us 8 bytes.
 *
 * A partial message is copied into one buffer that grows by doubling up to the announced size,
 * never kept as a list of the chunks it came in: a peer sending a message one byte per TLS record
 * would otherwise cost us a Buffer object (about 200 bytes of heap) per byte received.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(HEADER_SIZE);
  /** The message being assembled (header included) once its header is complete. */
  private message: Buffer | undefined;
  private buffered = 0;
  private needed = -1;

  constructor(private readonly maxMessageSize: number) {}

  /** Bytes held that do not yet form a whole message. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds a chunk; returns every message it completes, in order. Throws TtlvError(TOO_LARGE). */
  push(chunk: Uint8Array): Buffer[] {
    const messages: Buffer[] = [];
    let data: Buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (data.length > 0) {
      if (this.needed < 0) {
        // Still assembling a header.
        const take = Math.min(HEADER_SIZE - this.buffered, data.length);
        data.copy(this.header, this.buffered, 0, take);
        this.buffered += take;
        data = data.subarray(take);
        if (this.buffered < HEADER_SIZE) break;
        const total = HEADER_SIZE + padded(this.header.readUInt32BE(4));
        if (total > this.maxMessageSize) {
          this.reset();
          throw new TtlvError(TtlvErrorCode.TooLarge, `message of ${total} bytes exceeds the limit of ${this.maxMessageSize}`, 0);
        }
        this.needed = total;
        // Memory follows the bytes received, not the size announced.
        this.message = Buffer.allocUnsafe(Math.min(total, Math.max(MIN_CAPACITY, HEADER_SIZE + data.length)));
        this.header.copy(this.message, 0);
      }
      const take = Math.min(this.needed - this.buffered, data.length);
      this.append(data.subarray(0, take));
      data = data.subarray(take);
      if (this.buffered < this.needed) break;
      // The buffer reached exactly the announced size (append never grows past it).
      messages.push(this.message!);
      this.reset();
    }
    return messages;
  }

  private append(bytes: Buffer): void {
    let message = this.message!;
    const end = this.buffered + bytes.length;
    if (end > message.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.needed, Math.max(end, message.length * 2)));
      message.copy(grown, 0, 0, this.buffered);
      message = this.message = grown;
    }
    bytes.copy(message, this.buffered);
    this.buffered = end;
  }

  reset(): void {
    this.message = undefined;
    this.buffered = 0;
    this.needed = -1;
  }
}
