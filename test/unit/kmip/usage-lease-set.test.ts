/** Check, Obtain Lease, Get Usage Allocation, Set Attribute, and Query's profiles and capabilities. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { CryptographicAlgorithm, Operation, ProfileName, QueryFunction, ResultReason, ResultStatus, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLAIMED_PROFILES, profiles } from '../../../server/kmip/operations/query.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { dt, e, li, nameItem, s, t } from '../../support/ttlv-builder.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

async function createKey(extra: TtlvItem[] = []): Promise<string> {
  const r = await h.run(
    [{ operation: Operation.Create, payload: s(Tag.RequestPayload, [e(Tag.ObjectType, 2), s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), { tag: Tag.CryptographicLength, type: ItemType.Integer, value: 256 }, ...extra])]) }],
    { version: 21 },
  );
  expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
  return r.items[0]!.payload!['uniqueIdentifier'] as string;
}
const item = async (operation: number, payload: Record<string, unknown> | TtlvItem, version = 21) => (await h.run([{ operation, payload }], { version })).items[0]!;

describe('Obtain Lease', () => {
  it('is refused before activation and grants an hour with the Last Change Date after', async () => {
    const uid = await createKey();
    expect((await item(Operation.ObtainLease, { uniqueIdentifier: uid })).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
    expect((await item(Operation.ObtainLease, { uniqueIdentifier: uid }, 14)).resultReason).toBe(ResultReason.PermissionDenied);
    await item(Operation.Activate, { uniqueIdentifier: uid });
    const lease = await item(Operation.ObtainLease, { uniqueIdentifier: uid });
    expect(lease.payload).toMatchObject({ uniqueIdentifier: uid, leaseTime: 3600 });
    expect(Math.abs((lease.payload!['lastChangeDate'] as number) - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe('Usage Limits: Get Usage Allocation and Check', () => {
  it('allocates from the limit until it runs out; Check tells in advance, changing nothing', async () => {
    const limits = s(Tag.UsageLimits, [li(Tag.UsageLimitsTotal, 10n), e(Tag.UsageLimitsUnit, 2)]);
    const uid = await createKey([limits]);
    expect((await item(Operation.GetUsageAllocation, { uniqueIdentifier: uid, usageLimitsCount: 1n })).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
    await item(Operation.Activate, { uniqueIdentifier: uid });
    expect((await item(Operation.GetUsageAllocation, { uniqueIdentifier: uid, usageLimitsCount: 4n })).resultStatus).toBe(ResultStatus.Success);
    expect((await item(Operation.Check, { uniqueIdentifier: uid, usageLimitsCount: 6n })).resultStatus).toBe(ResultStatus.Success);
    expect((await item(Operation.Check, { uniqueIdentifier: uid, usageLimitsCount: 7n })).resultStatus).toBe(ResultStatus.OperationFailed);
    expect((await item(Operation.GetUsageAllocation, { uniqueIdentifier: uid, usageLimitsCount: 7n })).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await item(Operation.GetUsageAllocation, { uniqueIdentifier: uid, usageLimitsCount: 6n })).resultStatus).toBe(ResultStatus.Success);
    expect((await item(Operation.GetUsageAllocation, { uniqueIdentifier: uid, usageLimitsCount: 1n })).resultReason).toBe(ResultReason.PermissionDenied);
    const noLimits = await createKey();
    await item(Operation.Activate, { uniqueIdentifier: noLimits });
    expect((await item(Operation.GetUsageAllocation, { uniqueIdentifier: noLimits, usageLimitsCount: 1n })).resultReason).toBe(ResultReason.PermissionDenied);
  });

  it('Check compares the usage mask and the lease asked for', async () => {
    const uid = await createKey([{ tag: Tag.CryptographicUsageMask, type: ItemType.Integer, value: 0x0c }]);
    expect((await item(Operation.Check, { uniqueIdentifier: uid, cryptographicUsageMask: 0x04 })).resultStatus).toBe(ResultStatus.Success);
    expect((await item(Operation.Check, { uniqueIdentifier: uid, cryptographicUsageMask: 0x01 })).resultReason).toBe(ResultReason.IncompatibleCryptographicUsageMask);
    expect((await item(Operation.Check, { uniqueIdentifier: uid, leaseTime: 7200 })).resultStatus).toBe(ResultStatus.OperationFailed);
    expect((await item(Operation.Check, { uniqueIdentifier: uid, leaseTime: 600 })).resultStatus).toBe(ResultStatus.Success);
  });
});

describe('Set Attribute (2.x)', () => {
  const set = (uid: string, attribute: TtlvItem) => item(Operation.SetAttribute, s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), s(Tag.NewAttribute, [attribute])]));
  const description = async (uid: string) => {
    const r = await h.run([{ operation: Operation.GetAttributes, payload: s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, uid), e(Tag.AttributeReference, Tag.Description)]) }], { version: 21 });
    return ((r.items[0]!.payload!['attributesV2'] as TtlvItem[])[0]?.value as string | undefined) ?? undefined;
  };

  it('adds a single-valued attribute, then replaces it', async () => {
    const uid = await createKey();
    expect((await set(uid, t(Tag.Description, 'first'))).resultStatus).toBe(ResultStatus.Success);
    expect(await description(uid)).toBe('first');
    expect((await set(uid, t(Tag.Description, 'second'))).resultStatus).toBe(ResultStatus.Success);
    expect(await description(uid)).toBe('second');
  });

  it('refuses multi-valued and read-only attributes, and dates the state machine has passed', async () => {
    const uid = await createKey();
    expect((await set(uid, nameItem('set-attr'))).resultReason).toBe(ResultReason.MultiValuedAttribute);
    expect((await set(uid, e(Tag.State, State.Active))).resultReason).toBe(ResultReason.AttributeReadOnly);
    await item(Operation.Activate, { uniqueIdentifier: uid });
    expect((await set(uid, dt(Tag.ActivationDate, 1_000))).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
    // Not a 1.x operation: a 1.4 client is told it is not supported.
    expect((await h.run([{ operation: Operation.SetAttribute, payload: s(Tag.RequestPayload, []) }], { version: 14 })).items[0]!.resultReason).toBe(ResultReason.OperationNotSupported);
  });
});

describe('Query profiles and capabilities', () => {
  const query = async (version: number) => {
    const r = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryProfiles, QueryFunction.QueryCapabilities] } }], { version });
    return r.items[0]!.payload!;
  };
  const names = (infos: TtlvItem[]) => infos.map((p) => ((p.value as TtlvItem[])[0]!.value as number));

  it('claims the profiles the conformance suite runs, per version, with Batch Undo and Continue', async () => {
    const v14 = await query(14);
    const v14Names = names(v14['profileInformation'] as TtlvItem[]);
    expect(v14Names.slice(0, 3)).toEqual([ProfileName.BaselineServerBasicKMIPV1_4, ProfileName.SymmetricKeyLifecycleServerKMIPV1_4, ProfileName.SymmetricKeyFoundryServerKMIPV1_4]);
    expect(v14Names).toContain(ProfileName.SuiteBMinLOS_192ServerKMIPV1_4);
    // The harness runs no HTTPS port: the message-encoding profiles are not claimed.
    expect(v14Names).not.toContain(ProfileName.HTTPSServerKMIPV1_4);
    const caps = ((v14['capabilityInformation'] as TtlvItem[])[0]!.value as TtlvItem[]).map((c) => [c.tag, c.value]);
    expect(caps).toContainEqual([Tag.BatchUndoCapability, true]);
    expect(caps).toContainEqual([Tag.BatchContinueCapability, true]);
    const v21 = await query(21);
    const profiles = v21['profileInformation'] as TtlvItem[];
    expect(names(profiles).slice(0, 2)).toEqual([ProfileName.BaselineServer, ProfileName.SymmetricKeyLifecycleServer]);
    expect(names(profiles)).toContain(ProfileName.AESXTSServer);
    expect(names(profiles)).not.toContain(ProfileName.XMLServer);
    expect(names(profiles)).not.toContain(ProfileName.QuantumSafeServer);
    // 2.x Profile Information carries the version.
    expect((profiles[0]!.value as TtlvItem[])[1]!.tag).toBe(Tag.ProfileVersion);
    // Query Profiles arrived in 1.3: a 1.2 client cannot ask for it.
    const v12 = await h.run([{ operation: Operation.Query, payload: s(Tag.RequestPayload, [e(Tag.QueryFunction, QueryFunction.QueryProfiles)]) }], { version: 12 });
    expect(v12.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
  });

  it('claims a profile only where every OASIS mandatory case of it passes (oasis/expected.json), the encodings only with HTTPS on', () => {
    const expected = JSON.parse(readFileSync(fileURLToPath(new URL('../../conformance/oasis/expected.json', import.meta.url)), 'utf8')) as Record<string, string>;
    for (const claim of CLAIMED_PROFILES) {
      for (const [profile, suffix] of [[claim.v14, '-14'], [claim.v2x, '-21']] as const) {
        if (profile === undefined || claim.oasis === undefined) continue;
        // BL-M has no 1.4 files: test/conformance/bl.test.ts proves Baseline there.
        const cases = Object.keys(expected).filter((n) => n.startsWith(`${claim.oasis}-`) && /^\d+$/.test(n.slice(claim.oasis!.length + 1, -3)) && n.endsWith(suffix));
        if (claim.oasis === 'BL-M' && suffix === '-14') {
          expect(cases).toEqual([]);
          continue;
        }
        expect(cases.length, `${claim.oasis}${suffix}`).toBeGreaterThan(0);
        for (const c of cases) expect(expected[c], c).toBe('pass');
      }
    }
    expect(profiles(21, true)).toEqual(expect.arrayContaining([ProfileName.HTTPSServer, ProfileName.JSONServer, ProfileName.XMLServer]));
    expect(profiles(14, true)).toEqual(expect.arrayContaining([ProfileName.HTTPSServerKMIPV1_4, ProfileName.JSONServerKMIPV1_4, ProfileName.XMLServerKMIPV1_4]));
    expect(profiles(14, false)).not.toContain(ProfileName.XMLServerKMIPV1_4);
    expect(profiles(11, true)).toEqual([]);
  });

  it('sends Server Information empty to 1.2–1.4 clients, none to 1.0/1.1 (vCenter), and with its fields to 2.x', async () => {
    const serverInformation = async (version: number) => {
      const r = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryServerInformation] } }], { version });
      expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
      expect(r.items[0]!.payload!['vendorIdentification']).toEqual(expect.any(String));
      return r.items[0]!.payload!['serverInformation'] as TtlvItem | undefined;
    };
    for (const version of [10, 11]) expect(await serverInformation(version), `version ${version}`).toBeUndefined();
    for (const version of [12, 13, 14]) {
      expect(await serverInformation(version), `version ${version}`).toEqual({ tag: Tag.ServerInformation, type: ItemType.Structure, value: [] });
    }
    const v21 = await serverInformation(21);
    expect((v21?.value as TtlvItem[]).map((c) => c.tag)).toEqual([Tag.ServerName, Tag.ServerVersion]);
    // Not asked, not sent.
    const r = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations] } }], { version: 14 });
    expect(r.items[0]!.payload!['serverInformation']).toBeUndefined();
  });
});

