/**
 * Mutations of a request as a TTLV tree: values at their edges, lying Batch Counts and versions,
 * wrong types and tags, items deleted, duplicated, moved from other requests, nesting past the
 * depth limit, a message nested inside itself. The result still encodes as valid TTLV; breaking
 * the encoding itself is byte-mutators.ts's job.
 */
import { ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { BatchErrorContinuationOption, Operation } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import type { Rng } from './rng.js';
import { approximateSize, children, replaceAt, structure, walk, type Located } from './tree.js';

export interface TreeContext {
  /** Other corpus messages: subtrees are borrowed from them. */
  readonly donors: readonly TtlvItem[];
  readonly maxDepth: number;
  readonly maxBatchItems: number;
  /** Mutations try to stay below this; a few go past on purpose. */
  readonly sizeBudget: number;
}

type TreeMutator = (rng: Rng, root: TtlvItem, ctx: TreeContext) => TtlvItem | undefined;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
/** Destroy, Revoke and Archive of the pre-created objects would starve every later input of real objects. */
const SPARED_OPERATIONS = new Set<number>([Operation.Destroy, Operation.Revoke, Operation.Archive]);
const OPERATIONS = Object.values(Operation).filter((o) => !SPARED_OPERATIONS.has(o));
const KNOWN_TAGS = Object.values(Tag);

const int32 = (n: number) => Math.max(INT32_MIN, Math.min(INT32_MAX, Math.trunc(n)));
const int64 = (n: bigint) => (n > INT64_MAX ? INT64_MAX : n < INT64_MIN ? INT64_MIN : n);

function interestingInt(rng: Rng, v: number): number {
  return int32(rng.pick([0, -1, 1, v + 1, v - 1, v * 2, INT32_MAX, INT32_MIN, 64, 65, 1000, 1 << 20, rng.u32() | 0]));
}

function interestingU32(rng: Rng, v: number, tag: number): number {
  let value = rng.pick([0, 1, 2, v + 1, Math.max(0, v - 1), 0xffffffff, 0x80000000, 0x80000001, 0x7fffffff, 0x00ffffff, rng.u32(), rng.int(64)]) >>> 0;
  if (tag === Tag.Operation && SPARED_OPERATIONS.has(value)) value += 2;
  return value;
}

function interestingLong(rng: Rng, v: bigint): bigint {
  return int64(rng.pick([0n, -1n, 1n, v + 1n, v - 1n, INT64_MAX, INT64_MIN, 1n << 53n, (1n << 53n) + 1n, -(1n << 53n) - 1n, BigInt.asIntN(64, BigInt(rng.u32()) << 32n) | BigInt(rng.u32())]));
}

function interestingBig(rng: Rng): bigint {
  const bits = BigInt(rng.pick([1, 63, 64, 65, 2048, 4096, 16_384, rng.range(1, 65_536)]));
  return rng.pick([0n, -1n, 1n, (1n << bits) - 1n, 1n << bits, -(1n << bits), -(1n << bits) - 1n]);
}

function randomAscii(rng: Rng, n: number): string {
  let out = '';
  for (let k = 0; k < n; k++) out += String.fromCharCode(rng.range(0x20, 0x7e));
  return out;
}

function interestingText(rng: Rng, v: string, budget: number): string {
  return rng.pick([
    '',
    ' ',
    `${v}${v}`,
    v.slice(0, Math.max(0, v.length - 1)),
    '\u0000',
    `${v}\u0000hidden`,
    '\u{1F510} ключ 鍵 مفتاح',
    '\u202egnp.exe',
    '\uFEFF',
    '%s%n%x',
    '../../../../etc/passwd',
    'x-' + randomAscii(rng, rng.range(1, 40)),
    'A'.repeat(Math.min(budget, rng.range(256, 8192))),
    randomAscii(rng, rng.range(1, 200)),
  ]);
}

function interestingBytes(rng: Rng, v: Uint8Array, budget: number): Uint8Array {
  return rng.pick([new Uint8Array(0), new Uint8Array(1), rng.bytes(rng.range(1, 64)), rng.bytes(Math.min(budget, rng.range(1024, 8192))), new Uint8Array([...v, ...v]), v.subarray(0, Math.max(0, v.length - 1))]);
}

/** A new value of the item's own type. */
function mutateValue(rng: Rng, item: TtlvItem, budget: number): TtlvItem {
  switch (item.type) {
    case ItemType.Integer:
      return { ...item, value: interestingInt(rng, item.value) };
    case ItemType.Enumeration:
    case ItemType.Interval:
      return { ...item, value: interestingU32(rng, item.value, item.tag) };
    case ItemType.LongInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      return { ...item, value: interestingLong(rng, item.value) };
    case ItemType.BigInteger:
      return { ...item, value: interestingBig(rng) };
    case ItemType.Boolean:
      return { ...item, value: !item.value };
    case ItemType.TextString:
      return { ...item, value: interestingText(rng, item.value, budget) };
    case ItemType.ByteString:
      return { ...item, value: interestingBytes(rng, item.value, budget) };
    case ItemType.Structure:
      return { ...item, value: [] };
  }
}

/** An item of the given type with a plain value. */
function itemOfType(rng: Rng, tag: number, type: number, old: TtlvItem): TtlvItem {
  switch (type) {
    case ItemType.Structure:
      return structure(tag, rng.chance(0.5) ? [] : [{ ...old, tag: old.type === ItemType.Structure ? old.tag : tag }]);
    case ItemType.Integer:
      return { tag, type, value: rng.pick([0, 1, 256, -1]) };
    case ItemType.LongInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      return { tag, type, value: rng.pick([0n, 1n, 1_700_000_000n]) };
    case ItemType.BigInteger:
      return { tag, type, value: rng.pick([0n, 1n, 1n << 64n]) };
    case ItemType.Enumeration:
    case ItemType.Interval:
      return { tag, type, value: rng.pick([0, 1, 2, 3]) };
    case ItemType.Boolean:
      return { tag, type, value: rng.chance(0.5) };
    case ItemType.TextString:
      return { tag, type, value: rng.pick(['', '1', 'AES', 'Symmetric Key']) };
    default:
      return { tag, type: ItemType.ByteString, value: rng.bytes(rng.pick([0, 4, 8, 16])) };
  }
}

function randomTag(rng: Rng, near: readonly TtlvItem[]): number {
  return rng.weighted<() => number>([
    [4, () => rng.pick(KNOWN_TAGS)],
    [2, () => 0x420000 | rng.int(0x10000)],
    [2, () => 0x540000 | rng.int(0x10000)],
    [1, () => 0x420000],
    [1, () => 0x42ffff],
    [2, () => (near.length > 0 ? rng.pick(near).tag : Tag.RequestMessage)],
  ])();
}

const pickWhere = (rng: Rng, all: readonly Located[], keep: (l: Located) => boolean): Located | undefined => {
  const list = all.filter(keep);
  return list.length === 0 ? undefined : rng.pick(list);
};
const nonRoot = (l: Located) => l.path.length > 0;
const isStructure = (l: Located) => l.item.type === ItemType.Structure;
const withTag = (tag: number) => (l: Located) => l.item.tag === tag;

function donorItem(rng: Rng, ctx: TreeContext): TtlvItem {
  const all = walk(rng.pick(ctx.donors));
  return rng.pick(all.length > 1 ? all.slice(1) : all).item;
}

const mutators: ReadonlyArray<readonly [number, string, TreeMutator]> = [
  [30, 'value', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), (x) => x.item.type !== ItemType.Structure);
    return l && replaceAt(root, l.path, mutateValue(rng, l.item, ctx.sizeBudget));
  }],
  [5, 'batch-count-lie', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), withTag(Tag.BatchCount));
    const n = root.type === ItemType.Structure ? root.value.filter((c) => c.tag === Tag.BatchItem).length : 1;
    return l && replaceAt(root, l.path, { tag: Tag.BatchCount, type: ItemType.Integer, value: int32(rng.pick([0, -1, n + 1, n - 1, ctx.maxBatchItems + 1, 1000, INT32_MAX])) });
  }],
  [4, 'protocol-version', (rng, root) => {
    const l = pickWhere(rng, walk(root), (x) => x.item.tag === Tag.ProtocolVersionMajor || x.item.tag === Tag.ProtocolVersionMinor);
    return l && replaceAt(root, l.path, { tag: l.item.tag, type: ItemType.Integer, value: rng.pick([0, 1, 2, 3, 5, 99, -1, INT32_MAX, INT32_MIN]) });
  }],
  [6, 'retype', (rng, root) => {
    const l = pickWhere(rng, walk(root), nonRoot);
    return l && replaceAt(root, l.path, itemOfType(rng, l.item.tag, rng.range(ItemType.Structure, ItemType.DateTimeExtended), l.item));
  }],
  [8, 'retag', (rng, root) => {
    const all = walk(root);
    const l = rng.pick(all);
    return replaceAt(root, l.path, { ...l.item, tag: randomTag(rng, all.map((x) => x.item)) } as TtlvItem);
  }],
  [8, 'delete', (rng, root) => {
    const l = pickWhere(rng, walk(root), nonRoot);
    return l && replaceAt(root, l.path, []);
  }],
  [6, 'duplicate', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), nonRoot);
    if (!l) return undefined;
    const copies = Math.max(2, Math.min(rng.pick([2, 3, 10, 100, 1000]), Math.floor(ctx.sizeBudget / approximateSize(l.item))));
    return replaceAt(root, l.path, Array.from({ length: copies }, () => l.item));
  }],
  [4, 'shuffle', (rng, root) => {
    const l = pickWhere(rng, walk(root), (x) => isStructure(x) && children(x.item).length > 1);
    if (!l) return undefined;
    const kids = [...children(l.item)];
    if (rng.chance(0.3)) kids.reverse();
    else for (let k = kids.length - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      [kids[k], kids[j]] = [kids[j]!, kids[k]!];
    }
    return replaceAt(root, l.path, structure(l.item.tag, kids));
  }],
  [6, 'insert-foreign', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), isStructure);
    if (!l) return undefined;
    const kids = [...children(l.item)];
    kids.splice(rng.int(kids.length + 1), 0, donorItem(rng, ctx));
    return replaceAt(root, l.path, structure(l.item.tag, kids));
  }],
  [5, 'replace-foreign', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), nonRoot);
    return l && replaceAt(root, l.path, donorItem(rng, ctx));
  }],
  [4, 'nest-deep', (rng, root, ctx) => {
    const all = walk(root);
    const l = pickWhere(rng, all, nonRoot);
    // Once is enough: nesting on nesting only grows the recursion of the fuzzer's own code.
    if (!l || all.some((x) => x.depth > 2 * ctx.maxDepth)) return undefined;
    // Right at the limit, just past it, and far past it.
    const levels = rng.pick([ctx.maxDepth - l.depth, ctx.maxDepth - l.depth + 1, ctx.maxDepth - l.depth + 2, 64, 300, 1000]);
    const tags = rng.pick(['same', 'message', 'random'] as const);
    let item = l.item;
    for (let d = 0; d < Math.max(1, levels); d++) {
      const tag = tags === 'same' ? l.item.tag : tags === 'message' ? rng.pick([Tag.RequestMessage, Tag.BatchItem, Tag.RequestPayload]) : randomTag(rng, []);
      item = structure(tag, [item]);
    }
    return replaceAt(root, l.path, item);
  }],
  [3, 'self-embed', (rng, root, ctx) => {
    // A structure that holds a copy of its ancestors: a cycle, as far as a finite message can draw one.
    const l = pickWhere(rng, walk(root), (x) => isStructure(x) && x.path.length > 0);
    if (!l || approximateSize(root) * 3 > ctx.sizeBudget) return undefined;
    const ancestor = walk(root).find((x) => x.path.length === rng.int(l.path.length))?.item ?? root;
    let embedded = ancestor;
    for (let k = rng.range(1, 3); k > 1; k--) embedded = structure(ancestor.tag, [...children(ancestor), embedded]);
    return replaceAt(root, l.path, structure(l.item.tag, [...children(l.item), embedded]));
  }],
  [5, 'operation-swap', (rng, root) => {
    const l = pickWhere(rng, walk(root), withTag(Tag.Operation));
    return l && replaceAt(root, l.path, { tag: Tag.Operation, type: ItemType.Enumeration, value: rng.pick(OPERATIONS) });
  }],
  [4, 'payload-swap', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), withTag(Tag.RequestPayload));
    const donor = pickWhere(rng, walk(rng.pick(ctx.donors)), withTag(Tag.RequestPayload));
    return l && donor && replaceAt(root, l.path, donor.item);
  }],
  [4, 'batch-amplify', (rng, root, ctx) => {
    const items = children(root).filter((c) => c.tag === Tag.BatchItem);
    if (items.length === 0) return undefined;
    const n = rng.pick([2, ctx.maxBatchItems, ctx.maxBatchItems + 1, ctx.maxBatchItems * 3]);
    const honest = rng.chance(0.7);
    const distinctIds = rng.chance(0.8);
    const batch = Array.from({ length: n }, (_, k) => {
      const item = items[k % items.length]!;
      const rest = children(item).filter((c) => c.tag !== Tag.UniqueBatchItemID);
      const id: TtlvItem = { tag: Tag.UniqueBatchItemID, type: ItemType.ByteString, value: new Uint8Array([0xb0, distinctIds ? k & 0xff : 0, distinctIds ? k >> 8 : 0]) };
      return structure(Tag.BatchItem, [rest[0]!, id, ...rest.slice(1)].filter(Boolean));
    });
    const header = children(root).filter((c) => c.tag !== Tag.BatchItem);
    const fixed = honest
      ? header.map((h) => (h.tag === Tag.RequestHeader ? structure(h.tag, children(h).map((c) => (c.tag === Tag.BatchCount ? { tag: c.tag, type: ItemType.Integer, value: n } : c))) : h))
      : header;
    return structure(root.tag, [...fixed, ...batch]);
  }],
  [3, 'empty-structure', (rng, root) => {
    const l = pickWhere(rng, walk(root), (x) => isStructure(x) && children(x.item).length > 0);
    return l && replaceAt(root, l.path, structure(l.item.tag, []));
  }],
  [4, 'header-extra', (rng, root) => {
    const l = pickWhere(rng, walk(root), withTag(Tag.RequestHeader));
    if (!l) return undefined;
    const extra = rng.pick<TtlvItem>([
      { tag: Tag.MaximumResponseSize, type: ItemType.Integer, value: rng.pick([0, 1, 64, 200, -1, INT32_MAX]) },
      { tag: Tag.BatchErrorContinuationOption, type: ItemType.Enumeration, value: rng.pick([...Object.values(BatchErrorContinuationOption), 0, 4]) },
      { tag: Tag.AsynchronousIndicator, type: ItemType.Boolean, value: true },
      { tag: Tag.BatchOrderOption, type: ItemType.Boolean, value: rng.chance(0.5) },
      { tag: Tag.TimeStamp, type: ItemType.DateTime, value: interestingLong(rng, 1_700_000_000n) },
      { tag: Tag.AttestationCapableIndicator, type: ItemType.Boolean, value: true },
      { tag: Tag.ClientCorrelationValue, type: ItemType.TextString, value: 'c'.repeat(rng.pick([0, 1, 4096])) },
    ]);
    const kids = [...children(l.item)];
    kids.splice(rng.int(kids.length + 1), 0, extra);
    return replaceAt(root, l.path, structure(l.item.tag, kids));
  }],
  [3, 'batch-item-id', (rng, root) => {
    const l = pickWhere(rng, walk(root), withTag(Tag.BatchItem));
    if (!l) return undefined;
    const kids = children(l.item).filter((c) => c.tag !== Tag.UniqueBatchItemID);
    const id = rng.pick([new Uint8Array(0), rng.bytes(rng.pick([1, 8, 64, 4096]))]);
    if (rng.chance(0.3)) return replaceAt(root, l.path, structure(l.item.tag, kids));
    kids.splice(rng.int(kids.length + 1), 0, { tag: Tag.UniqueBatchItemID, type: ItemType.ByteString, value: id });
    return replaceAt(root, l.path, structure(l.item.tag, kids));
  }],
  [2, 'many-children', (rng, root, ctx) => {
    const l = pickWhere(rng, walk(root), (x) => nonRoot(x) && x.item.type !== ItemType.Structure);
    if (!l) return undefined;
    const copies = Math.min(rng.pick([100, 1000, 5000]), Math.floor(ctx.sizeBudget / 16));
    return replaceAt(root, l.path, Array.from({ length: copies }, () => l.item));
  }],
];

const TABLE = mutators.map(([w, name, fn]) => [w, { name, fn }] as const);

/** Applies one to four tree mutations; returns the new tree and their names. */
export function mutateTree(rng: Rng, seed: TtlvItem, ctx: TreeContext, recipe: string[]): TtlvItem {
  let root = seed;
  const rounds = rng.weighted([[6, 1], [3, 2], [1, 4]] as const);
  for (let n = 0; n < rounds; n++) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const m = rng.weighted(TABLE);
      const next = m.fn(rng, root, ctx);
      if (next && approximateSize(next) < ctx.sizeBudget * 4) {
        root = next;
        recipe.push(m.name);
        break;
      }
    }
  }
  return root;
}
