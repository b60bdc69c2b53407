/** Paths into TTLV trees and copy-on-write edits, so a mutation never changes the corpus seed it started from. */
import { ItemType, type TtlvItem } from '../../server/ttlv/index.js';

export interface Located {
  /** Child indexes from the root; empty for the root itself. */
  readonly path: readonly number[];
  readonly item: TtlvItem;
  readonly depth: number;
}

export function children(item: TtlvItem): readonly TtlvItem[] {
  return item.type === ItemType.Structure ? item.value : [];
}

/** Every item of the tree, root first (depth-first). */
export function walk(root: TtlvItem): Located[] {
  const out: Located[] = [];
  const visit = (item: TtlvItem, path: number[], depth: number): void => {
    out.push({ path, item, depth });
    children(item).forEach((c, n) => visit(c, [...path, n], depth + 1));
  };
  visit(root, [], 1);
  return out;
}

/** Replaces the item at `path` with `replacement` (none: removed; several: spliced in). */
export function replaceAt(root: TtlvItem, path: readonly number[], replacement: TtlvItem | readonly TtlvItem[]): TtlvItem {
  const list = Array.isArray(replacement) ? (replacement as readonly TtlvItem[]) : [replacement as TtlvItem];
  if (path.length === 0) {
    if (list.length !== 1) throw new Error('the root must stay one item');
    return list[0]!;
  }
  const [head, ...rest] = path;
  const kids = [...children(root)];
  if (rest.length === 0) kids.splice(head!, 1, ...list);
  else kids[head!] = replaceAt(kids[head!]!, rest, replacement);
  return { tag: root.tag, type: ItemType.Structure, value: kids };
}

export function structure(tag: number, value: readonly TtlvItem[]): TtlvItem {
  return { tag, type: ItemType.Structure, value };
}

/** Rough wire size, to keep mutations from building messages far beyond any limit. */
export function approximateSize(item: TtlvItem): number {
  switch (item.type) {
    case ItemType.Structure:
      return item.value.reduce((n, c) => n + approximateSize(c), 8);
    case ItemType.TextString:
      return 16 + item.value.length * 3;
    case ItemType.ByteString:
      return 16 + item.value.length;
    case ItemType.BigInteger:
      return 16 + Math.ceil(item.value.toString(16).length / 2);
    default:
      return 16;
  }
}
