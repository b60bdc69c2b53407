/**
 * Regression tests for what the fuzzer and the abuse tests found in the codec: a Big Integer took
 * quadratic time to decode and encode (256 KiB held the event loop for a minute), and the framer
 * kept every chunk of a partial message, so a message dribbled one byte per TLS record cost about
 * 200 bytes of heap per byte.
 */
import { describe, expect, it } from 'vitest';
import { decodeTtlv, encodeTtlv, FrameReader, ItemType } from '../../../server/ttlv/index.js';
import { collectGarbage } from '../../support/memory.js';

const LIMITS = { maxSize: 2 * 1024 * 1024, maxDepth: 24 };

function bigIntegerItem(bytes: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x42000104, 0); // tag 0x420001, type Big Integer
  header.writeUInt32BE(bytes.length, 4);
  return Buffer.concat([header, bytes]);
}

describe('Big Integers of hostile size', () => {
  it('a 256 KiB Big Integer decodes and encodes in linear time', () => {
    const value = Buffer.alloc(256 * 1024, 0x5a);
    const started = performance.now();
    const item = decodeTtlv(bigIntegerItem(value), LIMITS);
    const again = Buffer.from(encodeTtlv(item));
    // Was about 90 s (decode and encode); now tens of milliseconds.
    expect(performance.now() - started).toBeLessThan(3000);
    expect(again.equals(bigIntegerItem(value))).toBe(true);
  });

  it('keeps two’s complement exact at word boundaries', () => {
    const cases = [0n, 1n, -1n, 127n, -128n, (1n << 63n) - 1n, -(1n << 63n), 1n << 63n, -(1n << 63n) - 1n, (1n << 4095n) - 1n, -(1n << 4095n), 0x0123456789abcdefn << 1000n];
    for (const value of cases) {
      const encoded = encodeTtlv({ tag: 0x420001, type: ItemType.BigInteger, value });
      expect(encoded.length % 8, `${value}`).toBe(0);
      expect(decodeTtlv(encoded).value, `${value}`).toBe(value);
    }
    // Sign-extended by the encoder: 8 bytes for -1, 16 for 2^63.
    expect(Buffer.from(encodeTtlv({ tag: 0x420001, type: ItemType.BigInteger, value: -1n })).toString('hex')).toBe('4200010400000008ffffffffffffffff');
    expect(Buffer.from(encodeTtlv({ tag: 0x420001, type: ItemType.BigInteger, value: 1n << 63n })).toString('hex')).toBe('42000104000000100000000000000000' + '8000000000000000');
    expect(decodeTtlv(Buffer.from('4200010400000008ff00000000000000', 'hex')).value).toBe(-(1n << 56n));
  });
});

describe('a message dribbled one byte at a time', () => {
  it('is framed exactly, with memory that follows the bytes received rather than the chunks', () => {
    const body = 200_000;
    const framer = new FrameReader(1024 * 1024);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(0x42007801, 0);
    header.writeUInt32BE(body, 4);
    const message = Buffer.concat([header, Buffer.alloc(body, 7)]);
    collectGarbage();
    const before = process.memoryUsage();
    // Each chunk a Buffer of its own, as TLS delivers one record each.
    for (let i = 0; i < message.length - 1; i++) expect(framer.push(Buffer.from([message[i]!]))).toEqual([]);
    collectGarbage();
    const after = process.memoryUsage();
    const held = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    // Keeping the 200,000 chunks cost over 20 MB; one growing buffer is under 1 MB.
    expect(held).toBeLessThan(8 * 1024 * 1024);
    expect(framer.pendingBytes).toBe(message.length - 1);
    const [whole] = framer.push(message.subarray(message.length - 1));
    expect(whole!.equals(message)).toBe(true);
    expect(framer.pendingBytes).toBe(0);
  });

  it('allocates for what arrived, not for what the header announces', () => {
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    const claims: FrameReader[] = [];
    for (let i = 0; i < 100; i++) {
      const f = new FrameReader(64 * 1024 * 1024);
      f.push(Buffer.from('4200780103fffff8', 'hex')); // announces 64 MiB
      claims.push(f);
    }
    collectGarbage();
    // 100 headers announcing 64 MiB each: a few KiB each, not 6.4 GiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(claims.every((f) => f.pendingBytes === 8)).toBe(true);
  });
});
