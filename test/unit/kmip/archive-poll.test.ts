/**
 * Archive, Recover, Poll and Cancel through the real batch executor, in 1.4 and 2.1: an archived
 * object is off-line for every operation but Recover, Recover brings it back unchanged, tenants
 * never reach each other's objects, and Poll and Cancel answer as the spec says for correlation
 * values that name no pending operation (this server never leaves one pending).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TtlvItem } from '../../../server/ttlv/index.js';
import {
  BlockCipherMode,
  CancellationResult,
  CryptographicAlgorithm,
  CryptographicUsageMask,
  Operation,
  QueryFunction,
  ResultReason,
  ResultStatus,
  State,
  StorageStatusMask,
} from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import type { Principal } from '../../../server/kmip/context.js';
import { ManagedObject } from '../../../server/kmip/managed-object.js';
import { MAX_CORRELATION_VALUE_BYTES } from '../../../server/kmip/operations/poll-cancel.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import type { ItemSpec } from '../../support/kmip-client.js';
import { attr, dt, e, i, s, t } from '../../support/ttlv-builder.js';
import { registerSymmetric } from './crypto/helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const VERSIONS = [14, 21] as const;
const ENC_DEC = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;

const call = async (operation: number, payload: Record<string, unknown> | TtlvItem, version: number, who?: Principal) =>
  (await h.run([{ operation, payload }], { version }, who)).items[0]!;
const uidOp = (operation: number, uid: string, version: number, who?: Principal) => call(operation, { uniqueIdentifier: uid }, version, who);

/** The reason an unknown object gets: Item Not Found in 1.x, Object Not Found in 2.x. */
const notFound = (version: number) => (version >= 20 ? ResultReason.ObjectNotFound : ResultReason.ItemNotFound);

/** An Active AES-256 key of the main tenant (registered over 1.4, used over every version). */
const activeKey = () => registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });

/** The stored object, read past the operations (an archived object answers no Get Attributes). */
async function stored(uid: string, tenantId = h.principal.tenantId): Promise<ManagedObject> {
  const record = await h.store.getObject(tenantId, uid);
  expect(record, `object ${uid} is stored`).toBeDefined();
  return ManagedObject.fromRecord(record!, Date.now());
}

function getAttributesPayload(uid: string, version: number, attribute: string): Record<string, unknown> | TtlvItem {
  return version >= 20
    ? s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), e(Tag.AttributeReference, Tag[attribute.replace(/ /g, '') as keyof typeof Tag])])
    : { uniqueIdentifier: uid, attributeNames: [attribute] };
}

describe.each(VERSIONS)('Archive and Recover over %i', (version) => {
  it('Archive sets Archive Date; Recover deletes it and both stamp Last Change Date', async () => {
    const uid = await activeKey();
    const archivedAt = Math.floor(Date.now() / 1000) + 1000;
    h.setNow(archivedAt * 1000);
    try {
      const archived = await uidOp(Operation.Archive, uid, version);
      expect(archived.resultStatus).toBe(ResultStatus.Success);
      expect(archived.payload).toEqual({ uniqueIdentifier: uid });
    } finally {
      h.setNow(undefined);
    }
    const off = await stored(uid);
    expect(off.first('Archive Date')).toBe(archivedAt);
    expect(off.first('Last Change Date')).toBe(archivedAt);
    // The object keeps its state and its material: Archive is not Destroy.
    expect(off.state).toBe(State.Active);
    expect(off.material).not.toBeNull();

    expect((await uidOp(Operation.Recover, uid, version)).resultStatus).toBe(ResultStatus.Success);
    const on = await stored(uid);
    expect(on.first('Archive Date')).toBeUndefined();
    expect(on.first('Last Change Date')).not.toBe(archivedAt);
    const read = await call(Operation.GetAttributes, getAttributesPayload(uid, version, 'Archive Date'), version);
    expect(read.resultStatus).toBe(ResultStatus.Success);
    expect(read.payload!['attributes'] ?? []).toEqual([]);
    expect((read.payload!['attributesV2'] as TtlvItem[] | undefined) ?? []).toEqual([]);
  });

  it('refuses Get, Encrypt, attribute reads and Destroy with Object Archived until Recover', async () => {
    const uid = await activeKey();
    const encrypt = () => call(Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.ECB }, data: new Uint8Array(32) }, version);
    expect((await uidOp(Operation.Get, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await encrypt()).resultStatus).toBe(ResultStatus.Success);

    expect((await uidOp(Operation.Archive, uid, version)).resultStatus).toBe(ResultStatus.Success);
    // An archived object is named by no operation but Recover (1.4 §4, §11; 2.1 §6.1).
    const refused = [
      await uidOp(Operation.Get, uid, version),
      await encrypt(),
      await call(Operation.GetAttributes, getAttributesPayload(uid, version, 'State'), version),
      await uidOp(Operation.GetAttributeList, uid, version),
      await uidOp(Operation.Activate, uid, version),
      await uidOp(Operation.Destroy, uid, version),
      // Archive of an archived object (1.4 §11.23).
      await uidOp(Operation.Archive, uid, version),
    ];
    for (const item of refused) {
      expect(item.resultStatus, `operation ${item.operation}`).toBe(ResultStatus.OperationFailed);
      expect(item.resultReason, `operation ${item.operation}`).toBe(ResultReason.ObjectArchived);
    }

    expect((await uidOp(Operation.Recover, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await uidOp(Operation.Get, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await encrypt()).resultStatus).toBe(ResultStatus.Success);
    const state = await call(Operation.GetAttributes, getAttributesPayload(uid, version, 'State'), version);
    expect(state.resultStatus).toBe(ResultStatus.Success);
  });

  it('Recover of an on-line object succeeds and changes nothing; unknown objects are not found', async () => {
    const uid = await activeKey();
    const before = await h.store.getObject(h.principal.tenantId, uid);
    expect((await uidOp(Operation.Recover, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await h.store.getObject(h.principal.tenantId, uid))!.revision).toBe(before!.revision);
    for (const op of [Operation.Archive, Operation.Recover]) {
      expect((await uidOp(op, 'no-such-object', version)).resultReason).toBe(notFound(version));
    }
  });

  it('archives a Destroyed object and recovers it with its metadata', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC, active: false });
    expect((await uidOp(Operation.Destroy, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await uidOp(Operation.Archive, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await call(Operation.GetAttributes, getAttributesPayload(uid, version, 'State'), version)).resultReason).toBe(ResultReason.ObjectArchived);
    expect((await uidOp(Operation.Recover, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await stored(uid)).state).toBe(State.Destroyed);
    expect((await call(Operation.GetAttributes, getAttributesPayload(uid, version, 'State'), version)).resultStatus).toBe(ResultStatus.Success);
  });

  it('Recover sets the ID Placeholder for the rest of the batch', async () => {
    const uid = await activeKey();
    expect((await uidOp(Operation.Archive, uid, version)).resultStatus).toBe(ResultStatus.Success);
    const batch: ItemSpec[] = [
      { operation: Operation.Recover, payload: { uniqueIdentifier: uid }, id: 'recover' },
      { operation: Operation.Get, payload: {}, id: 'get' },
    ];
    const r = await h.run(batch, { version });
    expect(r.items.map((i) => i.resultStatus)).toEqual([ResultStatus.Success, ResultStatus.Success]);
    expect(r.items[1]!.payload!['uniqueIdentifier']).toBe(uid);
  });

  it('another tenant can neither archive nor recover the object, nor tell it exists', async () => {
    const other = await h.otherTenant();
    const uid = await activeKey();
    expect((await uidOp(Operation.Archive, uid, version, other)).resultReason).toBe(notFound(version));
    expect((await stored(uid)).first('Archive Date')).toBeUndefined();
    expect((await uidOp(Operation.Get, uid, version)).resultStatus).toBe(ResultStatus.Success);

    expect((await uidOp(Operation.Archive, uid, version)).resultStatus).toBe(ResultStatus.Success);
    expect((await uidOp(Operation.Recover, uid, version, other)).resultReason).toBe(notFound(version));
    expect((await uidOp(Operation.Get, uid, version)).resultReason).toBe(ResultReason.ObjectArchived);
    // The other tenant's answer for an archived object is the one for a missing object: no Object Archived leaks.
    expect((await uidOp(Operation.Get, uid, version, other)).resultReason).toBe(notFound(version));

    // The other tenant's own object is archived and recovered by it alone.
    const theirs = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC, principal: other });
    expect((await uidOp(Operation.Archive, theirs, version)).resultReason).toBe(notFound(version));
    expect((await uidOp(Operation.Archive, theirs, version, other)).resultStatus).toBe(ResultStatus.Success);
    expect((await uidOp(Operation.Recover, theirs, version)).resultReason).toBe(notFound(version));
    expect((await stored(theirs, other.tenantId)).first('Archive Date')).toEqual(expect.any(Number));
  });

  it('a client cannot set, change or delete Archive Date itself', async () => {
    const uid = await activeKey();
    const add =
      version >= 20
        ? await call(Operation.SetAttribute, s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), s(Tag.NewAttribute, [dt(Tag.ArchiveDate, 1)])]), version)
        : await call(Operation.AddAttribute, s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), s(Tag.Attribute, [t(Tag.AttributeName, 'Archive Date'), dt(Tag.AttributeValue, 1)])]), version);
    expect(add.resultStatus).toBe(ResultStatus.OperationFailed);
    expect((await stored(uid)).first('Archive Date')).toBeUndefined();
  });
});

describe('Locate and archived objects', () => {
  /** Locate over 1.4 by a custom attribute (the store's query) or by Unique Identifier (read directly). */
  const locate = async (by: TtlvItem, mask?: number) =>
    (await call(Operation.Locate, s(Tag.RequestPayload, [...(mask === undefined ? [] : [i(Tag.StorageStatusMask, mask)]), by]), 14)).payload!['uniqueIdentifiers'] as string[];

  it('finds an archived object only under the Archival Storage mask, and on-line again after Recover', async () => {
    const marker = `archive-${randomBytes(4).toString('hex')}`;
    const [archived, online] = [await activeKey(), await activeKey()];
    for (const uid of [archived, online]) {
      expect((await call(Operation.AddAttribute, s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), attr('x-marker', t(Tag.AttributeValue, marker))]), 14)).resultStatus).toBe(ResultStatus.Success);
    }
    expect((await uidOp(Operation.Archive, archived, 14)).resultStatus).toBe(ResultStatus.Success);
    const byMarker = attr('x-marker', t(Tag.AttributeValue, marker));
    const byUid = (uid: string) => attr('Unique Identifier', t(Tag.AttributeValue, uid));
    const { OnLineStorage: on, ArchivalStorage: off } = StorageStatusMask;
    expect(await locate(byMarker)).toEqual([online]);
    expect(await locate(byMarker, on)).toEqual([online]);
    expect(await locate(byMarker, off)).toEqual([archived]);
    expect(new Set(await locate(byMarker, on | off))).toEqual(new Set([archived, online]));
    expect(await locate(byUid(archived))).toEqual([]);
    expect(await locate(byUid(archived), off)).toEqual([archived]);
    expect(await locate(byUid(online), off)).toEqual([]);
    expect((await uidOp(Operation.Recover, archived, 14)).resultStatus).toBe(ResultStatus.Success);
    expect(new Set(await locate(byMarker))).toEqual(new Set([archived, online]));
    expect(await locate(byMarker, off)).toEqual([]);
  });
});

describe.each([...VERSIONS, 11] as const)('Poll and Cancel over %i', (version) => {
  const poll = (value: Uint8Array) => call(Operation.Poll, { asynchronousCorrelationValue: value }, version);
  const cancel = (value: Uint8Array) => call(Operation.Cancel, { asynchronousCorrelationValue: value }, version);
  const malformed = version >= 20 ? ResultReason.InvalidAsynchronousCorrelationValue : ResultReason.InvalidField;

  it('Poll of a value naming no pending operation: Item Not Found in 1.x, Invalid Asynchronous Correlation Value in 2.x', async () => {
    for (const value of [randomBytes(16), randomBytes(MAX_CORRELATION_VALUE_BYTES)]) {
      const r = await poll(value);
      expect(r.resultStatus).toBe(ResultStatus.OperationFailed);
      expect(r.resultReason).toBe(version >= 20 ? ResultReason.InvalidAsynchronousCorrelationValue : ResultReason.ItemNotFound);
    }
  });

  it('Cancel of such a value answers Unavailable and echoes the value', async () => {
    const value = randomBytes(16);
    const r = await cancel(value);
    expect(r.resultStatus).toBe(ResultStatus.Success);
    expect(r.payload).toEqual({ asynchronousCorrelationValue: new Uint8Array(value), cancellationResult: CancellationResult.Unavailable });
  });

  it('refuses empty and oversized correlation values, and a missing one', async () => {
    for (const value of [new Uint8Array(0), randomBytes(MAX_CORRELATION_VALUE_BYTES + 1)]) {
      for (const r of [await poll(value), await cancel(value)]) {
        expect(r.resultStatus, `${value.length} bytes`).toBe(ResultStatus.OperationFailed);
        expect(r.resultReason, `${value.length} bytes`).toBe(malformed);
      }
    }
    for (const operation of [Operation.Poll, Operation.Cancel]) {
      const r = await call(operation, s(Tag.RequestPayload, []), version);
      expect(r.resultStatus).toBe(ResultStatus.OperationFailed);
    }
  });
});

describe('Query', () => {
  it.each([11, ...VERSIONS])('lists Poll, Cancel, Archive and Recover over %i', async (version) => {
    const r = await call(Operation.Query, { queryFunctions: [QueryFunction.QueryOperations] }, version);
    expect(r.payload!['operations']).toEqual(expect.arrayContaining([Operation.Poll, Operation.Cancel, Operation.Archive, Operation.Recover]));
  });
});
