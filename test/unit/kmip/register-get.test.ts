/**
 * Register and Get for every object type and key format: what is registered comes back byte for
 * byte, every conversion the formats allow gives the same key (checked with node's own crypto),
 * and malformed or inconsistent objects are refused.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTtlv, type TtlvItem } from '../../../server/ttlv/index.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, RecommendedCurve, ResultReason, ResultStatus } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { b, bi, e, i, s } from '../../support/ttlv-builder.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const V = 14;
const payload = (children: TtlvItem[]): TtlvItem => s(Tag.RequestPayload, children);
const big = (b64u: string | undefined) => BigInt(`0x${Buffer.from(b64u!, 'base64url').toString('hex')}`);
const keyBlock = (format: number, material: TtlvItem, alg?: number, len?: number) =>
  s(Tag.KeyBlock, [e(Tag.KeyFormatType, format), s(Tag.KeyValue, [{ ...material, tag: Tag.KeyMaterial } as TtlvItem]), ...(alg !== undefined ? [e(Tag.CryptographicAlgorithm, alg)] : []), ...(len !== undefined ? [i(Tag.CryptographicLength, len)] : [])]);

async function register(objectType: number, object: TtlvItem): Promise<{ status: number; reason?: number; uid?: string }> {
  const r = await h.run([{ operation: Operation.Register, payload: payload([e(Tag.ObjectType, objectType), s(Tag.TemplateAttribute, []), object]) }], { version: V });
  const item = r.items[0]!;
  return { status: item.resultStatus, ...(item.resultReason !== undefined ? { reason: item.resultReason } : {}), ...(item.payload ? { uid: item.payload['uniqueIdentifier'] as string } : {}) };
}

const FIELD: Record<number, string> = {
  [ObjectType.SymmetricKey]: 'symmetricKey',
  [ObjectType.PublicKey]: 'publicKey',
  [ObjectType.PrivateKey]: 'privateKey',
  [ObjectType.SecretData]: 'secretData',
  [ObjectType.OpaqueObject]: 'opaqueObject',
  [ObjectType.Certificate]: 'certificate',
};

async function get(uid: string, objectType: number, format?: number): Promise<{ status: number; reason?: number; object?: TtlvItem }> {
  const r = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid, ...(format !== undefined ? { keyFormatType: format } : {}) } }], { version: V });
  const item = r.items[0]!;
  return { status: item.resultStatus, ...(item.resultReason !== undefined ? { reason: item.resultReason } : {}), ...(item.payload ? { object: item.payload[FIELD[objectType]!] as TtlvItem } : {}) };
}

/** Key Material of a returned Public/Private/Symmetric Key object. */
function materialOf(object: TtlvItem): TtlvItem {
  const block = (object.value as TtlvItem[])[0]!;
  const keyValue = (block.value as TtlvItem[]).find((x) => x.tag === Tag.KeyValue)!;
  return (keyValue.value as TtlvItem[])[0]!;
}
function formatOf(object: TtlvItem): number {
  return (((object.value as TtlvItem[])[0]!.value as TtlvItem[])[0]!.value as number);
}
const field = (material: TtlvItem, tag: number) => (material.value as TtlvItem[]).find((x) => x.tag === tag)!.value;
const der = (material: TtlvItem) => Buffer.from(material.value as Uint8Array);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function rsaPrivateTransparent(key: KeyObject): TtlvItem {
  const j = key.export({ format: 'jwk' });
  return s(Tag.KeyMaterial, [
    bi(Tag.Modulus, big(j.n)),
    bi(Tag.PrivateExponent, big(j.d)),
    bi(Tag.PublicExponent, big(j.e)),
    bi(Tag.P, big(j.p)),
    bi(Tag.Q, big(j.q)),
    bi(Tag.PrimeExponentP, big(j.dp)),
    bi(Tag.PrimeExponentQ, big(j.dq)),
    bi(Tag.CRTCoefficient, big(j.qi)),
  ]);
}

describe('Register then Get returns the object byte for byte', () => {
  const certDer = new Uint8Array(new X509Certificate(issueCertificate({ commonName: 'round-trip' }).certificatePem).raw);
  const ecJwk = ec.publicKey.export({ format: 'jwk' });
  const cases: Array<[string, number, TtlvItem]> = [
    ['symmetric key, Raw', ObjectType.SymmetricKey, s(Tag.SymmetricKey, [keyBlock(KeyFormatType.Raw, b(0, '00112233445566778899aabbccddeeff'), CryptographicAlgorithm.AES, 128)])],
    ['symmetric key, Transparent', ObjectType.SymmetricKey, s(Tag.SymmetricKey, [keyBlock(KeyFormatType.TransparentSymmetricKey, s(0, [b(Tag.Key, '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff')]), CryptographicAlgorithm.AES, 256)])],
    ['secret data (password)', ObjectType.SecretData, s(Tag.SecretData, [e(Tag.SecretDataType, 1), keyBlock(KeyFormatType.Raw, b(0, Buffer.from('hunter2-but-longer').toString('hex')))])],
    ['opaque object', ObjectType.OpaqueObject, s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, 'deadbeef')])],
    ['X.509 certificate', ObjectType.Certificate, s(Tag.Certificate, [e(Tag.CertificateType, 1), b(Tag.CertificateValue, certDer)])],
    ['RSA public key, PKCS#1', ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.PKCS_1, b(0, rsa.publicKey.export({ type: 'pkcs1', format: 'der' })), CryptographicAlgorithm.RSA, 2048)])],
    ['RSA public key, X.509', ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.X_509, b(0, rsa.publicKey.export({ type: 'spki', format: 'der' })))])],
    ['EC public key, Transparent', ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.TransparentECPublicKey, s(0, [e(Tag.RecommendedCurve, RecommendedCurve.P_256), b(Tag.QString, Buffer.concat([Buffer.from([4]), Buffer.from(ecJwk.x!, 'base64url'), Buffer.from(ecJwk.y!, 'base64url')]))]), CryptographicAlgorithm.ECDSA, 256)])],
    ['RSA private key, PKCS#1', ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_1, b(0, rsa.privateKey.export({ type: 'pkcs1', format: 'der' })), CryptographicAlgorithm.RSA, 2048)])],
    ['RSA private key, Transparent', ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.TransparentRSAPrivateKey, rsaPrivateTransparent(rsa.privateKey), CryptographicAlgorithm.RSA, 2048)])],
    ['EC private key, PKCS#8', ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_8, b(0, ec.privateKey.export({ type: 'pkcs8', format: 'der' })), CryptographicAlgorithm.EC, 256)])],
    ['EC private key, SEC1', ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.ECPrivateKey, b(0, ec.privateKey.export({ type: 'sec1', format: 'der' })))])],
    ['DSA public key, Transparent (kept as is)', ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.TransparentDSAPublicKey, s(0, [bi(Tag.P, 23n), bi(Tag.Q, 11n), bi(Tag.G, 4n), bi(Tag.Y, 9n)]), CryptographicAlgorithm.DSA, 512)])],
  ];
  for (const [label, objectType, object] of cases) {
    it(label, async () => {
      const r = await register(objectType, object);
      expect(r.status, label).toBe(ResultStatus.Success);
      const back = await get(r.uid!, objectType);
      expect(back.status).toBe(ResultStatus.Success);
      expect(Buffer.from(encodeTtlv(back.object!)).equals(Buffer.from(encodeTtlv(object)))).toBe(true);
    });
  }
});

describe('Get converts between the formats a key type allows', () => {
  it('an RSA private key: PKCS#1, PKCS#8, Transparent — all the same key', async () => {
    const { uid } = await register(ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_1, b(0, rsa.privateKey.export({ type: 'pkcs1', format: 'der' })))]));
    const p8 = await get(uid!, ObjectType.PrivateKey, KeyFormatType.PKCS_8);
    expect(formatOf(p8.object!)).toBe(KeyFormatType.PKCS_8);
    expect(createPrivateKey({ key: der(materialOf(p8.object!)), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d).toBe(rsa.privateKey.export({ format: 'jwk' }).d);
    const transparent = await get(uid!, ObjectType.PrivateKey, KeyFormatType.TransparentRSAPrivateKey);
    const j = rsa.privateKey.export({ format: 'jwk' });
    expect(field(materialOf(transparent.object!), Tag.Modulus)).toBe(big(j.n));
    expect(field(materialOf(transparent.object!), Tag.CRTCoefficient)).toBe(big(j.qi));
    // And from the Transparent form back to PKCS#1, the bytes node itself writes.
    const fromTransparent = await register(ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.TransparentRSAPrivateKey, rsaPrivateTransparent(rsa.privateKey))]));
    const p1 = await get(fromTransparent.uid!, ObjectType.PrivateKey, KeyFormatType.PKCS_1);
    expect(der(materialOf(p1.object!)).equals(rsa.privateKey.export({ type: 'pkcs1', format: 'der' }))).toBe(true);
  });

  it('an RSA public key: PKCS#1, X.509, Transparent', async () => {
    const { uid } = await register(ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.X_509, b(0, rsa.publicKey.export({ type: 'spki', format: 'der' })))]));
    const p1 = await get(uid!, ObjectType.PublicKey, KeyFormatType.PKCS_1);
    expect(der(materialOf(p1.object!)).equals(rsa.publicKey.export({ type: 'pkcs1', format: 'der' }))).toBe(true);
    const t = await get(uid!, ObjectType.PublicKey, KeyFormatType.TransparentRSAPublicKey);
    expect(field(materialOf(t.object!), Tag.PublicExponent)).toBe(65537n);
  });

  it('an EC key pair: PKCS#8, SEC1 and Transparent private forms; X.509 and Transparent public forms', async () => {
    const { uid } = await register(ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_8, b(0, ec.privateKey.export({ type: 'pkcs8', format: 'der' })))]));
    const sec1 = await get(uid!, ObjectType.PrivateKey, KeyFormatType.ECPrivateKey);
    expect(der(materialOf(sec1.object!)).equals(ec.privateKey.export({ type: 'sec1', format: 'der' }))).toBe(true);
    const t = await get(uid!, ObjectType.PrivateKey, KeyFormatType.TransparentECPrivateKey);
    expect(field(materialOf(t.object!), Tag.RecommendedCurve)).toBe(RecommendedCurve.P_256);
    expect(field(materialOf(t.object!), Tag.D)).toBe(big(ec.privateKey.export({ format: 'jwk' }).d));
    const back = await register(ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.TransparentECPrivateKey, materialOf(t.object!))]));
    const p8 = await get(back.uid!, ObjectType.PrivateKey, KeyFormatType.PKCS_8);
    expect(createPrivateKey({ key: der(materialOf(p8.object!)), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d).toBe(ec.privateKey.export({ format: 'jwk' }).d);

    const pub = await register(ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.X_509, b(0, ec.publicKey.export({ type: 'spki', format: 'der' })))]));
    const q = await get(pub.uid!, ObjectType.PublicKey, KeyFormatType.TransparentECPublicKey);
    const j = ec.publicKey.export({ format: 'jwk' });
    expect(Buffer.from(field(materialOf(q.object!), Tag.QString) as Uint8Array).equals(Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]))).toBe(true);
    const spki = await get(pub.uid!, ObjectType.PublicKey, KeyFormatType.X_509);
    expect(createPublicKey({ key: der(materialOf(spki.object!)), format: 'der', type: 'spki' }).export({ format: 'jwk' }).x).toBe(j.x);
  });

  it('refuses conversions a key type does not have (Key Format Type Not Supported)', async () => {
    const ecKey = await register(ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_8, b(0, ec.privateKey.export({ type: 'pkcs8', format: 'der' })))]));
    expect((await get(ecKey.uid!, ObjectType.PrivateKey, KeyFormatType.PKCS_1)).reason).toBe(ResultReason.KeyFormatTypeNotSupported);
    const dsa = await register(ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.TransparentDSAPublicKey, s(0, [bi(Tag.P, 23n), bi(Tag.Q, 11n), bi(Tag.G, 4n), bi(Tag.Y, 9n)]))]));
    expect((await get(dsa.uid!, ObjectType.PublicKey, KeyFormatType.X_509)).reason).toBe(ResultReason.KeyFormatTypeNotSupported);
    const secret = await register(ObjectType.SecretData, s(Tag.SecretData, [e(Tag.SecretDataType, 2), keyBlock(KeyFormatType.Raw, b(0, 'aabbcc'))]));
    expect((await get(secret.uid!, ObjectType.SecretData, KeyFormatType.TransparentSymmetricKey)).reason).toBe(ResultReason.KeyFormatTypeNotSupported);
    expect((await get(secret.uid!, ObjectType.SecretData, KeyFormatType.Raw)).status).toBe(ResultStatus.Success);
  });
});

describe('Register refuses what is not what it claims to be', () => {
  const cases: Array<[string, number, TtlvItem]> = [
    ['a key shorter than its length', ObjectType.SymmetricKey, s(Tag.SymmetricKey, [keyBlock(KeyFormatType.Raw, b(0, '0011'), CryptographicAlgorithm.AES, 256)])],
    ['a symmetric key without algorithm or length', ObjectType.SymmetricKey, s(Tag.SymmetricKey, [keyBlock(KeyFormatType.Raw, b(0, '00112233445566778899aabbccddeeff'))])],
    ['PKCS#1 bytes that are no key', ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_1, b(0, '30030201ff'))])],
    ['a public key registered as a private key', ObjectType.PrivateKey, s(Tag.PrivateKey, [keyBlock(KeyFormatType.PKCS_8, b(0, rsa.publicKey.export({ type: 'spki', format: 'der' })))])],
    ['an RSA key said to be EC', ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.PKCS_1, b(0, rsa.publicKey.export({ type: 'pkcs1', format: 'der' })), CryptographicAlgorithm.ECDSA, 256)])],
    ['a wrong length for an RSA key', ObjectType.PublicKey, s(Tag.PublicKey, [keyBlock(KeyFormatType.PKCS_1, b(0, rsa.publicKey.export({ type: 'pkcs1', format: 'der' })), CryptographicAlgorithm.RSA, 4096)])],
    ['a certificate that is not DER', ObjectType.Certificate, s(Tag.Certificate, [e(Tag.CertificateType, 1), b(Tag.CertificateValue, '3082000102')])],
    ['an object that does not match the Object Type', ObjectType.SecretData, s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, 'aa')])],
  ];
  for (const [label, objectType, object] of cases) {
    it(label, async () => {
      const r = await register(objectType, object);
      expect(r.status, label).toBe(ResultStatus.OperationFailed);
      expect([ResultReason.InvalidField, ResultReason.KeyFormatTypeNotSupported], label).toContain(r.reason);
    });
  }
});
