import { TAG_TABLE } from './generated/tags.js';

const NAMES = new Map<number, string>(TAG_TABLE.map(([tag, name]) => [tag, name]));

/** "UniqueIdentifier" for 0x420094; hex for tags the spec does not name (extensions). */
export function tagName(tag: number): string {
  return NAMES.get(tag) ?? `0x${tag.toString(16).padStart(6, '0')}`;
}
