/**
 * Adjust Attribute (2.x §6.1.3): increments, decrements or negates one attribute's value in place.
 * Increment and Decrement apply to Integer, Long Integer, Big Integer, Interval, Date-Time and
 * Date-Time Extended values (by 1, 1 second or 1 microsecond unless an Adjustment Value says how
 * much); Negate to Integer, Long Integer, Big Integer and Boolean (2.1 §11.1). An absent attribute
 * counts as 0 or False; one with several instances is refused (Multi Valued Attribute), and so are
 * the attributes a client may not change (Read Only Attribute).
 *
 * Of this server's attributes that leaves the life-cycle dates (Activation, Process Start, Protect
 * Stop and Deactivation Date, under the same state rules as Modify Attribute), Sensitive and
 * Extractable (Negate), and the clients' custom x- attributes of those types. Any other value type
 * is Invalid Data Type; a result outside its type's range, or a date nothing could show, Numeric Range.
 */
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { invalidField, KmipError } from '../errors.js';
import { AdjustmentType, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { attributeDef, isCustomName, MAX_DATE_SECONDS, MIN_DATE_SECONDS, unsupportedAttribute, type AttributeDef } from '../model/attributes.js';
import { enumeration, opt, raw, req, STORAGE_CONTEXT, struct, text } from '../schema.js';
import { AttributeReferenceCodec } from './attribute-io.js';
import { loadObject, readOnlyAttribute, resolveUid, saveObject } from './common.js';
import { checkDateRule } from './modify-attribute.js';
import { defineOperation } from './types.js';

const Request = struct('Adjust Attribute Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  attributeReference: req(Tag.AttributeReference, AttributeReferenceCodec),
  adjustmentType: req(Tag.AdjustmentType, enumeration('AdjustmentType')),
  adjustmentValue: opt(Tag.AdjustmentValue, raw),
});
const Response = struct('Adjust Attribute Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

/** Inclusive bounds of each numeric type the adjustment keeps its result in. */
const RANGES: ReadonlyMap<number, readonly [bigint, bigint]> = new Map([
  [ItemType.Integer, [-(2n ** 31n), 2n ** 31n - 1n]],
  [ItemType.LongInteger, [-(2n ** 63n), 2n ** 63n - 1n]],
  // A Big Integer attribute grows by the Adjustment Value at most; the bound keeps stored values key-sized.
  [ItemType.BigInteger, [-(2n ** 8192n), 2n ** 8192n]],
  [ItemType.Interval, [0n, 2n ** 32n - 1n]],
  // The dates an object may hold (model/attributes.ts): what every place that shows them can show.
  [ItemType.DateTime, [BigInt(MIN_DATE_SECONDS), BigInt(MAX_DATE_SECONDS)]],
  [ItemType.DateTimeExtended, [BigInt(MIN_DATE_SECONDS) * 1_000_000n, BigInt(MAX_DATE_SECONDS) * 1_000_000n + 999_999n]],
]);
const SIGNED = new Set<number>([ItemType.Integer, ItemType.LongInteger, ItemType.BigInteger]);

const invalidDataType = (msg: string): KmipError => new KmipError(ResultReason.InvalidDataType, msg);

function numeric(item: TtlvItem): bigint {
  switch (item.type) {
    case ItemType.Integer:
    case ItemType.Interval:
      return BigInt(item.value);
    case ItemType.LongInteger:
    case ItemType.BigInteger:
      return item.value;
    default:
      throw invalidDataType('Adjustment Value must be an Integer, Long Integer, Big Integer or Interval');
  }
}

function withValue(type: number, value: bigint): TtlvItem {
  const range = RANGES.get(type)!;
  if (value < range[0] || value > range[1]) throw new KmipError(ResultReason.NumericRange, 'the adjusted value is out of range for its type');
  const small = type === ItemType.Integer || type === ItemType.Interval;
  return { tag: Tag.AttributeValue, type, value: small ? Number(value) : value } as TtlvItem;
}

/** The value after the adjustment, as an item of the same type. */
function adjusted(current: TtlvItem, adjustment: number, by: TtlvItem | undefined): TtlvItem {
  if (adjustment === AdjustmentType.Negate) {
    if (by !== undefined) throw invalidField('Negate takes no Adjustment Value');
    if (current.type === ItemType.Boolean) return { tag: Tag.AttributeValue, type: ItemType.Boolean, value: !current.value };
    if (!SIGNED.has(current.type)) throw invalidDataType('Negate applies to Integer, Long Integer, Big Integer and Boolean values');
    return withValue(current.type, -numeric(current));
  }
  if (!RANGES.has(current.type)) throw invalidDataType('Increment and Decrement apply to numbers, intervals and dates');
  const step = by === undefined ? 1n : numeric(by);
  const value = current.type === ItemType.DateTime || current.type === ItemType.DateTimeExtended ? (current.value as bigint) : numeric(current);
  return withValue(current.type, adjustment === AdjustmentType.Increment ? value + step : value - step);
}

/** What an absent attribute counts as: 0 of its type, or False (2.x §6.1.3); undefined when its type is unknown. */
function zeroOf(type: number | undefined): TtlvItem | undefined {
  if (type === ItemType.Boolean) return { tag: Tag.AttributeValue, type, value: false };
  if (type === undefined || !RANGES.has(type)) return undefined;
  return withValue(type, 0n);
}

/** The stored value as an item: custom attributes keep theirs, the others are encoded by their codec. */
function currentItem(def: AttributeDef, name: string, value: unknown): TtlvItem {
  return isCustomName(name) ? (value as TtlvItem) : def.codec.encode(Tag.AttributeValue, value, STORAGE_CONTEXT);
}

function adjustedValue(ctx: OperationContext, name: string, def: AttributeDef, current: unknown, present: boolean, adjustment: number, by: TtlvItem | undefined): unknown {
  // An absent custom attribute has no type but the one the Adjustment Value shows.
  const start = present ? currentItem(def, name, current) : zeroOf(isCustomName(name) ? by?.type : def.codec.itemType);
  if (!start) {
    if (isCustomName(name)) throw invalidField(`attribute ${name} is not set and no Adjustment Value shows its type`);
    throw invalidDataType(`attribute ${name} is not a number, interval, date or Boolean`);
  }
  const item = adjusted(start, adjustment, by);
  return isCustomName(name) ? item : def.codec.decode(item, ctx);
}

export const adjustAttribute = defineOperation({
  operation: Operation.AdjustAttribute,
  name: 'Adjust Attribute',
  since: 20,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const name = req.attributeReference;
    const def = attributeDef(name, ctx.version);
    if (!def) throw unsupportedAttribute(name);
    if (!def.clientModifies) throw readOnlyAttribute(name);
    const obj = await loadObject(ctx, uid, true);
    const instances = obj.instances(name);
    if (instances.length > 1) throw new KmipError(ResultReason.MultiValuedAttribute, `attribute ${name} has several instances`);
    const value = adjustedValue(ctx, name, def, instances[0]?.value, instances.length === 1, req.adjustmentType, req.adjustmentValue);
    checkDateRule(name, obj.state);
    if (instances.length === 1) obj.modify(name, instances[0]!.index, value);
    else obj.add(name, value);
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
