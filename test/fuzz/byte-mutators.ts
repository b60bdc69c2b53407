/**
 * Mutations of the encoding itself, aimed at item boundaries found by walking the valid bytes
 * first: lengths off by one or claiming gigabytes, item types and tags outside the spec, non-zero
 * padding, invalid UTF-8, Booleans that are neither 0 nor 1, truncation, duplicated ranges.
 * The outer message length is fixed up afterwards unless a mutation lies about it on purpose.
 */
import { HEADER_SIZE, ItemType, padded } from '../../server/ttlv/index.js';
import type { Rng } from './rng.js';

interface WireItem {
  readonly offset: number;
  readonly type: number;
  readonly length: number;
  /** Offsets of the enclosing structures, outermost first. */
  readonly ancestors: readonly number[];
}

/** Item boundaries of a valid encoding. */
export function mapItems(bytes: Uint8Array): WireItem[] {
  const out: WireItem[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const visit = (start: number, end: number, ancestors: readonly number[]): void => {
    let p = start;
    while (p + HEADER_SIZE <= end) {
      const type = bytes[p + 3]!;
      const length = view.getUint32(p + 4);
      out.push({ offset: p, type, length, ancestors });
      if (type === ItemType.Structure) visit(p + HEADER_SIZE, p + HEADER_SIZE + length, [...ancestors, p]);
      p += HEADER_SIZE + padded(length);
    }
  };
  visit(0, bytes.length, []);
  return out;
}

export interface ByteMutation {
  bytes: Uint8Array;
  /** The top-level length now lies on purpose: the stream is sent as it is. */
  outerLengthLies: boolean;
}

type ByteMutator = (rng: Rng, bytes: Uint8Array, items: readonly WireItem[]) => ByteMutation | undefined;

const setU32 = (bytes: Uint8Array, at: number, v: number) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, v >>> 0);
const copy = (bytes: Uint8Array) => new Uint8Array(bytes);

/** Splices `insert` in place of bytes [from, to) and corrects the lengths of the item's ancestors. */
function resize(bytes: Uint8Array, item: WireItem, from: number, to: number, insert: Uint8Array, newLength: number): Uint8Array {
  const oldPadded = padded(item.length);
  const out = new Uint8Array(bytes.length - (to - from) + insert.length);
  out.set(bytes.subarray(0, from));
  out.set(insert, from);
  out.set(bytes.subarray(to), from + insert.length);
  setU32(out, item.offset + 4, newLength);
  const delta = insert.length - (to - from);
  // The value was re-padded by the caller; ancestors grow by the padded difference.
  const grow = padded(newLength) - oldPadded;
  if (grow === delta) for (const a of item.ancestors) setU32(out, a + 4, new DataView(out.buffer).getUint32(a + 4) + grow);
  return out;
}

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80], // lone continuation byte
  [0xc0, 0xaf], // overlong '/'
  [0xe0, 0x80, 0xaf], // overlong
  [0xed, 0xa0, 0x80], // UTF-16 surrogate
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xff],
  [0xfe, 0xff],
  [0xc3], // truncated two-byte sequence
  [0xe2, 0x82], // truncated three-byte sequence
];

const mutators: ReadonlyArray<readonly [number, string, ByteMutator]> = [
  [10, 'length', (rng, bytes, items) => {
    const item = rng.pick(items);
    const out = copy(bytes);
    const L = item.length;
    setU32(out, item.offset + 4, rng.pick([0, L - 1, L + 1, L - 8, L + 8, L + 7, 4, 8, 16, 0xffffffff, 0x7fffffff, 0x80000000, 0xfffffff8, bytes.length, rng.u32()]) >>> 0);
    return { bytes: out, outerLengthLies: item.offset === 0 };
  }],
  [6, 'type-byte', (rng, bytes, items) => {
    const item = rng.pick(items);
    const out = copy(bytes);
    out[item.offset + 3] = rng.pick([0x00, 0x0c, 0x0d, 0x7f, 0x80, 0xff, rng.range(1, 11), rng.int(256)]);
    return { bytes: out, outerLengthLies: false };
  }],
  [6, 'tag-bytes', (rng, bytes, items) => {
    const item = rng.pick(items);
    const out = copy(bytes);
    const tag = rng.pick([0x000000, 0xffffff, 0x430000 | rng.int(0x10000), 0x410000 | rng.int(0x10000), 0x550000 | rng.int(0x10000), 0x42ffff, 0x540000 | rng.int(0x10000), rng.int(0x1000000)]);
    out[item.offset] = tag >>> 16;
    out[item.offset + 1] = (tag >>> 8) & 0xff;
    out[item.offset + 2] = tag & 0xff;
    return { bytes: out, outerLengthLies: false };
  }],
  [5, 'padding', (rng, bytes, items) => {
    const padded4 = items.filter((x) => x.type !== ItemType.Structure && x.length % 8 !== 0);
    if (padded4.length === 0) return undefined;
    const item = rng.pick(padded4);
    const out = copy(bytes);
    const padStart = item.offset + HEADER_SIZE + item.length;
    out[rng.range(padStart, item.offset + HEADER_SIZE + padded(item.length) - 1)] = rng.range(1, 255);
    return { bytes: out, outerLengthLies: false };
  }],
  [6, 'bad-utf8', (rng, bytes, items) => {
    const texts = items.filter((x) => x.type === ItemType.TextString);
    if (texts.length === 0) return undefined;
    const item = rng.pick(texts);
    const bad = Uint8Array.from(rng.pick(INVALID_UTF8));
    const valueStart = item.offset + HEADER_SIZE;
    if (item.length >= bad.length && rng.chance(0.6)) {
      const out = copy(bytes);
      out.set(bad, valueStart + rng.int(item.length - bad.length + 1));
      return { bytes: out, outerLengthLies: false };
    }
    // Insert the bad sequence and keep every enclosing length honest.
    const at = valueStart + rng.int(item.length + 1);
    const value = new Uint8Array([...bytes.subarray(valueStart, at), ...bad, ...bytes.subarray(at, valueStart + item.length)]);
    const repadded = new Uint8Array(padded(value.length));
    repadded.set(value);
    return { bytes: resize(bytes, item, valueStart, valueStart + padded(item.length), repadded, value.length), outerLengthLies: false };
  }],
  [3, 'boolean-raw', (rng, bytes, items) => {
    const bools = items.filter((x) => x.type === ItemType.Boolean);
    if (bools.length === 0) return undefined;
    const item = rng.pick(bools);
    const out = copy(bytes);
    out[item.offset + HEADER_SIZE + rng.int(8)] = rng.range(2, 255);
    return { bytes: out, outerLengthLies: false };
  }],
  [5, 'truncate', (rng, bytes) => {
    const cut = rng.range(1, bytes.length - 1);
    return { bytes: bytes.slice(0, cut), outerLengthLies: rng.chance(0.3) };
  }],
  [5, 'bit-flip', (rng, bytes) => {
    const out = copy(bytes);
    for (let k = rng.range(1, 8); k > 0; k--) {
      const at = rng.range(HEADER_SIZE, out.length - 1);
      out[at] = out[at]! ^ (1 << rng.int(8));
    }
    return { bytes: out, outerLengthLies: false };
  }],
  [4, 'insert-bytes', (rng, bytes, items) => {
    const at = rng.chance(0.5) ? rng.pick(items).offset : rng.range(HEADER_SIZE, bytes.length);
    const extra = rng.chance(0.5) ? new Uint8Array(rng.pick([1, 4, 8, 16])) : rng.bytes(rng.range(1, 32));
    return { bytes: new Uint8Array([...bytes.subarray(0, at), ...extra, ...bytes.subarray(at)]), outerLengthLies: false };
  }],
  [4, 'delete-bytes', (rng, bytes) => {
    const from = rng.range(HEADER_SIZE, bytes.length - 1);
    const to = Math.min(bytes.length, from + rng.pick([1, 4, 8, 16, rng.range(1, 64)]));
    return { bytes: new Uint8Array([...bytes.subarray(0, from), ...bytes.subarray(to)]), outerLengthLies: false };
  }],
  [4, 'duplicate-item-bytes', (rng, bytes, items) => {
    // The copy is not counted in its structure's length: the structure overruns into its sibling.
    const inner = items.filter((x) => x.offset > 0);
    if (inner.length === 0) return undefined;
    const item = rng.pick(inner);
    const end = item.offset + HEADER_SIZE + padded(item.length);
    return { bytes: new Uint8Array([...bytes.subarray(0, end), ...bytes.subarray(item.offset, end), ...bytes.subarray(end)]), outerLengthLies: false };
  }],
  [3, 'fill', (rng, bytes) => {
    const out = copy(bytes);
    const from = rng.range(HEADER_SIZE, out.length - 1);
    out.fill(rng.pick([0x00, 0xff, 0x42, 0x80]), from, Math.min(out.length, from + rng.range(1, 64)));
    return { bytes: out, outerLengthLies: false };
  }],
];

const TABLE = mutators.map(([w, name, fn]) => [w, { name, fn }] as const);

/** Applies one to three byte mutations to a valid encoding. */
export function mutateBytes(rng: Rng, encoded: Uint8Array, recipe: string[]): ByteMutation {
  let result: ByteMutation = { bytes: encoded, outerLengthLies: false };
  const rounds = rng.weighted([[7, 1], [2, 2], [1, 3]] as const);
  for (let n = 0; n < rounds && result.bytes.length > HEADER_SIZE; n++) {
    // Item boundaries are only known while the bytes are still valid: later rounds hit raw offsets.
    const items = n === 0 ? mapItems(result.bytes) : [{ offset: 0, type: ItemType.Structure, length: result.bytes.length - HEADER_SIZE, ancestors: [] }];
    for (let attempt = 0; attempt < 4; attempt++) {
      const m = rng.weighted(TABLE);
      const next = m.fn(rng, result.bytes, items);
      if (next && next.bytes.length > 0) {
        result = { bytes: next.bytes, outerLengthLies: result.outerLengthLies || next.outerLengthLies };
        recipe.push(m.name);
        break;
      }
    }
  }
  return result;
}

/**
 * Makes the top-level header announce exactly the bytes that follow (zero padding added), so the
 * server reads one whole message and every error inside it is the decoder's to find.
 */
export function reframe(bytes: Uint8Array): Uint8Array {
  if (bytes.length < HEADER_SIZE) return bytes;
  const length = bytes.length - HEADER_SIZE;
  const out = new Uint8Array(HEADER_SIZE + padded(length));
  out.set(bytes);
  setU32(out, 4, length);
  return out;
}
