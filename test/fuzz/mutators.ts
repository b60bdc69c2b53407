/**
 * Builds fuzz input number `index` of a run from the run's seed alone: which corpus request it
 * starts from, which tree and byte mutations it gets, which identity sends it and how its bytes are
 * split over TLS records. Some inputs are no KMIP at all (random frames, random TTLV, raw bytes).
 */
import { encodeTtlv, HEADER_SIZE, ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { mutateBytes, reframe } from './byte-mutators.js';
import type { Seed } from './corpus.js';
import { Rng } from './rng.js';
import { mutateTree, type TreeContext } from './tree-mutators.js';

/** Who sends an input: a registered client, a client with an unknown certificate, or none at all. */
export type Principal = 'registered' | 'unregistered' | 'anonymous';

export interface FuzzInput {
  readonly index: number;
  readonly principal: Principal;
  /** Everything written to the connection for this input, in order. */
  readonly bytes: Uint8Array;
  /** Offsets where one write ends and the next begins (several TLS records). */
  readonly splits: readonly number[];
  /** What was done to the seed, for reports. */
  readonly recipe: readonly string[];
}

export interface InputLimits {
  readonly maxMessageSize: number;
  readonly maxDepth: number;
  readonly maxBatchItems: number;
}

const KNOWN_TAGS = Object.values(Tag);

export class InputGenerator {
  private readonly encoded: Uint8Array[];
  private readonly weights: ReadonlyArray<readonly [number, number]>;
  private readonly treeContext: TreeContext;

  constructor(
    private readonly corpus: readonly Seed[],
    private readonly seed: number,
    limits: InputLimits,
  ) {
    this.encoded = corpus.map((s) => encodeTtlv(s.message));
    this.weights = corpus.map((s, n) => [s.weight, n] as const);
    this.treeContext = {
      donors: corpus.map((s) => s.message),
      maxDepth: limits.maxDepth,
      maxBatchItems: limits.maxBatchItems,
      sizeBudget: Math.floor(limits.maxMessageSize / 4),
    };
  }

  generate(index: number): FuzzInput {
    const rng = Rng.forInput(this.seed, index);
    const recipe: string[] = [];
    const principal = rng.weighted<Principal>([[7, 'registered'], [2, 'unregistered'], [1, 'anonymous']]);
    const kind = rng.weighted([
      [36, 'tree'],
      [26, 'bytes'],
      [18, 'tree+bytes'],
      [5, 'valid'],
      [5, 'pipeline'],
      [4, 'random-frame'],
      [4, 'random-ttlv'],
      // Raw bytes nearly always end the connection; a reconnect costs more than most inputs.
      [2, 'random-stream'],
    ] as const);
    recipe.push(kind);
    let bytes: Uint8Array;
    switch (kind) {
      case 'valid':
        bytes = this.encoded[this.pickSeed(rng, recipe)]!;
        break;
      case 'tree':
        bytes = this.treeInput(rng, recipe);
        break;
      case 'bytes':
      case 'tree+bytes': {
        const start = kind === 'bytes' ? this.encoded[this.pickSeed(rng, recipe)]! : this.treeInput(rng, recipe);
        const mutated = mutateBytes(rng, start, recipe);
        bytes = mutated.outerLengthLies ? mutated.bytes : reframe(mutated.bytes);
        break;
      }
      case 'pipeline': {
        const frames = Array.from({ length: rng.range(2, 5) }, () => (rng.chance(0.5) ? this.encoded[this.pickSeed(rng, recipe)]! : this.treeInput(rng, recipe)));
        bytes = concat(frames);
        break;
      }
      case 'random-frame':
        bytes = reframe(new Uint8Array([0x42, 0x00, 0x78, 0x01, 0, 0, 0, 0, ...rng.bytes(rng.range(0, 2048))]));
        break;
      case 'random-ttlv':
        bytes = encodeTtlv({ tag: Tag.RequestMessage, type: ItemType.Structure, value: randomChildren(rng, 1) });
        break;
      case 'random-stream':
        bytes = rng.bytes(rng.range(1, 2048));
        break;
    }
    return { index, principal, bytes, splits: splitPoints(rng, bytes.length), recipe };
  }

  private pickSeed(rng: Rng, recipe: string[]): number {
    const n = rng.weighted(this.weights);
    recipe.push(this.corpus[n]!.name);
    return n;
  }

  private treeInput(rng: Rng, recipe: string[]): Uint8Array {
    const seed = this.corpus[this.pickSeed(rng, recipe)]!;
    const tree = mutateTree(rng, seed.message, this.treeContext, recipe);
    try {
      return encodeTtlv(tree);
    } catch {
      // A value the encoder refuses (it validates ranges) leaves the seed as it was.
      recipe.push('unencodable');
      return encodeTtlv(seed.message);
    }
  }
}

/** Mostly one write; sometimes several records, or a header dribbled byte by byte. */
function splitPoints(rng: Rng, length: number): number[] {
  if (length < 2) return [];
  const style = rng.weighted([[80, 'whole'], [15, 'pieces'], [5, 'header-bytes']] as const);
  if (style === 'whole') return [];
  if (style === 'header-bytes') return Array.from({ length: Math.min(length - 1, HEADER_SIZE + 1) }, (_, k) => k + 1);
  const points = new Set<number>();
  for (let k = rng.range(1, 5); k > 0; k--) points.add(rng.range(1, length - 1));
  return [...points].sort((a, b) => a - b);
}

function randomChildren(rng: Rng, depth: number): TtlvItem[] {
  return Array.from({ length: rng.range(0, depth > 4 ? 2 : 6) }, () => randomItem(rng, depth + 1));
}

/** A random but well-encoded item: known tags, any type, any value. */
function randomItem(rng: Rng, depth: number): TtlvItem {
  const tag = rng.chance(0.8) ? rng.pick(KNOWN_TAGS) : 0x540000 | rng.int(0x10000);
  const type = depth > 6 ? rng.range(2, 11) : rng.range(1, 11);
  switch (type) {
    case ItemType.Structure:
      return { tag, type, value: randomChildren(rng, depth) };
    case ItemType.Integer:
      return { tag, type, value: rng.u32() | 0 };
    case ItemType.LongInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      return { tag, type, value: BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) };
    case ItemType.BigInteger:
      return { tag, type, value: BigInt.asIntN(128, (BigInt(rng.u32()) << 96n) | BigInt(rng.u32())) };
    case ItemType.Enumeration:
    case ItemType.Interval:
      return { tag, type, value: rng.chance(0.5) ? rng.int(32) : rng.u32() };
    case ItemType.Boolean:
      return { tag, type, value: rng.chance(0.5) };
    case ItemType.TextString:
      return { tag, type, value: String.fromCharCode(...Array.from({ length: rng.int(24) }, () => rng.range(0x20, 0x7e))) };
    default:
      return { tag, type: ItemType.ByteString, value: rng.bytes(rng.int(24)) };
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
