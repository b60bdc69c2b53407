/**
 * Symmetric Key Foundry Server profile (KMIP 1.4), mandatory test cases SKFF-M-1..12: basic
 * (create, destroy), intermediate (locate, get, destroy, locate again) and advanced (the whole life
 * cycle with custom attributes edited in batches), response items checked field by field.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ItemType } from '../../server/ttlv/index.js';
import { CryptographicAlgorithm, DRBGAlgorithm, ObjectType, Operation, RevocationReasonCode, RNGAlgorithm, State } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { executorHarness, type ExecutorHarness } from '../support/executor.js';
import { ANY, attr, bool, capture, dt, e, exchange, i, name14, okItem, p, ps, ref, s, t, type Captures, type Pattern } from '../support/ttlv-builder.js';
import { pattr, payloadOf } from './support.js';

const V = 14;
let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const uid = () => p(Tag.UniqueIdentifier, ItemType.TextString, ref('uid'));
const uidItem = (c: Captures) => t(Tag.UniqueIdentifier, c.get('uid') as string);

const CASES: ReadonlyArray<{ n: number; alg: number; len: number; bytes: number }> = [
  { n: 1, alg: CryptographicAlgorithm.AES, len: 128, bytes: 16 },
  { n: 2, alg: CryptographicAlgorithm.AES, len: 192, bytes: 24 },
  { n: 3, alg: CryptographicAlgorithm.AES, len: 256, bytes: 32 },
  { n: 4, alg: CryptographicAlgorithm.DES3, len: 168, bytes: 24 },
];

async function create(c: Captures, alg: number, len: number, usage: number, extra: ReturnType<typeof attr>[] = []) {
  await exchange(
    h.executor,
    h.principal,
    V,
    [{ operation: Operation.Create, payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [attr('Cryptographic Algorithm', e(0, alg)), attr('Cryptographic Length', i(0, len)), attr('Cryptographic Usage Mask', i(0, usage)), ...extra])] }],
    [okItem(Operation.Create, [p(Tag.ObjectType, ItemType.Enumeration, ObjectType.SymmetricKey), p(Tag.UniqueIdentifier, ItemType.TextString, capture('uid'))])],
    c,
  );
}
const simple = (c: Captures, operation: number) => exchange(h.executor, h.principal, V, [{ operation, payload: [uidItem(c)] }], [okItem(operation, [uid()])], c);
const locate = (c: Captures, filters: ReturnType<typeof attr>[], found: boolean) =>
  exchange(h.executor, h.principal, V, [{ operation: Operation.Locate, payload: filters }], [okItem(Operation.Locate, found ? [uid()] : [])], c);
const getRaw = (c: Captures, alg: number, len: number, bytes: number) =>
  exchange(
    h.executor,
    h.principal,
    V,
    [{ operation: Operation.Get, payload: [uidItem(c)] }],
    [
      okItem(Operation.Get, [
        p(Tag.ObjectType, ItemType.Enumeration, ObjectType.SymmetricKey),
        uid(),
        ps(Tag.SymmetricKey, [
          ps(Tag.KeyBlock, [
            p(Tag.KeyFormatType, ItemType.Enumeration, 1),
            ps(Tag.KeyValue, [p(Tag.KeyMaterial, ItemType.ByteString, capture('key'))]),
            p(Tag.CryptographicAlgorithm, ItemType.Enumeration, alg),
            p(Tag.CryptographicLength, ItemType.Integer, len),
          ]),
        ]),
      ]),
    ],
    c,
  ).then(() => {
    if ((c.get('key') as Uint8Array).length !== bytes) throw new Error(`key material is ${(c.get('key') as Uint8Array).length} bytes, expected ${bytes}`);
  });
/** The server's DRBG, as Random Number Generator records it: SP 800-90A CTR_DRBG over AES-256 (OpenSSL's default). */
const serverRng = ps(0, [
  p(Tag.RNGAlgorithm, ItemType.Enumeration, RNGAlgorithm.DRBG),
  p(Tag.CryptographicAlgorithm, ItemType.Enumeration, CryptographicAlgorithm.AES),
  p(Tag.CryptographicLength, ItemType.Integer, 256),
  p(Tag.DRBGAlgorithm, ItemType.Enumeration, DRBGAlgorithm.CTR),
]);
const state = (c: Captures, value: number, names = ['State']) =>
  exchange(
    h.executor,
    h.principal,
    V,
    [{ operation: Operation.GetAttributes, payload: [uidItem(c), ...names.map((n) => t(Tag.AttributeName, n))] }],
    [okItem(Operation.GetAttributes, [uid(), pattr('State', p(0, ItemType.Enumeration, value)), ...(names.includes('Random Number Generator') ? [pattr('Random Number Generator', serverRng)] : [])])],
    c,
  );

describe('SKFF-M, KMIP 1.4', () => {
  for (const k of CASES) {
    it(`SKFF-M-${k.n}-14: Create ${k.alg === CryptographicAlgorithm.AES ? 'AES' : '3DES'}-${k.len}, then Destroy`, async () => {
      const c: Captures = new Map();
      await create(c, k.alg, k.len, 0x0c);
      await simple(c, Operation.Destroy);
    });
  }

  for (const k of CASES) {
    const n = k.n + 4;
    it(`SKFF-M-${n}-14: Create with Name and Contact Information, Locate, Get (Pre-Active), Destroy, Locate finds nothing`, async () => {
      const c: Captures = new Map();
      const label = `SKFF-M-${n}-14`;
      await create(c, k.alg, k.len, 0x0c, [attr('Name', name14(label)), attr('Contact Information', t(0, 'Joe'))]);
      await locate(c, [attr('Object Type', e(0, ObjectType.SymmetricKey)), attr('Name', name14(label))], true);
      await getRaw(c, k.alg, k.len, k.bytes);
      await simple(c, Operation.Destroy);
      await locate(c, [attr('Unique Identifier', t(0, c.get('uid') as string))], false);
    });
  }

  for (const k of CASES) {
    const n = k.n + 8;
    it(`SKFF-M-${n}-14: the whole life cycle with x- attributes added, modified and deleted in batches`, async () => {
      const c: Captures = new Map();
      const label = `SKFF-M-${n}-14`;
      // Batch Order Option on the attribute batches: none in case 9, the first two in case 11, all three in 10 and 12.
      const orderedBatches = n === 9 ? 0 : n === 11 ? 2 : 3;
      let batchNumber = 0;
      await create(c, k.alg, k.len, 0x04, [attr('Name', name14(label))]);
      // Cases 10-12 also ask for Random Number Generator: the server's own, since it made the key.
      await state(c, State.PreActive, n >= 10 ? ['State', 'Random Number Generator'] : ['State']);
      await simple(c, Operation.Activate);
      await state(c, State.Active);
      await locate(c, [attr('Object Type', e(0, ObjectType.SymmetricKey)), attr('Name', name14(label))], true);
      await getRaw(c, k.alg, k.len, k.bytes);
      await exchange(
        h.executor,
        h.principal,
        V,
        [{ operation: Operation.Revoke, payload: [uidItem(c), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise)]), dt(Tag.CompromiseOccurrenceDate, 6)] }],
        [okItem(Operation.Revoke, [uid()])],
        c,
      );
      await state(c, State.Compromised);
      const names = [
        'Unique Identifier',
        'Object Type',
        'State',
        'Name',
        'Cryptographic Algorithm',
        'Cryptographic Length',
        'Cryptographic Usage Mask',
        'Digest',
        'Initial Date',
        'Original Creation Date',
        'Last Change Date',
        'Activation Date',
        // The server's lease, set at activation (1.4 §3.15).
        'Lease Time',
        'Compromise Occurrence Date',
        'Compromise Date',
        'Revocation Reason',
        'Fresh',
        'Random Number Generator',
        'Sensitive',
        'Always Sensitive',
        'Extractable',
        'Never Extractable',
      ];
      const list = await exchange(h.executor, h.principal, V, [{ operation: Operation.GetAttributeList, payload: [uidItem(c)] }], [okItem(Operation.GetAttributeList, [uid(), ...names.map(() => p(Tag.AttributeName, ItemType.TextString, ANY))])], c);
      const got = payloadOf(list).slice(1).map((x) => x.value as string).sort();
      if (JSON.stringify(got) !== JSON.stringify([...names].sort())) throw new Error(`attribute list ${got.join(', ')}`);
      await state(c, State.Compromised);

      const edit = async (operation: number, ids: [string, string], values: [string, string] | undefined, expectedValues: [string, string]) => {
        const header = batchNumber++ < orderedBatches ? [bool(Tag.BatchOrderOption, true)] : [];
        const items = ids.map((id, n2) => ({
          operation,
          id,
          payload: [uidItem(c), values ? attr(`x-attribute${n2 + 1}`, t(0, values[n2]!)) : t(Tag.AttributeName, `x-attribute${n2 + 1}`)],
        }));
        const expected: Pattern[] = ids.map((id, n2) => okItem(operation, [uid(), pattr(`x-attribute${n2 + 1}`, p(0, ItemType.TextString, expectedValues[n2]!))], id));
        await exchange(h.executor, h.principal, V, items, expected, c, header);
      };
      await edit(Operation.AddAttribute, ['23a177faa569463c', '9b898dc0577f8080'], ['Value1', 'Value2'], ['Value1', 'Value2']);
      await edit(Operation.ModifyAttribute, ['0752c951bb9926cc', '33f55c8d7e6cafbf'], ['ModifiedValue1', 'ModifiedValue2'], ['ModifiedValue1', 'ModifiedValue2']);
      // Delete Attribute answers with the attribute as it was: its last value.
      await edit(Operation.DeleteAttribute, ['a3eb249b495e8ad2', 'c1fe7b3b4c977730'], undefined, ['ModifiedValue1', 'ModifiedValue2']);
      await getRaw(c, k.alg, k.len, k.bytes);
      await simple(c, Operation.Destroy);
    });
  }
});

