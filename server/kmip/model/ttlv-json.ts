/**
 * A compact, lossless, deterministic JSON form of TTLV values, used to store attribute values and
 * to compare them (equal values give equal JSON text). A top-level value is [type, value]; a
 * structure's children are [tag, type, value].
 */
import { Buffer } from 'node:buffer';
import { ItemType, type TtlvItem } from '../../ttlv/index.js';

export type TtlvJsonScalar = number | string | boolean;
export type TtlvJsonChild = [number, number, TtlvJsonScalar | TtlvJsonChild[]];
export type TtlvJson = [number, TtlvJsonScalar | TtlvJsonChild[]];

function valueToJson(item: TtlvItem): TtlvJsonScalar | TtlvJsonChild[] {
  switch (item.type) {
    case ItemType.Structure:
      return item.value.map((c): TtlvJsonChild => [c.tag, c.type, valueToJson(c)]);
    case ItemType.LongInteger:
    case ItemType.BigInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      return item.value.toString();
    case ItemType.ByteString:
      return Buffer.from(item.value).toString('base64');
    default:
      return item.value;
  }
}

export function ttlvToJson(item: TtlvItem): TtlvJson {
  return [item.type, valueToJson(item)];
}

function fromJson(tag: number, type: number, value: unknown): TtlvItem {
  switch (type) {
    case ItemType.Structure:
      if (!Array.isArray(value)) break;
      return { tag, type, value: (value as TtlvJsonChild[]).map(([t, ty, v]) => fromJson(t, ty, v)) };
    case ItemType.Integer:
    case ItemType.Enumeration:
    case ItemType.Interval:
      if (typeof value !== 'number') break;
      return { tag, type, value };
    case ItemType.LongInteger:
    case ItemType.BigInteger:
    case ItemType.DateTime:
    case ItemType.DateTimeExtended:
      if (typeof value !== 'string') break;
      return { tag, type, value: BigInt(value) };
    case ItemType.Boolean:
      if (typeof value !== 'boolean') break;
      return { tag, type, value };
    case ItemType.TextString:
      if (typeof value !== 'string') break;
      return { tag, type, value };
    case ItemType.ByteString:
      if (typeof value !== 'string') break;
      return { tag, type, value: new Uint8Array(Buffer.from(value, 'base64')) };
  }
  throw new Error(`stored TTLV JSON is corrupt (type ${type})`);
}

export function jsonToTtlv(tag: number, json: TtlvJson): TtlvItem {
  return fromJson(tag, json[0], json[1]);
}
