import { Buffer } from 'node:buffer';
import { TtlvError, TtlvErrorCode } from './errors.js';
import { HEADER_SIZE, ItemType, padded } from './types.js';

function spaced(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').replace(/(..)(?=.)/g, '$1 ');
}

/**
 * Prints TTLV bytes one item per line as "42 00 01 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00",
 * children indented under their structure. Bytes that do not parse are printed raw after a marker,
 * so the printer is safe on any input (it is used for debug output of hostile messages).
 */
export function formatTtlvHex(bytes: Uint8Array): string {
  const lines: string[] = [];
  const walk = (start: number, end: number, indent: string): void => {
    let p = start;
    while (p < end) {
      if (end - p < HEADER_SIZE) {
        lines.push(`${indent}?? ${spaced(bytes.subarray(p, end))}`);
        return;
      }
      const type = bytes[p + 3]!;
      const length = ((bytes[p + 4]! << 24) >>> 0) + (bytes[p + 5]! << 16) + (bytes[p + 6]! << 8) + bytes[p + 7]!;
      const head = `${indent}${spaced(bytes.subarray(p, p + 3))} | ${spaced(bytes.subarray(p + 3, p + 4))} | ${spaced(bytes.subarray(p + 4, p + 8))}`;
      const valueEnd = p + HEADER_SIZE + padded(length);
      if (valueEnd > end) {
        lines.push(`${head} | ?? ${spaced(bytes.subarray(p + HEADER_SIZE, end))}`);
        return;
      }
      if (type === ItemType.Structure) {
        lines.push(head);
        walk(p + HEADER_SIZE, valueEnd, `${indent}  `);
      } else {
        lines.push(`${head} | ${spaced(bytes.subarray(p + HEADER_SIZE, valueEnd))}`);
      }
      p = valueEnd;
    }
  };
  walk(0, bytes.length, '');
  return lines.join('\n');
}

/** Parses hex written in any layout: whitespace and "|" are ignored, "#" starts a comment to the end of the line. */
export function parseHex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/[\s|]/g, '');
  if (digits.length % 2 !== 0) throw new TtlvError(TtlvErrorCode.BadHex, 'odd number of hex digits', -1);
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) throw new TtlvError(TtlvErrorCode.BadHex, `not a hex digit: ${JSON.stringify(bad[0])}`, -1);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
