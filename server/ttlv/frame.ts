import { Buffer } from 'node:buffer';
import { TtlvError, TtlvErrorCode } from './errors.js';
import { HEADER_SIZE, padded } from './types.js';

/**
 * Turns a byte stream into whole TTLV messages using the 8-byte item header. The size limit is
 * checked as soon as the header is complete, before the body is buffered, so a peer claiming a
 * 4 GiB message costs us 8 bytes.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
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
        this.chunks.push(data.subarray(0, take));
        this.buffered += take;
        data = data.subarray(take);
        if (this.buffered < HEADER_SIZE) break;
        const header = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, HEADER_SIZE);
        const total = HEADER_SIZE + padded(header.readUInt32BE(4));
        if (total > this.maxMessageSize) {
          this.reset();
          throw new TtlvError(TtlvErrorCode.TooLarge, `message of ${total} bytes exceeds the limit of ${this.maxMessageSize}`, 0);
        }
        this.chunks = [header];
        this.needed = total;
      }
      const missing = this.needed - this.buffered;
      if (data.length < missing) {
        this.chunks.push(data);
        this.buffered += data.length;
        break;
      }
      this.chunks.push(data.subarray(0, missing));
      messages.push(Buffer.concat(this.chunks, this.needed));
      data = data.subarray(missing);
      this.reset();
    }
    return messages;
  }

  reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.needed = -1;
  }
}
