/**
 * Baseline Server profile (KMIP 2.1), mandatory test cases BL-M-1..13, and the Query Server case
 * QS-M-1, each wrapped in Interop Begin/End as the profile runs them, checked field by field. Keys
 * and certificates are generated here (of the kinds and sizes the cases use), not copied.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { BatchErrorContinuationOption, CryptographicAlgorithm, InteropFunction, ObjectType, Operation, QueryFunction, ResultReason, RevocationReasonCode, State } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { issueCertificate } from '../../server/pki/certificates.js';
import { executorHarness, type ExecutorHarness } from '../support/executor.js';
import { b, bi, bool, capture, dt, e, exchange, failedItem, i, nameItem, okItem, p, ps, ref, s, t, type Captures, type Pattern, type RequestItem } from '../support/ttlv-builder.js';
import { payloadOf } from './support.js';

const V = 21;
let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

/** The cases' dates carry a +10:00 offset. */
const date = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const uid = () => p(Tag.UniqueIdentifier, ItemType.TextString, ref('uid'));
const uidItem = (c: Captures) => t(Tag.UniqueIdentifier, c.get('uid') as string);
const big = (b64u: string | undefined) => BigInt(`0x${Buffer.from(b64u!, 'base64url').toString('hex')}`);
const keyBlock = (format: number, material: TtlvItem, alg?: number, len?: number) =>
  s(Tag.KeyBlock, [e(Tag.KeyFormatType, format), s(Tag.KeyValue, [{ ...material, tag: Tag.KeyMaterial } as TtlvItem]), ...(alg !== undefined ? [e(Tag.CryptographicAlgorithm, alg)] : []), ...(len !== undefined ? [i(Tag.CryptographicLength, len)] : [])]);
/** A pattern that must equal what we sent, item for item. */
const same = (item: TtlvItem): Pattern => (item.type === ItemType.Structure ? ps(item.tag, (item.value as TtlvItem[]).map(same)) : p(item.tag, item.type, item.value));

async function run(c: Captures, items: RequestItem[], expected: Pattern[], header: TtlvItem[] = []) {
  return exchange(h.executor, h.principal, V, items, expected, c, header);
}
async function interop(c: Captures, fn: number, id: string) {
  await run(c, [{ operation: Operation.Interop, payload: [e(Tag.InteropFunction, fn), t(Tag.InteropIdentifier, id)] }], [okItem(Operation.Interop, [])]);
}
async function registerCase(id: string, c: Captures, body: () => Promise<void>) {
  await interop(c, InteropFunction.Begin, id);
  await body();
  await interop(c, InteropFunction.End, id);
}
const register = (c: Captures, objectType: number, attributes: TtlvItem[], object: TtlvItem) =>
  run(c, [{ operation: Operation.Register, payload: [e(Tag.ObjectType, objectType), s(Tag.Attributes, attributes), object] }], [okItem(Operation.Register, [p(Tag.UniqueIdentifier, ItemType.TextString, capture('uid'))])]);
const getAttributes = (c: Captures, refs: number[], expected: Pattern[]) =>
  run(c, [{ operation: Operation.GetAttributes, payload: [uidItem(c), ...refs.map((r) => e(Tag.AttributeReference, r))] }], [okItem(Operation.GetAttributes, [uid(), ps(Tag.Attributes, expected)])]);
const getSame = (c: Captures, objectType: number, object: TtlvItem) =>
  run(c, [{ operation: Operation.Get, payload: [uidItem(c)] }], [okItem(Operation.Get, [p(Tag.ObjectType, ItemType.Enumeration, objectType), uid(), same(object)])]);
const simple = (c: Captures, operation: number) => run(c, [{ operation, payload: [uidItem(c)] }], [okItem(operation, [uid()])]);
const failed = (c: Captures, operation: number, payload: TtlvItem[], reason: number) => run(c, [{ operation, payload }], [failedItem(operation, reason)]);
const stateAndType = (objectType: number, state: number) => [p(Tag.State, ItemType.Enumeration, state), p(Tag.ObjectType, ItemType.Enumeration, objectType)];

const AES_128 = b(Tag.KeyMaterial, '0123456789abcdef0123456789abcdef');

describe('Baseline Server, KMIP 2.1', () => {
  it('BL-M-1-21: Register a symmetric key, Locate it by Name, Get it back unchanged, Destroy it, Log', async () => {
    const c: Captures = new Map();
    const key = s(Tag.SymmetricKey, [keyBlock(1, AES_128, CryptographicAlgorithm.AES, 128)]);
    await registerCase('BL-M-1-21', c, async () => {
      await register(c, ObjectType.SymmetricKey, [nameItem('BL-M-1-21'), i(Tag.CryptographicUsageMask, 0x04), e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 128)], key);
      await run(c, [{ operation: Operation.Locate, payload: [s(Tag.Attributes, [nameItem('BL-M-1-21')])] }], [okItem(Operation.Locate, [uid()])]);
      await getSame(c, ObjectType.SymmetricKey, key);
      await simple(c, Operation.Destroy);
      await run(c, [{ operation: Operation.Log, payload: [t(Tag.LogMessage, 'Registered a symmetric key.')] }], [okItem(Operation.Log, [])]);
    });
    expect(h.audit.some((a) => a.note === 'Registered a symmetric key.')).toBe(true);
  });

  it('BL-M-2-21: a batch with Undo rolls the Activate back when a Check fails', async () => {
    const c: Captures = new Map();
    await registerCase('BL-M-2-21', c, async () => {
      await register(c, ObjectType.SymmetricKey, [i(Tag.CryptographicUsageMask, 0x04), e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 128)], s(Tag.SymmetricKey, [keyBlock(1, AES_128, CryptographicAlgorithm.AES, 128)]));
      await run(
        c,
        [
          { operation: Operation.Activate, id: 'ef97f5f50b3166dd', payload: [uidItem(c)] },
          { operation: Operation.Check, id: '3a98e76c02342fca', payload: [uidItem(c), i(Tag.CryptographicUsageMask, 0x04)] },
          { operation: Operation.Check, id: '9981fc34136200f8', payload: [uidItem(c), i(Tag.CryptographicUsageMask, 0x08)] },
        ],
        [
          ps(Tag.BatchItem, [p(Tag.Operation, ItemType.Enumeration, Operation.Activate), p(Tag.UniqueBatchItemID, ItemType.ByteString, new Uint8Array(Buffer.from('ef97f5f50b3166dd', 'hex'))), p(Tag.ResultStatus, ItemType.Enumeration, 3), ps(Tag.ResponsePayload, [uid()])]),
          ps(Tag.BatchItem, [p(Tag.Operation, ItemType.Enumeration, Operation.Check), p(Tag.UniqueBatchItemID, ItemType.ByteString, new Uint8Array(Buffer.from('3a98e76c02342fca', 'hex'))), p(Tag.ResultStatus, ItemType.Enumeration, 3), ps(Tag.ResponsePayload, [uid()])]),
          failedItem(Operation.Check, ResultReason.IncompatibleCryptographicUsageMask, '9981fc34136200f8'),
        ],
        [e(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Undo)],
      );
      // Name was never set: it is left out. State shows the Activate was undone.
      await getAttributes(c, [Tag.Name, Tag.State, Tag.ObjectType], stateAndType(ObjectType.SymmetricKey, State.PreActive));
    });
  });

  it('BL-M-3-21: Register a Transparent key with a past Activation Date: Active at once, algorithm from the Key Block, Check by usage', async () => {
    const c: Captures = new Map();
    const key = s(Tag.SymmetricKey, [keyBlock(7, s(Tag.KeyMaterial, [b(Tag.Key, '0123456789abcdef0123456789abcdef')]), CryptographicAlgorithm.AES, 128)]);
    await registerCase('BL-M-3-21', c, async () => {
      await register(c, ObjectType.SymmetricKey, [i(Tag.CryptographicUsageMask, 0x08), dt(Tag.ActivationDate, date('2000-02-01T00:00:00+10:00'))], key);
      await getSame(c, ObjectType.SymmetricKey, key);
      await getAttributes(c, [Tag.CryptographicAlgorithm, Tag.CryptographicLength, Tag.State], [p(Tag.CryptographicAlgorithm, ItemType.Enumeration, CryptographicAlgorithm.AES), p(Tag.CryptographicLength, ItemType.Integer, 128), p(Tag.State, ItemType.Enumeration, State.Active)]);
      await run(c, [{ operation: Operation.Check, payload: [uidItem(c), i(Tag.CryptographicUsageMask, 0x08)] }], [okItem(Operation.Check, [uid()])]);
      await failed(c, Operation.Check, [uidItem(c), i(Tag.CryptographicUsageMask, 0x04)], ResultReason.IncompatibleCryptographicUsageMask);
    });
  });

  it('BL-M-4-21: Secret Data found by a Protect Stop Date range; Get of an unknown identifier is Object Not Found', async () => {
    const c: Captures = new Map();
    const secret = s(Tag.SecretData, [e(Tag.SecretDataType, 1), keyBlock(1, b(Tag.KeyMaterial, Buffer.from('password').toString('hex')))]);
    await registerCase('BL-M-4-21', c, async () => {
      await register(c, ObjectType.SecretData, [dt(Tag.ProtectStopDate, date('2000-02-01T00:00:00+10:00'))], secret);
      await run(
        c,
        [{ operation: Operation.Locate, payload: [s(Tag.Attributes, [e(Tag.ObjectType, ObjectType.SecretData), dt(Tag.ProtectStopDate, date('2000-01-01T00:00:00+10:00')), dt(Tag.ProtectStopDate, date('2000-02-10T00:00:00+10:00'))])] }],
        [okItem(Operation.Locate, [uid()])],
      );
      await getSame(c, ObjectType.SecretData, secret);
      await getAttributes(c, [Tag.Name, Tag.State, Tag.ObjectType], stateAndType(ObjectType.SecretData, State.PreActive));
      await failed(c, Operation.Get, [t(Tag.UniqueIdentifier, 'AAABBBCCC')], ResultReason.ObjectNotFound);
    });
  });

  it('BL-M-5-21: an Opaque Object; a second Description is refused (Attribute Single Valued) and the first is kept', async () => {
    const c: Captures = new Map();
    const opaque = s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80123456), b(Tag.OpaqueDataValue, '0123456789abcdef0123456789abcdef')]);
    await registerCase('BL-M-5-21', c, async () => {
      await register(c, ObjectType.OpaqueObject, [i(Tag.CryptographicUsageMask, 0x04), dt(Tag.ActivationDate, date('2000-02-01T00:00:00+10:00'))], opaque);
      await getSame(c, ObjectType.OpaqueObject, opaque);
      await run(c, [{ operation: Operation.AddAttribute, payload: [uidItem(c), s(Tag.NewAttribute, [t(Tag.Description, 'This is opaque')])] }], [okItem(Operation.AddAttribute, [uid()])]);
      await failed(c, Operation.AddAttribute, [uidItem(c), s(Tag.NewAttribute, [t(Tag.Description, 'This is opaque duplicate')])], ResultReason.AttributeSingleValued);
      await getAttributes(c, [Tag.ObjectType, Tag.Description], [p(Tag.ObjectType, ItemType.Enumeration, ObjectType.OpaqueObject), p(Tag.Description, ItemType.TextString, 'This is opaque')]);
    });
  });

  it('BL-M-6-21: a PKCS#1 RSA public key with a past Activation Date: Active, algorithm and length kept', async () => {
    const c: Captures = new Map();
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = s(Tag.PublicKey, [keyBlock(3, b(Tag.KeyMaterial, publicKey.export({ type: 'pkcs1', format: 'der' })), CryptographicAlgorithm.RSA, 2048)]);
    await registerCase('BL-M-6-21', c, async () => {
      await register(c, ObjectType.PublicKey, [dt(Tag.ActivationDate, date('2000-02-02T00:00:00+10:00')), i(Tag.CryptographicUsageMask, 0x04)], key);
      await getSame(c, ObjectType.PublicKey, key);
      await getAttributes(c, [Tag.Name, Tag.State, Tag.ObjectType], stateAndType(ObjectType.PublicKey, State.Active));
      await getAttributes(c, [Tag.CryptographicAlgorithm, Tag.CryptographicLength], [p(Tag.CryptographicAlgorithm, ItemType.Enumeration, CryptographicAlgorithm.RSA), p(Tag.CryptographicLength, ItemType.Integer, 2048)]);
    });
  });

  it('BL-M-7-21: State cannot be set by a client (Attribute Read Only); Revoke makes the key Compromised', async () => {
    const c: Captures = new Map();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const key = s(Tag.PrivateKey, [keyBlock(3, b(Tag.KeyMaterial, privateKey.export({ type: 'pkcs1', format: 'der' })), CryptographicAlgorithm.RSA, 1024)]);
    await registerCase('BL-M-7-21', c, async () => {
      await register(c, ObjectType.PrivateKey, [dt(Tag.ActivationDate, date('2000-02-02T00:00:00+10:00')), dt(Tag.DeactivationDate, date('2000-02-03T00:00:00+10:00')), i(Tag.CryptographicUsageMask, 0x10)], key);
      await failed(c, Operation.ModifyAttribute, [uidItem(c), s(Tag.NewAttribute, [e(Tag.State, State.Compromised)])], ResultReason.AttributeReadOnly);
      await run(
        c,
        [{ operation: Operation.Revoke, payload: [uidItem(c), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise), t(Tag.RevocationMessage, 'Superseded')]), dt(Tag.CompromiseOccurrenceDate, date('2018-12-09T18:43:13+10:00'))] }],
        [okItem(Operation.Revoke, [uid()])],
      );
      await getAttributes(c, [Tag.Name, Tag.State, Tag.ObjectType], stateAndType(ObjectType.PrivateKey, State.Compromised));
    });
  });

  it('BL-M-8-21: a Name in use is refused (Non Unique Name Attribute); after Destroy, attributes stay readable and Get is Object Destroyed', async () => {
    const c: Captures = new Map();
    const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const key = s(Tag.PublicKey, [keyBlock(0x0b, s(Tag.KeyMaterial, [bi(Tag.Modulus, big(jwk.n)), bi(Tag.PublicExponent, big(jwk.e))]), CryptographicAlgorithm.RSA, 2048)]);
    await registerCase('BL-M-8-21', c, async () => {
      await register(c, ObjectType.PublicKey, [nameItem('BL-M-8-21'), i(Tag.CryptographicUsageMask, 0x04)], key);
      await failed(c, Operation.AddAttribute, [uidItem(c), s(Tag.NewAttribute, [nameItem('BL-M-8-21')])], ResultReason.NonUniqueNameAttribute);
      await simple(c, Operation.Destroy);
      await getAttributes(c, [Tag.State], [p(Tag.State, ItemType.Enumeration, State.Destroyed)]);
      await failed(c, Operation.Get, [uidItem(c)], ResultReason.ObjectDestroyed);
    });
  });

  it('BL-M-9-21: a Transparent RSA private key is registered and destroyed', async () => {
    const c: Captures = new Map();
    const j = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
    const material = s(Tag.KeyMaterial, [
      bi(Tag.Modulus, big(j.n)),
      bi(Tag.PrivateExponent, big(j.d)),
      bi(Tag.PublicExponent, big(j.e)),
      bi(Tag.P, big(j.p)),
      bi(Tag.Q, big(j.q)),
      bi(Tag.PrimeExponentP, big(j.dp)),
      bi(Tag.PrimeExponentQ, big(j.dq)),
      bi(Tag.CRTCoefficient, big(j.qi)),
    ]);
    await registerCase('BL-M-9-21', c, async () => {
      await register(c, ObjectType.PrivateKey, [i(Tag.CryptographicUsageMask, 0x08)], s(Tag.PrivateKey, [keyBlock(0x0a, material, CryptographicAlgorithm.RSA, 1024)]));
      await simple(c, Operation.Destroy);
      await getAttributes(c, [Tag.Name, Tag.State, Tag.ObjectType], stateAndType(ObjectType.PrivateKey, State.Destroyed));
    });
  });

  it('BL-M-10-21: a certificate’s subject CN and length are derived from it and cannot be modified', async () => {
    const c: Captures = new Map();
    const der = new Uint8Array(new X509Certificate(issueCertificate({ commonName: 'BL-M-10', rsaBits: 2048 }).certificatePem).raw);
    await registerCase('BL-M-10-21', c, async () => {
      await register(c, ObjectType.Certificate, [e(Tag.CertificateType, 1)], s(Tag.Certificate, [e(Tag.CertificateType, 1), b(Tag.CertificateValue, der)]));
      await getAttributes(c, [Tag.CertificateSubjectCN, Tag.CertificateLength], [p(Tag.CertificateSubjectCN, ItemType.TextString, 'BL-M-10'), p(Tag.CertificateLength, ItemType.Integer, der.length)]);
      await failed(c, Operation.ModifyAttribute, [uidItem(c), s(Tag.NewAttribute, [i(Tag.CertificateLength, 123)])], ResultReason.AttributeReadOnly);
    });
  });

  it('BL-M-11-21: a PKCS#8 private key is revoked for compromise', async () => {
    const c: Captures = new Map();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await registerCase('BL-M-11-21', c, async () => {
      await register(c, ObjectType.PrivateKey, [dt(Tag.ActivationDate, date('2000-02-02T00:00:00+10:00')), i(Tag.CryptographicUsageMask, 0x04)], s(Tag.PrivateKey, [keyBlock(4, b(Tag.KeyMaterial, privateKey.export({ type: 'pkcs8', format: 'der' })), CryptographicAlgorithm.RSA, 1024)]));
      await run(
        c,
        [{ operation: Operation.Revoke, payload: [uidItem(c), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, RevocationReasonCode.KeyCompromise), t(Tag.RevocationMessage, 'Security Breach...')]), dt(Tag.CompromiseOccurrenceDate, date('2000-02-02T00:00:00+10:00'))] }],
        [okItem(Operation.Revoke, [uid()])],
      );
      await getAttributes(c, [Tag.Name, Tag.State, Tag.ObjectType], stateAndType(ObjectType.PrivateKey, State.Compromised));
    });
  });

  it('BL-M-12-21: a Sensitive key is never served (Sensitive) and is Always Sensitive', async () => {
    const c: Captures = new Map();
    const dsa = s(Tag.KeyMaterial, [bi(Tag.P, (1n << 511n) + 187n), bi(Tag.Q, (1n << 159n) + 7n), bi(Tag.G, 5n), bi(Tag.Y, 123456789n)]);
    await registerCase('BL-M-12-21', c, async () => {
      await register(c, ObjectType.PublicKey, [i(Tag.CryptographicUsageMask, 0x02), bool(Tag.Sensitive, true)], s(Tag.PublicKey, [keyBlock(9, dsa, CryptographicAlgorithm.DSA, 512)]));
      await failed(c, Operation.Get, [uidItem(c)], ResultReason.Sensitive);
      await getAttributes(c, [Tag.AlwaysSensitive], [p(Tag.AlwaysSensitive, ItemType.Boolean, true)]);
    });
  });

  it('BL-M-13-21: Fresh is true until the first Get', async () => {
    const c: Captures = new Map();
    const key = s(Tag.PrivateKey, [keyBlock(8, s(Tag.KeyMaterial, [bi(Tag.P, (1n << 511n) + 187n), bi(Tag.Q, (1n << 159n) + 7n), bi(Tag.G, 5n), bi(Tag.X, 987654321n)]), CryptographicAlgorithm.DSA, 512)]);
    await registerCase('BL-M-13-21', c, async () => {
      await register(c, ObjectType.PrivateKey, [i(Tag.CryptographicUsageMask, 0x01), bool(Tag.Fresh, true)], key);
      await getAttributes(c, [Tag.Fresh], [p(Tag.Fresh, ItemType.Boolean, true)]);
      await getSame(c, ObjectType.PrivateKey, key);
      await getAttributes(c, [Tag.Fresh], [p(Tag.Fresh, ItemType.Boolean, false)]);
    });
  });
});

describe('Query Server, KMIP 2.1', () => {
  it('QS-M-1-21: Query Operations answers the operations only, and every one is served', async () => {
    const c: Captures = new Map();
    const raw = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations] } }], { version: V });
    const ops = raw.items[0]!.payload!['operations'] as number[];
    expect(ops.length).toBeGreaterThan(15);
    for (const op of [Operation.Register, Operation.Get, Operation.Locate, Operation.Check, Operation.Interop, Operation.Log, Operation.SetAttribute]) expect(ops).toContain(op);
    // Exactly the operations the server implements (a fixed list, not the server's own answer).
    const implemented = ['Activate', 'AddAttribute', 'AdjustAttribute', 'Archive', 'Cancel', 'Certify', 'Check', 'Create', 'CreateKeyPair', 'CreateSplitKey', 'Decrypt', 'DeleteAttribute', 'DeriveKey', 'Destroy', 'DiscoverVersions', 'Encrypt', 'Export', 'Get', 'GetAttributeList', 'GetAttributes', 'GetUsageAllocation', 'Hash', 'Import', 'Interop', 'JoinSplitKey', 'Locate', 'Log', 'MAC', 'MACVerify', 'ModifyAttribute', 'ObtainLease', 'PKCS_11', 'Poll', 'Query', 'ReCertify', 'Recover', 'Register', 'ReKey', 'ReKeyKeyPair', 'Revoke', 'RNGRetrieve', 'RNGSeed', 'SetAttribute', 'SetEndpointRole', 'Sign', 'SignatureVerify'] as const;
    expect([...ops].sort((a, b) => a - b)).toEqual(implemented.map((name) => Operation[name]).sort((a, b) => a - b));
    // Every one listed is served: an empty request may be refused for what it lacks, never as unsupported.
    for (const op of ops) {
      const item = (await h.run([{ operation: op, payload: s(Tag.RequestPayload, []) }], { version: V })).items[0]!;
      expect(item.resultReason, `operation ${op}`).not.toBe(ResultReason.OperationNotSupported);
    }
    // Notify is server-to-client (2.1 §6.2): no server serves it to a client.
    expect((await h.run([{ operation: Operation.Notify, payload: s(Tag.RequestPayload, []) }], { version: V })).items[0]!.resultReason).toBe(ResultReason.OperationNotSupported);
    // Only Operation items, nothing else was asked for.
    const direct = await exchange(h.executor, h.principal, V, [{ operation: Operation.Query, payload: [e(Tag.QueryFunction, QueryFunction.QueryOperations)] }], [okItem(Operation.Query, ops.map((o) => p(Tag.Operation, ItemType.Enumeration, o)))], c);
    expect(payloadOf(direct).every((x) => x.tag === Tag.Operation)).toBe(true);
    expect(payloadOf(direct)).toHaveLength(ops.length);
  });
});
