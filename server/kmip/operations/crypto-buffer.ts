/** Data gathered over a streamed operation that can only work on the whole message (signatures, CMAC). */
import { STREAM_LIMITS, streamLimitReached } from '../crypto/streams.js';

export class Gathered {
  private readonly pieces: Buffer[] = [];
  private size = 0;

  add(data: Uint8Array): void {
    if (this.size + data.length > STREAM_LIMITS.maxBufferedBytes) throw streamLimitReached('a streamed operation may gather at most 1 MiB');
    this.pieces.push(Buffer.from(data));
    this.size += data.length;
  }

  all(): Buffer {
    return Buffer.concat(this.pieces);
  }
}
