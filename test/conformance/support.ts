/** Shared pieces of the profile test cases: the harness and attribute patterns in both encodings. */
import { ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { p, ps, type Pattern } from '../support/ttlv-builder.js';

/** 1.x: Attribute { Attribute Name, Attribute Value } as a pattern. */
export function pattr(name: string, value: Pattern): Pattern {
  return ps(Tag.Attribute, [p(Tag.AttributeName, ItemType.TextString, name), { ...value, tag: Tag.AttributeValue }]);
}

/** The profile files name a test after its version: SKLC-M-1-14 is KMIP 1.4. */
export function caseName(base: string, version: number): string {
  return `${base}-${version}`;
}

export const VERSIONS_1X = [10, 11, 12, 13, 14] as const;

export function payloadOf(response: TtlvItem, item = 0): TtlvItem[] {
  const batch = (response.value as TtlvItem[]).filter((c) => c.tag === Tag.BatchItem)[item]!;
  return ((batch.value as TtlvItem[]).find((c) => c.tag === Tag.ResponsePayload)?.value as TtlvItem[]) ?? [];
}
