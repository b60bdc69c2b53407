/**
 * Build KMIP messages item by item, the way the profile test cases write them, and match responses
 * field by field: tag, type and value of every item in order, with placeholders for what a server
 * chooses (identifiers, timestamps, key bytes).
 */
import { expect } from 'vitest';
import { decodeTtlv, encodeTtlv, ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import type { Principal } from '../../server/kmip/context.js';
import type { BatchExecutor } from '../../server/kmip/batch.js';

type Value = TtlvItem['value'];

export const s = (tag: number, children: TtlvItem[]): TtlvItem => ({ tag, type: ItemType.Structure, value: children });
export const i = (tag: number, v: number): TtlvItem => ({ tag, type: ItemType.Integer, value: v });
export const li = (tag: number, v: bigint): TtlvItem => ({ tag, type: ItemType.LongInteger, value: v });
export const bi = (tag: number, v: bigint): TtlvItem => ({ tag, type: ItemType.BigInteger, value: v });
export const e = (tag: number, v: number): TtlvItem => ({ tag, type: ItemType.Enumeration, value: v });
export const bool = (tag: number, v: boolean): TtlvItem => ({ tag, type: ItemType.Boolean, value: v });
export const t = (tag: number, v: string): TtlvItem => ({ tag, type: ItemType.TextString, value: v });
export const b = (tag: number, v: Uint8Array | string): TtlvItem => ({ tag, type: ItemType.ByteString, value: typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'hex')) : v });
export const dt = (tag: number, seconds: number): TtlvItem => ({ tag, type: ItemType.DateTime, value: BigInt(seconds) });
export const iv = (tag: number, v: number): TtlvItem => ({ tag, type: ItemType.Interval, value: v });

/** 1.x attribute: Attribute { Attribute Name, Attribute Value }. */
export const attr = (name: string, value: TtlvItem): TtlvItem => s(Tag.Attribute, [t(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue } as TtlvItem]);
export const name14 = (value: string): TtlvItem => s(Tag.AttributeValue, [t(Tag.NameValue, value), e(Tag.NameType, 1)]);
export const nameItem = (value: string): TtlvItem => s(Tag.Name, [t(Tag.NameValue, value), e(Tag.NameType, 1)]);

export interface RequestItem {
  readonly operation: number;
  readonly payload: TtlvItem[];
  readonly id?: string;
}

export function requestMessage(version: number, items: readonly RequestItem[], header: TtlvItem[] = []): TtlvItem {
  return s(Tag.RequestMessage, [
    s(Tag.RequestHeader, [
      s(Tag.ProtocolVersion, [i(Tag.ProtocolVersionMajor, Math.floor(version / 10)), i(Tag.ProtocolVersionMinor, version % 10)]),
      ...header,
      i(Tag.BatchCount, items.length),
    ]),
    ...items.map((it) =>
      s(Tag.BatchItem, [e(Tag.Operation, it.operation), ...(it.id ? [b(Tag.UniqueBatchItemID, it.id)] : []), s(Tag.RequestPayload, it.payload)]),
    ),
  ]);
}

// ---------------------------------------------------------------- matching

const ANY_MARK: unique symbol = Symbol('any');
const NOW_MARK: unique symbol = Symbol('now');
interface Capture {
  readonly capture: string;
}
interface Ref {
  readonly ref: string;
}
type Special = typeof ANY_MARK | typeof NOW_MARK | Capture | Ref;
export interface Pattern {
  readonly tag: number;
  readonly type: number;
  readonly value: Value | Pattern[] | Special;
}

export const ANY: typeof ANY_MARK = ANY_MARK;
/** A DateTime within two minutes of the test's clock. */
export const NOW: typeof NOW_MARK = NOW_MARK;
export const capture = (name: string): Capture => ({ capture: name });
export const ref = (name: string): Ref => ({ ref: name });
export const p = (tag: number, type: number, value: Pattern['value']): Pattern => ({ tag, type, value });
export const ps = (tag: number, children: Pattern[]): Pattern => p(tag, ItemType.Structure, children);

function tagName(tag: number): string {
  return Object.entries(Tag).find(([, v]) => v === tag)?.[0] ?? `0x${tag.toString(16)}`;
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'bigint') return `${v}n`;
  return JSON.stringify(v);
}

export type Captures = Map<string, unknown>;

/** Checks `actual` against `pattern` item by item; fails naming the path of the first difference. */
export function matchTtlv(actual: TtlvItem | undefined, pattern: Pattern | TtlvItem, captures: Captures, path = ''): void {
  const here = `${path}/${tagName(pattern.tag)}`;
  expect(actual, `${here} is missing`).toBeDefined();
  expect(tagName(actual!.tag), `${here}: tag`).toBe(tagName(pattern.tag));
  expect(actual!.type, `${here}: type`).toBe(pattern.type);
  const v = pattern.value as unknown;
  if (v === ANY_MARK) return;
  if (v === NOW_MARK) {
    const seconds = Number(actual!.value);
    expect(Math.abs(seconds - Date.now() / 1000), `${here}: ${seconds} is not now`).toBeLessThan(120);
    return;
  }
  if (typeof v === 'object' && v !== null && 'capture' in v) {
    captures.set((v as Capture).capture, actual!.value);
    return;
  }
  if (typeof v === 'object' && v !== null && 'ref' in v) {
    expect(show(actual!.value), `${here}: not the value captured as ${(v as Ref).ref}`).toBe(show(captures.get((v as Ref).ref)));
    return;
  }
  if (pattern.type === ItemType.Structure) {
    const want = v as Pattern[];
    const got = actual!.value as TtlvItem[];
    const names = (list: Array<{ tag: number }>) => list.map((x) => tagName(x.tag)).join(', ');
    expect(names(got), `${here}: children`).toBe(names(want));
    want.forEach((w, n) => matchTtlv(got[n], w, captures, here));
    return;
  }
  expect(show(actual!.value), `${here}: value`).toBe(show(v));
}

/** Expected batch item of a response. */
export function okItem(operation: number, payload: Pattern[] | undefined, id?: string): Pattern {
  return ps(Tag.BatchItem, [
    p(Tag.Operation, ItemType.Enumeration, operation),
    ...(id ? [p(Tag.UniqueBatchItemID, ItemType.ByteString, new Uint8Array(Buffer.from(id, 'hex')))] : []),
    p(Tag.ResultStatus, ItemType.Enumeration, 0),
    ...(payload ? [ps(Tag.ResponsePayload, payload)] : []),
  ]);
}

export function failedItem(operation: number, reason: number, id?: string, status = 1): Pattern {
  return ps(Tag.BatchItem, [
    p(Tag.Operation, ItemType.Enumeration, operation),
    ...(id ? [p(Tag.UniqueBatchItemID, ItemType.ByteString, new Uint8Array(Buffer.from(id, 'hex')))] : []),
    p(Tag.ResultStatus, ItemType.Enumeration, status),
    p(Tag.ResultReason, ItemType.Enumeration, reason),
    // The message is the server's own wording; the reason is what the profile fixes.
    p(Tag.ResultMessage, ItemType.TextString, ANY),
  ]);
}

/** Sends one request message through the executor and checks the response header and every batch item. */
export async function exchange(
  executor: BatchExecutor,
  principal: Principal,
  version: number,
  items: readonly RequestItem[],
  expected: Pattern[],
  captures: Captures,
  header: TtlvItem[] = [],
): Promise<TtlvItem> {
  const response = decodeTtlv(await executor.execute(encodeTtlv(requestMessage(version, items, header)), principal));
  expect(response.tag).toBe(Tag.ResponseMessage);
  const children = response.value as TtlvItem[];
  const head = children[0]!;
  const headFields = head.value as TtlvItem[];
  matchTtlv(
    headFields.find((f) => f.tag === Tag.ProtocolVersion),
    ps(Tag.ProtocolVersion, [p(Tag.ProtocolVersionMajor, ItemType.Integer, Math.floor(version / 10)), p(Tag.ProtocolVersionMinor, ItemType.Integer, version % 10)]),
    captures,
    '/ResponseHeader',
  );
  matchTtlv(headFields.find((f) => f.tag === Tag.TimeStamp), p(Tag.TimeStamp, ItemType.DateTime, NOW), captures, '/ResponseHeader');
  matchTtlv(headFields.find((f) => f.tag === Tag.BatchCount), p(Tag.BatchCount, ItemType.Integer, expected.length), captures, '/ResponseHeader');
  const batchItems = children.slice(1);
  expect(batchItems.length, 'batch items').toBe(expected.length);
  expected.forEach((want, n) => matchTtlv(batchItems[n], want, captures, `/ResponseMessage[${n}]`));
  return response;
}
