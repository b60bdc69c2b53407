/**
 * Create Key Pair, ReKey and ReKey Key Pair through the executor: real keys (a signature made with
 * the private half verifies with the public half), links both ways, Names that move, offsets.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TtlvItem } from '../../../server/ttlv/index.js';
import { CryptographicAlgorithm, CryptographicUsageMask, LinkType, ObjectType, Operation, RecommendedCurve, ResultReason, ResultStatus, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { attributeMap, enumAttr, intAttr, nameAttr } from '../../support/attributes.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { e, i, nameItem, s } from '../../support/ttlv-builder.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const template = (attributes: object[], names: object[] = []) => ({ names, attributes });

async function createPair(common: object[], priv: object[] = [], pub: object[] = [], version = 14) {
  const r = await h.run(
    [{ operation: Operation.CreateKeyPair, payload: { commonTemplateAttribute: template(common), privateKeyTemplateAttribute: template(priv), publicKeyTemplateAttribute: template(pub) } }],
    { version },
  );
  return r.items[0]!;
}

async function attributes(uid: string, names: string[] = []) {
  const r = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: names, attributeReferences: [] } }], { version: 14 });
  return attributeMap(r.items[0]!.payload!['attributes'] as TtlvItem[]);
}
const valueOf = (m: Map<string, TtlvItem[]>, name: string) => m.get(name)?.[0]?.value;
function links(m: Map<string, TtlvItem[]>): Array<[number, string]> {
  return (m.get('Link') ?? []).map((l) => {
    const [type, id] = l.value as TtlvItem[];
    return [type!.value as number, id!.value as string];
  });
}

async function keyDer(uid: string, field: 'privateKey' | 'publicKey'): Promise<{ der: Buffer; format: number }> {
  const r = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }], { version: 14 });
  const block = (r.items[0]!.payload![field] as TtlvItem).value as TtlvItem[];
  const kb = block[0]!.value as TtlvItem[];
  const material = (kb.find((x) => x.tag === Tag.KeyValue)!.value as TtlvItem[])[0]!;
  return { der: Buffer.from(material.value as Uint8Array), format: kb[0]!.value as number };
}

async function signsAndVerifies(privateUid: string, publicUid: string, type: 'rsa' | 'ec') {
  const priv = await keyDer(privateUid, 'privateKey');
  const pub = await keyDer(publicUid, 'publicKey');
  const privateKey = createPrivateKey({ key: priv.der, format: 'der', type: type === 'rsa' ? 'pkcs1' : 'pkcs8' });
  const publicKey = createPublicKey({ key: pub.der, format: 'der', type: type === 'rsa' ? 'pkcs1' : 'spki' });
  const data = Buffer.from('the halves belong together');
  expect(verify('sha256', data, publicKey, sign('sha256', data, privateKey))).toBe(true);
}

describe('Create Key Pair', () => {
  it('RSA 2048: linked halves, Sign/Verify by default, each its own Name, a pair that signs and verifies', async () => {
    const item = await createPair([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.RSA), intAttr('Cryptographic Length', 2048)], [nameAttr('pair-private')], [nameAttr('pair-public')]);
    expect(item.resultStatus).toBe(ResultStatus.Success);
    const privateUid = item.payload!['privateKeyUniqueIdentifier'] as string;
    const publicUid = item.payload!['publicKeyUniqueIdentifier'] as string;
    const priv = await attributes(privateUid);
    const pub = await attributes(publicUid);
    expect(valueOf(priv, 'Object Type')).toBe(ObjectType.PrivateKey);
    expect(valueOf(pub, 'Object Type')).toBe(ObjectType.PublicKey);
    expect(links(priv)).toEqual([[LinkType.PublicKeyLink, publicUid]]);
    expect(links(pub)).toEqual([[LinkType.PrivateKeyLink, privateUid]]);
    expect(valueOf(priv, 'Cryptographic Usage Mask')).toBe(CryptographicUsageMask.Sign);
    expect(valueOf(pub, 'Cryptographic Usage Mask')).toBe(CryptographicUsageMask.Verify);
    expect(valueOf(priv, 'Cryptographic Length')).toBe(2048);
    expect(((priv.get('Name')![0]!.value as TtlvItem[])[0]!.value)).toBe('pair-private');
    await signsAndVerifies(privateUid, publicUid, 'rsa');
  });

  it('EC P-256 (by length) and P-384 (by curve, in 2.x Attributes)', async () => {
    const p256 = await createPair([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.ECDSA), intAttr('Cryptographic Length', 256)]);
    expect(p256.resultStatus).toBe(ResultStatus.Success);
    await signsAndVerifies(p256.payload!['privateKeyUniqueIdentifier'] as string, p256.payload!['publicKeyUniqueIdentifier'] as string, 'ec');
    const r = await h.run(
      [
        {
          operation: Operation.CreateKeyPair,
          payload: s(Tag.RequestPayload, [
            s(Tag.CommonAttributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.EC), s(Tag.CryptographicDomainParameters, [e(Tag.RecommendedCurve, RecommendedCurve.P_384)])]),
            s(Tag.PrivateKeyAttributes, [nameItem('p384-private'), i(Tag.CryptographicUsageMask, CryptographicUsageMask.Sign)]),
            s(Tag.PublicKeyAttributes, [nameItem('p384-public')]),
          ]),
        },
      ],
      { version: 21 },
    );
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    const m = await attributes(r.items[0]!.payload!['publicKeyUniqueIdentifier'] as string, ['Cryptographic Length', 'Cryptographic Algorithm']);
    expect(valueOf(m, 'Cryptographic Length')).toBe(384);
    expect(valueOf(m, 'Cryptographic Algorithm')).toBe(CryptographicAlgorithm.EC);
  });

  it('refuses weak or unknown parameters, and a Name both halves would share', async () => {
    const weak = await createPair([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.RSA), intAttr('Cryptographic Length', 1024)]);
    expect(weak.resultReason).toBe(ResultReason.InvalidField);
    const aes = await createPair([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.AES), intAttr('Cryptographic Length', 256)]);
    expect(aes.resultStatus).toBe(ResultStatus.OperationFailed);
    const r = await h.run(
      [{ operation: Operation.CreateKeyPair, payload: { commonTemplateAttribute: template([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.RSA), intAttr('Cryptographic Length', 2048), nameAttr('shared')]) } }],
      { version: 14 },
    );
    expect(r.items[0]!.resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('ReKey', () => {
  it('replaces a symmetric key: new material, same kind, Name moved, linked both ways, activation offset', async () => {
    const created = await h.run([{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: template([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.AES), intAttr('Cryptographic Length', 256), nameAttr('rotating')]) } }], { version: 14 });
    const oldUid = created.items[0]!.payload!['uniqueIdentifier'] as string;
    await h.run([{ operation: Operation.Activate, payload: { uniqueIdentifier: oldUid } }]);
    const r = await h.run([{ operation: Operation.ReKey, payload: { uniqueIdentifier: oldUid, offset: 3600 } }], { version: 14 });
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    const newUid = r.items[0]!.payload!['uniqueIdentifier'] as string;
    expect(newUid).not.toBe(oldUid);
    const old = await attributes(oldUid);
    const next = await attributes(newUid);
    expect(old.get('Name')).toBeUndefined();
    expect(((next.get('Name')![0]!.value as TtlvItem[])[0]!.value)).toBe('rotating');
    expect(links(old)).toEqual([[LinkType.ReplacementObjectLink, newUid]]);
    expect(links(next)).toEqual([[LinkType.ReplacedObjectLink, oldUid]]);
    expect(valueOf(next, 'Cryptographic Length')).toBe(256);
    expect(valueOf(next, 'State')).toBe(State.PreActive);
    expect(Math.abs(Number(valueOf(next, 'Activation Date')) - (Date.now() / 1000 + 3600))).toBeLessThan(60);
    const keyBytes = async (u: string) => {
      const r2 = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: u } }]);
      const block = ((r2.items[0]!.payload!['symmetricKey'] as TtlvItem).value as TtlvItem[])[0]!.value as TtlvItem[];
      const material = (block.find((x) => x.tag === Tag.KeyValue)!.value as TtlvItem[])[0]!;
      return Buffer.from(material.value as Uint8Array);
    };
    const [oldKey, newKey] = [await keyBytes(oldUid), await keyBytes(newUid)];
    expect(oldKey.length).toBe(32);
    expect(newKey.length).toBe(32);
    expect(oldKey.equals(newKey)).toBe(false);
    // The Name is found on the new key only.
    const found = await h.run([{ operation: Operation.Locate, payload: { attributes: [nameAttr('rotating')] } }], { version: 14 });
    expect(found.items[0]!.payload!['uniqueIdentifiers']).toEqual([newUid]);
  });

  it('refuses a destroyed key and a key pair half', async () => {
    const created = await h.run([{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: template([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.AES), intAttr('Cryptographic Length', 128)]) } }]);
    const uid = created.items[0]!.payload!['uniqueIdentifier'] as string;
    await h.run([{ operation: Operation.Destroy, payload: { uniqueIdentifier: uid } }]);
    expect((await h.run([{ operation: Operation.ReKey, payload: { uniqueIdentifier: uid } }], { version: 14 })).items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
    const pair = await createPair([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.ECDSA), intAttr('Cryptographic Length', 256)]);
    const half = await h.run([{ operation: Operation.ReKey, payload: { uniqueIdentifier: pair.payload!['privateKeyUniqueIdentifier'] as string } }], { version: 14 });
    expect(half.items[0]!.resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('ReKey Key Pair', () => {
  it('replaces both halves, moves their Names, links each new half to the one it replaces', async () => {
    const pair = await createPair([enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.RSA), intAttr('Cryptographic Length', 2048)], [nameAttr('rk-private')], [nameAttr('rk-public')]);
    const oldPrivate = pair.payload!['privateKeyUniqueIdentifier'] as string;
    const oldPublic = pair.payload!['publicKeyUniqueIdentifier'] as string;
    const r = await h.run([{ operation: Operation.ReKeyKeyPair, payload: { privateKeyUniqueIdentifier: oldPrivate } }], { version: 14 });
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    const newPrivate = r.items[0]!.payload!['privateKeyUniqueIdentifier'] as string;
    const newPublic = r.items[0]!.payload!['publicKeyUniqueIdentifier'] as string;
    expect(links(await attributes(newPrivate))).toEqual([[LinkType.PublicKeyLink, newPublic], [LinkType.ReplacedObjectLink, oldPrivate]]);
    expect(links(await attributes(newPublic))).toEqual([[LinkType.PrivateKeyLink, newPrivate], [LinkType.ReplacedObjectLink, oldPublic]]);
    expect(links(await attributes(oldPrivate))).toEqual([[LinkType.PublicKeyLink, oldPublic], [LinkType.ReplacementObjectLink, newPrivate]]);
    expect((await attributes(oldPublic)).get('Name')).toBeUndefined();
    expect((((await attributes(newPublic)).get('Name')![0]!.value as TtlvItem[])[0]!.value)).toBe('rk-public');
    await signsAndVerifies(newPrivate, newPublic, 'rsa');
  });
});
