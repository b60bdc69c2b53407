/**
 * Symmetric Key Lifecycle Server profile, mandatory test cases SKLC-M-1..3, for KMIP 1.0–1.4 and
 * 2.1, at the TTLV level: each request item as the profile sends it, each response item checked
 * field by field (identifiers, dates and key bytes are placeholders: the server chooses them).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ItemType } from '../../server/ttlv/index.js';
import { CryptographicAlgorithm, ObjectType, Operation, ResultReason, RevocationReasonCode, State } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { executorHarness, type ExecutorHarness } from '../support/executor.js';
import { ANY, attr, capture, dt, e, exchange, failedItem, i, name14, nameItem, NOW, okItem, p, ps, ref, s, t, type Captures, type Pattern } from '../support/ttlv-builder.js';
import { caseName, pattr, VERSIONS_1X } from './support.js';

const USAGE = 0x0c; // Encrypt | Decrypt

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const uid = (name = 'uid') => p(Tag.UniqueIdentifier, ItemType.TextString, ref(name));
const digestPattern = (version: number) =>
  ps(Tag.Digest, [p(Tag.HashingAlgorithm, ItemType.Enumeration, 6), p(Tag.DigestValue, ItemType.ByteString, ANY), ...(version >= 11 ? [p(Tag.KeyFormatType, ItemType.Enumeration, 1)] : [])]);

describe('SKLC-M, KMIP 1.x', () => {
  const NAMES_9 = ['State', 'Cryptographic Usage Mask', 'Unique Identifier', 'Object Type', 'Cryptographic Algorithm', 'Cryptographic Length', 'Digest', 'Initial Date', 'Last Change Date'];
  const nineAttributes = (version: number): Pattern[] => [
    uid(),
    pattr('State', p(0, ItemType.Enumeration, State.PreActive)),
    pattr('Cryptographic Usage Mask', p(0, ItemType.Integer, USAGE)),
    pattr('Unique Identifier', p(0, ItemType.TextString, ref('uid'))),
    pattr('Object Type', p(0, ItemType.Enumeration, ObjectType.SymmetricKey)),
    pattr('Cryptographic Algorithm', p(0, ItemType.Enumeration, CryptographicAlgorithm.AES)),
    pattr('Cryptographic Length', p(0, ItemType.Integer, 256)),
    pattr('Digest', digestPattern(version)),
    pattr('Initial Date', p(0, ItemType.DateTime, NOW)),
    pattr('Last Change Date', p(0, ItemType.DateTime, NOW)),
  ];

  const create = async (version: number, label: string, c: Captures) =>
    exchange(
      h.executor,
      h.principal,
      version,
      [
        {
          operation: Operation.Create,
          payload: [
            e(Tag.ObjectType, ObjectType.SymmetricKey),
            s(Tag.TemplateAttribute, [
              attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES)),
              attr('Cryptographic Length', i(0, 256)),
              attr('Cryptographic Usage Mask', i(0, USAGE)),
              attr('Name', name14(label)),
            ]),
          ],
        },
      ],
      [okItem(Operation.Create, [p(Tag.ObjectType, ItemType.Enumeration, ObjectType.SymmetricKey), p(Tag.UniqueIdentifier, ItemType.TextString, capture('uid'))])],
      c,
    );
  const getAttributes = (c: Captures, version: number, names: string[], expected: Pattern[]) =>
    exchange(h.executor, h.principal, version, [{ operation: Operation.GetAttributes, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string), ...names.map((n) => t(Tag.AttributeName, n))] }], [okItem(Operation.GetAttributes, expected)], c);
  const simple = (c: Captures, version: number, operation: number) =>
    exchange(h.executor, h.principal, version, [{ operation, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string)] }], [okItem(operation, [uid()])], c);
  const revokeCompromised = (c: Captures, version: number) =>
    exchange(
      h.executor,
      h.principal,
      version,
      [
        {
          operation: Operation.Revoke,
          payload: [t(Tag.UniqueIdentifier, c.get('uid') as string), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)]), dt(Tag.CompromiseOccurrenceDate, 6)],
        },
      ],
      [okItem(Operation.Revoke, [uid()])],
      c,
    );

  for (const version of VERSIONS_1X) {
    it(`${caseName('SKLC-M-1', version)}: Create, Get Attributes (Activation Date absent), Destroy of a Pre-Active key`, async () => {
      const c: Captures = new Map();
      await create(version, caseName('SKLC-M-1', version), c);
      await getAttributes(c, version, [...NAMES_9, 'Activation Date'], nineAttributes(version));
      await simple(c, version, Operation.Destroy);
    });

    it(`${caseName('SKLC-M-2', version)}: Destroy of an Active key is refused (Permission Denied); Revoke, then Destroy`, async () => {
      const c: Captures = new Map();
      await create(version, caseName('SKLC-M-2', version), c);
      await getAttributes(c, version, NAMES_9, nineAttributes(version));
      await simple(c, version, Operation.Activate);
      await getAttributes(c, version, ['State', 'Activation Date', 'Deactivation Date'], [uid(), pattr('State', p(0, ItemType.Enumeration, State.Active)), pattr('Activation Date', p(0, ItemType.DateTime, NOW))]);
      await exchange(h.executor, h.principal, version, [{ operation: Operation.Destroy, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string)] }], [failedItem(Operation.Destroy, ResultReason.PermissionDenied)], c);
      await revokeCompromised(c, version);
      await getAttributes(c, version, ['State'], [uid(), pattr('State', p(0, ItemType.Enumeration, State.Compromised))]);
      await simple(c, version, Operation.Destroy);
    });

    it(`${caseName('SKLC-M-3', version)}: Modify Attribute of an Active key's Activation Date is refused (Permission Denied)`, async () => {
      const c: Captures = new Map();
      await create(version, caseName('SKLC-M-3', version), c);
      await getAttributes(c, version, NAMES_9, nineAttributes(version));
      await simple(c, version, Operation.Activate);
      await getAttributes(c, version, ['State', 'Activation Date', 'Deactivation Date'], [uid(), pattr('State', p(0, ItemType.Enumeration, State.Active)), pattr('Activation Date', p(0, ItemType.DateTime, NOW))]);
      await exchange(
        h.executor,
        h.principal,
        version,
        [{ operation: Operation.ModifyAttribute, id: '0752c951bb9926cc', payload: [t(Tag.UniqueIdentifier, c.get('uid') as string), attr('Activation Date', dt(0, Math.floor(Date.now() / 1000)))] }],
        [failedItem(Operation.ModifyAttribute, ResultReason.PermissionDenied, '0752c951bb9926cc')],
        c,
      );
      await revokeCompromised(c, version);
      await getAttributes(c, version, ['State'], [uid(), pattr('State', p(0, ItemType.Enumeration, State.Compromised))]);
      await simple(c, version, Operation.Destroy);
    });
  }
});

describe('SKLC-M, KMIP 2.1', () => {
  const V = 21;
  const REFS_9 = [Tag.State, Tag.CryptographicUsageMask, Tag.UniqueIdentifier, Tag.ObjectType, Tag.CryptographicAlgorithm, Tag.CryptographicLength, Tag.Digest, Tag.InitialDate, Tag.LastChangeDate];
  const nine = (): Pattern[] => [
    uid(),
    ps(Tag.Attributes, [
      p(Tag.State, ItemType.Enumeration, State.PreActive),
      p(Tag.CryptographicUsageMask, ItemType.Integer, USAGE),
      p(Tag.UniqueIdentifier, ItemType.TextString, ref('uid')),
      p(Tag.ObjectType, ItemType.Enumeration, ObjectType.SymmetricKey),
      p(Tag.CryptographicAlgorithm, ItemType.Enumeration, CryptographicAlgorithm.AES),
      p(Tag.CryptographicLength, ItemType.Integer, 256),
      digestPattern(V),
      p(Tag.InitialDate, ItemType.DateTime, NOW),
      p(Tag.LastChangeDate, ItemType.DateTime, NOW),
    ]),
  ];
  const create = (label: string, c: Captures) =>
    exchange(
      h.executor,
      h.principal,
      V,
      [
        {
          operation: Operation.Create,
          payload: [
            e(Tag.ObjectType, ObjectType.SymmetricKey),
            s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 256), i(Tag.CryptographicUsageMask, USAGE), nameItem(label)]),
          ],
        },
      ],
      [okItem(Operation.Create, [p(Tag.ObjectType, ItemType.Enumeration, ObjectType.SymmetricKey), p(Tag.UniqueIdentifier, ItemType.TextString, capture('uid'))])],
      c,
    );
  const getAttributes = (c: Captures, refs: number[], expected: Pattern[]) =>
    exchange(h.executor, h.principal, V, [{ operation: Operation.GetAttributes, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string), ...refs.map((r) => e(Tag.AttributeReference, r))] }], [okItem(Operation.GetAttributes, expected)], c);
  const simple = (c: Captures, operation: number) => exchange(h.executor, h.principal, V, [{ operation, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string)] }], [okItem(operation, [uid()])], c);
  const activeAttributes = (): Pattern[] => [uid(), ps(Tag.Attributes, [p(Tag.State, ItemType.Enumeration, State.Active), p(Tag.ActivationDate, ItemType.DateTime, NOW)])];
  const compromise = async (c: Captures) => {
    await exchange(
      h.executor,
      h.principal,
      V,
      [{ operation: Operation.Revoke, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)]), dt(Tag.CompromiseOccurrenceDate, 6)] }],
      [okItem(Operation.Revoke, [uid()])],
      c,
    );
    await getAttributes(c, [Tag.State], [uid(), ps(Tag.Attributes, [p(Tag.State, ItemType.Enumeration, State.Compromised)])]);
    await simple(c, Operation.Destroy);
  };

  it('SKLC-M-1-21: Create, Get Attributes (ActivationDate absent), Destroy', async () => {
    const c: Captures = new Map();
    await create('SKLC-M-1-21', c);
    await getAttributes(c, [...REFS_9, Tag.ActivationDate], nine());
    await simple(c, Operation.Destroy);
  });

  it('SKLC-M-2-21: Destroy of an Active key is refused (Wrong Key Lifecycle State); Revoke, then Destroy', async () => {
    const c: Captures = new Map();
    await create('SKLC-M-2-21', c);
    await getAttributes(c, REFS_9, nine());
    await simple(c, Operation.Activate);
    await getAttributes(c, [Tag.State, Tag.ActivationDate, Tag.DeactivationDate], activeAttributes());
    await exchange(h.executor, h.principal, V, [{ operation: Operation.Destroy, payload: [t(Tag.UniqueIdentifier, c.get('uid') as string)] }], [failedItem(Operation.Destroy, ResultReason.WrongKeyLifecycleState)], c);
    await compromise(c);
  });

  it('SKLC-M-3-21: Modify Attribute of an Active key’s ActivationDate is refused (Wrong Key Lifecycle State)', async () => {
    const c: Captures = new Map();
    await create('SKLC-M-3-21', c);
    await getAttributes(c, REFS_9, nine());
    await simple(c, Operation.Activate);
    await getAttributes(c, [Tag.State, Tag.ActivationDate, Tag.DeactivationDate], activeAttributes());
    await exchange(
      h.executor,
      h.principal,
      V,
      [{ operation: Operation.ModifyAttribute, id: '0752c951bb9926cc', payload: [t(Tag.UniqueIdentifier, c.get('uid') as string), s(Tag.NewAttribute, [dt(Tag.ActivationDate, Math.floor(Date.now() / 1000))])] }],
      [failedItem(Operation.ModifyAttribute, ResultReason.WrongKeyLifecycleState, '0752c951bb9926cc')],
      c,
    );
    await compromise(c);
  });
});

