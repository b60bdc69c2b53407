/** Adjust Attribute and Set Endpoint Role (2.x), and what Query says of them, through the real batch executor. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { AdjustmentType, CryptographicAlgorithm, EndpointRole, ObjectType, Operation, QueryFunction, ResultReason, ResultStatus, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import type { DecodedItem } from '../../support/kmip-client.js';
import { bi, bool, dt, e, i, iv, li, s, t } from '../../support/ttlv-builder.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const now = () => Math.floor(Date.now() / 1000);
const call = async (operation: number, children: TtlvItem[], version = 21): Promise<DecodedItem> => (await h.run([{ operation, payload: s(Tag.RequestPayload, children) }], { version })).items[0]!;

/** A vendor (custom) attribute x-<name> in its 2.x form. */
const custom = (name: string, value: TtlvItem): TtlvItem => s(Tag.Attribute, [t(Tag.VendorIdentification, 'x'), t(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue } as TtlvItem]);
const customRef = (name: string): TtlvItem => s(Tag.AttributeReference, [t(Tag.VendorIdentification, 'x'), t(Tag.AttributeName, name)]);
const tagRef = (tag: number): TtlvItem => e(Tag.AttributeReference, tag);

async function createKey(extra: TtlvItem[] = []): Promise<string> {
  const r = await call(Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 256), ...extra])]);
  expect(r.resultStatus, r.resultMessage).toBe(ResultStatus.Success);
  return r.payload!['uniqueIdentifier'] as string;
}

const adjust = (uid: string, reference: TtlvItem, type: number, value?: TtlvItem, version = 21) =>
  call(Operation.AdjustAttribute, [t(Tag.UniqueIdentifier, uid), reference, e(Tag.AdjustmentType, type), ...(value ? [{ ...value, tag: Tag.AdjustmentValue } as TtlvItem] : [])], version);

async function valueOf(uid: string, reference: TtlvItem): Promise<TtlvItem | undefined> {
  const r = await call(Operation.GetAttributes, [t(Tag.UniqueIdentifier, uid), reference]);
  expect(r.resultStatus).toBe(ResultStatus.Success);
  const item = (r.payload!['attributesV2'] as TtlvItem[])[0];
  if (item?.tag === Tag.Attribute) return (item.value as TtlvItem[]).find((c) => c.tag === Tag.AttributeValue);
  return item;
}

describe('Adjust Attribute', () => {
  it('increments and decrements a custom Integer by 1 or by the Adjustment Value, and negates it', async () => {
    const uid = await createKey([custom('counter', i(0, 10))]);
    const ok = async (r: Promise<DecodedItem>) => {
      const item = await r;
      expect(item.resultStatus, item.resultMessage).toBe(ResultStatus.Success);
      expect(item.payload!['uniqueIdentifier']).toBe(uid);
    };
    await ok(adjust(uid, customRef('counter'), AdjustmentType.Increment));
    expect((await valueOf(uid, customRef('counter')))!.value).toBe(11);
    await ok(adjust(uid, customRef('counter'), AdjustmentType.Increment, i(0, 5)));
    expect((await valueOf(uid, customRef('counter')))!.value).toBe(16);
    await ok(adjust(uid, customRef('counter'), AdjustmentType.Decrement, li(0, 20n)));
    expect((await valueOf(uid, customRef('counter')))!.value).toBe(-4);
    await ok(adjust(uid, customRef('counter'), AdjustmentType.Negate));
    const after = (await valueOf(uid, customRef('counter')))!;
    expect(after.type).toBe(ItemType.Integer);
    expect(after.value).toBe(4);
  });

  it('keeps each numeric type, and refuses a result outside its range (Numeric Range)', async () => {
    const uid = await createKey([custom('long', li(0, 5n)), custom('big', bi(0, 2n ** 100n)), custom('wait', iv(0, 60)), custom('top', i(0, 2 ** 31 - 1))]);
    expect((await adjust(uid, customRef('long'), AdjustmentType.Decrement, li(0, 7n))).resultStatus).toBe(ResultStatus.Success);
    expect(await valueOf(uid, customRef('long'))).toMatchObject({ type: ItemType.LongInteger, value: -2n });
    expect((await adjust(uid, customRef('big'), AdjustmentType.Increment)).resultStatus).toBe(ResultStatus.Success);
    expect(await valueOf(uid, customRef('big'))).toMatchObject({ type: ItemType.BigInteger, value: 2n ** 100n + 1n });
    expect((await adjust(uid, customRef('wait'), AdjustmentType.Increment, iv(0, 30))).resultStatus).toBe(ResultStatus.Success);
    expect(await valueOf(uid, customRef('wait'))).toMatchObject({ type: ItemType.Interval, value: 90 });
    expect((await adjust(uid, customRef('wait'), AdjustmentType.Decrement, iv(0, 91))).resultReason).toBe(ResultReason.NumericRange);
    expect((await adjust(uid, customRef('top'), AdjustmentType.Increment)).resultReason).toBe(ResultReason.NumericRange);
    expect((await adjust(uid, customRef('wait'), AdjustmentType.Negate)).resultReason).toBe(ResultReason.InvalidDataType);
    expect(await valueOf(uid, customRef('top'))).toMatchObject({ value: 2 ** 31 - 1 });
  });

  it('counts an absent attribute as 0, of the type the Adjustment Value shows', async () => {
    const uid = await createKey();
    expect((await adjust(uid, customRef('fresh'), AdjustmentType.Increment, li(0, 3n))).resultStatus).toBe(ResultStatus.Success);
    expect(await valueOf(uid, customRef('fresh'))).toMatchObject({ type: ItemType.LongInteger, value: 3n });
    expect((await adjust(uid, customRef('unknown'), AdjustmentType.Negate)).resultReason).toBe(ResultReason.InvalidField);
  });

  it('moves a life-cycle date, by seconds, under the state rules of Modify Attribute', async () => {
    const later = now() + 86_400;
    const uid = await createKey([dt(Tag.ActivationDate, later)]);
    expect((await adjust(uid, tagRef(Tag.ActivationDate), AdjustmentType.Decrement, iv(0, 3600))).resultStatus).toBe(ResultStatus.Success);
    expect((await valueOf(uid, tagRef(Tag.ActivationDate)))!.value).toBe(BigInt(later - 3600));
    expect((await adjust(uid, tagRef(Tag.ActivationDate), AdjustmentType.Increment)).resultStatus).toBe(ResultStatus.Success);
    expect((await valueOf(uid, tagRef(Tag.ActivationDate)))!.value).toBe(BigInt(later - 3599));
    const active = await createKey([dt(Tag.ActivationDate, now() - 60)]);
    expect((await valueOf(active, tagRef(Tag.State)))!.value).toBe(State.Active);
    expect((await adjust(active, tagRef(Tag.ActivationDate), AdjustmentType.Increment)).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
    expect((await adjust(uid, tagRef(Tag.DeactivationDate), AdjustmentType.Decrement)).resultReason).toBe(ResultReason.NumericRange);
  });

  it('negates a Boolean (Sensitive), and increments none', async () => {
    const uid = await createKey();
    expect((await adjust(uid, tagRef(Tag.Sensitive), AdjustmentType.Negate)).resultStatus).toBe(ResultStatus.Success);
    expect((await valueOf(uid, tagRef(Tag.Sensitive)))!.value).toBe(true);
    expect((await adjust(uid, tagRef(Tag.Sensitive), AdjustmentType.Increment)).resultReason).toBe(ResultReason.InvalidDataType);
    expect((await adjust(uid, tagRef(Tag.Sensitive), AdjustmentType.Negate, i(0, 1))).resultReason).toBe(ResultReason.InvalidField);
  });

  it('refuses read-only, non-numeric, multi-instance and unknown attributes, and leaves them as they were', async () => {
    const uid = await createKey([custom('label', t(0, 'text')), t(Tag.Description, 'words'), custom('twice', i(0, 1)), custom('twice', i(0, 2))]);
    expect((await adjust(uid, tagRef(Tag.CryptographicLength), AdjustmentType.Increment)).resultReason).toBe(ResultReason.ReadOnlyAttribute);
    expect((await adjust(uid, tagRef(Tag.InitialDate), AdjustmentType.Increment)).resultReason).toBe(ResultReason.ReadOnlyAttribute);
    expect((await adjust(uid, tagRef(Tag.State), AdjustmentType.Increment)).resultReason).toBe(ResultReason.ReadOnlyAttribute);
    expect((await adjust(uid, tagRef(Tag.Description), AdjustmentType.Increment)).resultReason).toBe(ResultReason.InvalidDataType);
    expect((await adjust(uid, customRef('label'), AdjustmentType.Increment)).resultReason).toBe(ResultReason.InvalidDataType);
    expect((await adjust(uid, tagRef(Tag.UsageLimits), AdjustmentType.Increment)).resultReason).toBe(ResultReason.InvalidDataType);
    expect((await adjust(uid, customRef('twice'), AdjustmentType.Increment)).resultReason).toBe(ResultReason.MultiValuedAttribute);
    const vendor = s(Tag.AttributeReference, [t(Tag.VendorIdentification, 'acme'), t(Tag.AttributeName, 'n')]);
    expect((await adjust(uid, vendor, AdjustmentType.Increment)).resultReason).toBe(ResultReason.UnsupportedAttribute);
    expect((await adjust(uid, customRef('label'), AdjustmentType.Increment, t(0, '1'))).resultReason).toBe(ResultReason.InvalidDataType);
    expect((await valueOf(uid, tagRef(Tag.CryptographicLength)))!.value).toBe(256);
    expect((await valueOf(uid, tagRef(Tag.Description)))!.value).toBe('words');
  });

  it('needs an object of the caller, and KMIP 2.0 or later', async () => {
    const uid = await createKey([custom('n', i(0, 1))]);
    const other = await h.otherTenant();
    const r = await h.run([{ operation: Operation.AdjustAttribute, payload: s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), customRef('n'), e(Tag.AdjustmentType, AdjustmentType.Increment)]) }], { version: 21 }, other);
    expect(r.items[0]!.resultReason).toBe(ResultReason.ObjectNotFound);
    expect((await adjust(uid, customRef('n'), AdjustmentType.Increment, undefined, 14)).resultReason).toBe(ResultReason.OperationNotSupported);
    expect((await valueOf(uid, customRef('n')))!.value).toBe(1);
  });
});

describe('Set Endpoint Role', () => {
  const setRole = (role: number, version = 21) => call(Operation.SetEndpointRole, [e(Tag.EndpointRole, role)], version);

  it('keeps the server role, the one this server plays, and answers the role applied', async () => {
    const r = await setRole(EndpointRole.Server);
    expect(r.resultStatus).toBe(ResultStatus.Success);
    expect(r.payload!['endpointRole']).toBe(EndpointRole.Server);
  });

  it('refuses the client role (Feature Not Supported): this server sends no requests', async () => {
    expect((await setRole(EndpointRole.Client)).resultReason).toBe(ResultReason.FeatureNotSupported);
    expect((await setRole(0x80000001)).resultReason).toBe(ResultReason.FeatureNotSupported);
    expect((await call(Operation.SetEndpointRole, [])).resultReason).toBe(ResultReason.MissingData);
  });

  it('does not exist before KMIP 2.0', async () => {
    expect((await setRole(EndpointRole.Server, 14)).resultReason).toBe(ResultReason.OperationNotSupported);
  });
});

describe('Query lists the new operations for the versions that define them', () => {
  const operations = async (version: number) => (await call(Operation.Query, [e(Tag.QueryFunction, QueryFunction.QueryOperations)], version)).payload!['operations'] as number[];

  it('2.1: Adjust Attribute, Export, Import, Set Endpoint Role; 1.4: Export and Import only; 1.3: none', async () => {
    expect(await operations(21)).toEqual(expect.arrayContaining([Operation.AdjustAttribute, Operation.Export, Operation.Import, Operation.SetEndpointRole]));
    const v14 = await operations(14);
    expect(v14).toEqual(expect.arrayContaining([Operation.Export, Operation.Import]));
    expect(v14).not.toContain(Operation.AdjustAttribute);
    expect(v14).not.toContain(Operation.SetEndpointRole);
    const v13 = await operations(13);
    expect(v13).not.toContain(Operation.Export);
    expect(v13).not.toContain(Operation.Import);
  });
});
