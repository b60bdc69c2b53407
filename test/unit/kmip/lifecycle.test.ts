/** The KMIP state machine through the operations, with the dates each transition stamps and the reasons each refusal gives. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { Operation, ResultReason, ResultStatus, RevocationReasonCode, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { attributeMap, dateAttr, enumAttr, intAttr } from '../../support/attributes.js';
import { backends, executorHarness, type ExecutorHarness } from '../../support/executor.js';

for (const { backend, wrap, skip, label } of await backends()) {
  describe.skipIf(skip)(label, () => {
    let h: ExecutorHarness;
    beforeAll(async () => {
      h = await executorHarness({ backend, wrap });
    });
    afterAll(() => h?.close());

    const aes = (extra: object[] = []) => ({
      objectType: 2,
      templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), ...extra] },
    });

    async function create(extra: object[] = []): Promise<string> {
      const r = await h.run([{ operation: Operation.Create, payload: aes(extra) }]);
      expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
      return r.items[0]!.payload!['uniqueIdentifier'] as string;
    }

    async function attrs(uid: string, version = 14): Promise<Map<string, TtlvItem[]>> {
      const r = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: [], attributeReferences: [] } }], { version });
      return attributeMap(r.items[0]!.payload!['attributes'] as TtlvItem[]);
    }

    const state = async (uid: string) => (await attrs(uid)).get('State')![0]!.value;

    async function op(operation: number, uid: string, extra: Record<string, unknown> = {}, version = 14) {
      return (await h.run([{ operation, payload: { uniqueIdentifier: uid, ...extra } }], { version })).items[0]!;
    }
    const revoke = (code: number) => ({ revocationReason: { revocationReasonCode: code } });
    const activate = (uid: string, v = 14) => op(Operation.Activate, uid, {}, v);
    const destroy = (uid: string, v = 14) => op(Operation.Destroy, uid, {}, v);

    describe('state machine', () => {
      it('creates Pre-Active with Initial, Original Creation and Last Change dates, a SHA-256 digest, Fresh, and no Activation Date', async () => {
        const now = Math.floor(Date.now() / 1000);
        const a = await attrs(await create());
        expect(a.get('State')![0]!.value).toBe(State.PreActive);
        for (const d of ['Initial Date', 'Original Creation Date', 'Last Change Date']) expect(Number(a.get(d)![0]!.value)).toBeGreaterThanOrEqual(now - 5);
        expect(a.has('Activation Date')).toBe(false);
        expect(a.get('Fresh')![0]!.value).toBe(true);
        const digest = a.get('Digest')![0]! as unknown as { value: TtlvItem[] };
        expect(digest.value.map((c) => c.tag)).toEqual([Tag.HashingAlgorithm, Tag.DigestValue, Tag.KeyFormatType]);
        expect((digest.value[1]!.value as Uint8Array).length).toBe(32);
        expect(a.get('Cryptographic Usage Mask')![0]!.value).toBe(4 | 8 | 16 | 32);
      });

      it('Pre-Active → Active by Activate, stamping Activation Date; a second Activate is refused', async () => {
        const uid = await create();
        expect((await activate(uid)).resultStatus).toBe(ResultStatus.Success);
        const a = await attrs(uid);
        expect(a.get('State')![0]!.value).toBe(State.Active);
        expect(a.has('Activation Date')).toBe(true);
        expect(await activate(uid)).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.IllegalOperation });
        expect((await activate(uid, 21)).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
      });

      it('Active → Deactivated by Revoke for a reason other than compromise, stamping Deactivation Date and the reason', async () => {
        const uid = await create();
        await activate(uid);
        expect((await op(Operation.Revoke, uid, revoke(RevocationReasonCode.CessationOfOperation))).resultStatus).toBe(ResultStatus.Success);
        const a = await attrs(uid);
        expect(a.get('State')![0]!.value).toBe(State.Deactivated);
        expect(a.has('Deactivation Date')).toBe(true);
        expect(a.get('Revocation Reason')![0]!).toMatchObject({ type: ItemType.Structure });
      });

      it('refuses Revoke for a reason other than compromise outside Active', async () => {
        const uid = await create();
        expect(await op(Operation.Revoke, uid, revoke(RevocationReasonCode.Superseded))).toMatchObject({ resultReason: ResultReason.IllegalOperation });
        expect(await state(uid)).toBe(State.PreActive);
      });

      it('Key Compromise moves Pre-Active, Active and Deactivated to Compromised, with both compromise dates', async () => {
        const occurred = 1_600_000_000;
        for (const setup of [async () => undefined, activate, async (u: string) => { await activate(u); await op(Operation.Revoke, u, revoke(1)); }]) {
          const uid = await create();
          await setup(uid);
          const r = await op(Operation.Revoke, uid, { ...revoke(RevocationReasonCode.KeyCompromise), compromiseOccurrenceDate: occurred });
          expect(r.resultStatus).toBe(ResultStatus.Success);
          const a = await attrs(uid);
          expect(a.get('State')![0]!.value).toBe(State.Compromised);
          expect(a.get('Compromise Occurrence Date')![0]!.value).toBe(BigInt(occurred));
          expect(a.has('Compromise Date')).toBe(true);
        }
      });

      it('Destroy: refused while Active (Permission Denied in 1.x, Wrong Key Lifecycle State in 2.x); allowed from Pre-Active, Deactivated, Compromised', async () => {
        const active = await create();
        await activate(active);
        expect(await destroy(active)).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied });
        expect((await destroy(active, 21)).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
        expect(await state(active)).toBe(State.Active);

        const pre = await create();
        expect((await destroy(pre)).resultStatus).toBe(ResultStatus.Success);
        expect(await state(pre)).toBe(State.Destroyed);

        await op(Operation.Revoke, active, revoke(RevocationReasonCode.CessationOfOperation));
        expect((await destroy(active)).resultStatus).toBe(ResultStatus.Success);
        expect(await state(active)).toBe(State.Destroyed);

        const compromised = await create();
        await op(Operation.Revoke, compromised, revoke(RevocationReasonCode.KeyCompromise));
        expect((await destroy(compromised)).resultStatus).toBe(ResultStatus.Success);
        expect(await state(compromised)).toBe(State.DestroyedCompromised);
      });

      it('Destroyed: Get fails (Object Destroyed; Item Not Found in 1.x), Get Attributes still answers with Destroy Date, compromise moves it to Destroyed Compromised', async () => {
        const uid = await create();
        await destroy(uid);
        expect((await op(Operation.Get, uid)).resultReason).toBe(ResultReason.ItemNotFound);
        expect((await op(Operation.Get, uid, {}, 21)).resultReason).toBe(ResultReason.ObjectDestroyed);
        expect((await attrs(uid)).has('Destroy Date')).toBe(true);
        expect((await destroy(uid)).resultStatus).toBe(ResultStatus.OperationFailed);
        expect((await op(Operation.Revoke, uid, revoke(RevocationReasonCode.KeyCompromise))).resultStatus).toBe(ResultStatus.Success);
        expect(await state(uid)).toBe(State.DestroyedCompromised);
      });

      it('State cannot be changed with Modify Attribute', async () => {
        const uid = await create();
        const r = await op(Operation.ModifyAttribute, uid, { attribute: enumAttr('State', State.Active) });
        expect(r).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied });
        expect(await state(uid)).toBe(State.PreActive);
      });

      it('Activation Date: a past one at Create makes the key Active, a future one activates it when reached, and it cannot move once Active', async () => {
        const now = Math.floor(Date.now() / 1000);
        expect(await state(await create([dateAttr('Activation Date', now - 60)]))).toBe(State.Active);
        const later = await create([dateAttr('Activation Date', now + 3600)]);
        expect(await state(later)).toBe(State.PreActive);
        h.setNow((now + 3601) * 1000);
        try {
          expect(await state(later)).toBe(State.Active);
          const moved = await op(Operation.ModifyAttribute, later, { attribute: dateAttr('Activation Date', now + 7200) });
          expect(moved).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied });
        } finally {
          h.setNow(undefined);
        }
      });

      it('Get clears Fresh without rewriting the object; a change (Activate) moves Last Change Date', async () => {
        const uid = await create();
        const before = await attrs(uid);
        expect(before.get('Fresh')![0]!.value).toBe(true);
        const changed = before.get('Last Change Date')![0]!.value as bigint;
        await op(Operation.Get, uid);
        const afterGet = await attrs(uid);
        expect(afterGet.get('Fresh')![0]!.value).toBe(false);
        expect(afterGet.get('Last Change Date')![0]!.value).toBe(changed);
        h.setNow(Date.now() + 10_000);
        try {
          await activate(uid);
          expect((await attrs(uid)).get('Last Change Date')![0]!.value as bigint).toBeGreaterThan(changed);
        } finally {
          h.setNow(undefined);
        }
      });
    });
  });
}
