/**
 * Public and private keys: the Key Block forms KMIP defines for them (PKCS#1, PKCS#8, SEC1,
 * X.509 SubjectPublicKeyInfo, and the Transparent RSA and EC structures), read into a node KeyObject
 * so every supported form converts to every other, plus key pair generation. DSA and DH keys in
 * their Transparent forms are stored and served exactly as registered, without conversion.
 */
import { createECDH, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { invalidField, KmipError } from '../errors.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, RecommendedCurve, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { bigInteger, bytes, enumeration, opt, req, STORAGE_CONTEXT, struct } from '../schema.js';
import { KeyValueSchema, PrivateKeySchema, PublicKeySchema, type KeyBlock } from './schemas.js';

const TransparentRsaPrivate = struct('Transparent RSA Private Key', {
  modulus: req(Tag.Modulus, bigInteger),
  privateExponent: opt(Tag.PrivateExponent, bigInteger),
  publicExponent: opt(Tag.PublicExponent, bigInteger),
  p: opt(Tag.P, bigInteger),
  q: opt(Tag.Q, bigInteger),
  primeExponentP: opt(Tag.PrimeExponentP, bigInteger),
  primeExponentQ: opt(Tag.PrimeExponentQ, bigInteger),
  crtCoefficient: opt(Tag.CRTCoefficient, bigInteger),
});
const TransparentRsaPublic = struct('Transparent RSA Public Key', {
  modulus: req(Tag.Modulus, bigInteger),
  publicExponent: req(Tag.PublicExponent, bigInteger),
});
const TransparentEcPrivate = struct('Transparent EC Private Key', {
  recommendedCurve: req(Tag.RecommendedCurve, enumeration('RecommendedCurve')),
  d: req(Tag.D, bigInteger),
});
const TransparentEcPublic = struct('Transparent EC Public Key', {
  recommendedCurve: req(Tag.RecommendedCurve, enumeration('RecommendedCurve')),
  qString: req(Tag.QString, bytes),
});

interface Curve {
  readonly kmip: number;
  readonly jwk: 'P-256' | 'P-384' | 'P-521';
  readonly openssl: string;
  readonly bits: number;
}
const CURVES: readonly Curve[] = [
  { kmip: RecommendedCurve.P_256, jwk: 'P-256', openssl: 'prime256v1', bits: 256 },
  { kmip: RecommendedCurve.P_384, jwk: 'P-384', openssl: 'secp384r1', bits: 384 },
  { kmip: RecommendedCurve.P_521, jwk: 'P-521', openssl: 'secp521r1', bits: 521 },
];
const curveByKmip = (c: number) => CURVES.find((x) => x.kmip === c);
const curveByJwk = (c: string | undefined) => CURVES.find((x) => x.jwk === c);

const EC_ALGORITHMS = new Set<number>([CryptographicAlgorithm.EC, CryptographicAlgorithm.ECDSA, CryptographicAlgorithm.ECDH, CryptographicAlgorithm.ECMQV]);

/** Forms we keep exactly as registered but cannot convert. */
const OPAQUE_FORMATS = new Set<number>([
  KeyFormatType.TransparentDSAPrivateKey,
  KeyFormatType.TransparentDSAPublicKey,
  KeyFormatType.TransparentDHPrivateKey,
  KeyFormatType.TransparentDHPublicKey,
  KeyFormatType.Opaque,
]);

const b64u = (n: bigint): string => {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
};
const fromB64u = (s: string | undefined): bigint => (s ? BigInt(`0x${Buffer.from(s, 'base64url').toString('hex') || '0'}`) : 0n);

function keyMaterial(block: KeyBlock): TtlvItem {
  if (!block.keyValue || block.keyValue.type !== ItemType.Structure) throw new KmipError(ResultReason.KeyValueNotPresent, 'key value not present');
  return KeyValueSchema.decode(block.keyValue, STORAGE_CONTEXT).keyMaterial;
}

function derBytes(material: TtlvItem): Buffer {
  if (material.type !== ItemType.ByteString) throw invalidField('Key Material must be a Byte String in this Key Format Type');
  return Buffer.from(material.value);
}

function asStruct<T>(schema: { decode(item: TtlvItem, ctx: typeof STORAGE_CONTEXT): T }, material: TtlvItem): T {
  if (material.type !== ItemType.Structure) throw invalidField('Key Material must be a Structure in a Transparent Key Format Type');
  return schema.decode({ ...material, tag: Tag.KeyMaterial }, STORAGE_CONTEXT);
}

function parseFailure(err: unknown): KmipError {
  return new KmipError(ResultReason.InvalidField, 'Key Material is not a valid key in its Key Format Type', { cause: err });
}

/** The KeyObject a registered key block holds, or undefined for forms we store without parsing. */
export function readKey(objectType: number, block: KeyBlock): KeyObject | undefined {
  const format = block.keyFormatType;
  if (OPAQUE_FORMATS.has(format)) return undefined;
  const material = keyMaterial(block);
  try {
    if (objectType === ObjectType.PrivateKey) {
      switch (format) {
        case KeyFormatType.PKCS_1:
          return createPrivateKey({ key: derBytes(material), format: 'der', type: 'pkcs1' });
        case KeyFormatType.PKCS_8:
          return createPrivateKey({ key: derBytes(material), format: 'der', type: 'pkcs8' });
        case KeyFormatType.ECPrivateKey:
          return createPrivateKey({ key: derBytes(material), format: 'der', type: 'sec1' });
        case KeyFormatType.TransparentRSAPrivateKey: {
          const k = asStruct(TransparentRsaPrivate, material);
          if (k.privateExponent === undefined || k.publicExponent === undefined || k.p === undefined || k.q === undefined || k.primeExponentP === undefined || k.primeExponentQ === undefined || k.crtCoefficient === undefined) {
            throw invalidField('a Transparent RSA Private Key needs every CRT component');
          }
          return createPrivateKey({
            key: { kty: 'RSA', n: b64u(k.modulus), e: b64u(k.publicExponent), d: b64u(k.privateExponent), p: b64u(k.p), q: b64u(k.q), dp: b64u(k.primeExponentP), dq: b64u(k.primeExponentQ), qi: b64u(k.crtCoefficient) },
            format: 'jwk',
          });
        }
        case KeyFormatType.TransparentECPrivateKey: {
          const k = asStruct(TransparentEcPrivate, material);
          const curve = curveByKmip(k.recommendedCurve);
          if (!curve) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this elliptic curve is not supported');
          const dBytes = Buffer.from(k.d.toString(16).padStart(Math.ceil(curve.bits / 8) * 2, '0'), 'hex');
          const ecdh = createECDH(curve.openssl);
          ecdh.setPrivateKey(dBytes);
          const point = ecdh.getPublicKey();
          const half = (point.length - 1) / 2;
          return createPrivateKey({
            key: { kty: 'EC', crv: curve.jwk, d: dBytes.toString('base64url'), x: point.subarray(1, 1 + half).toString('base64url'), y: point.subarray(1 + half).toString('base64url') },
            format: 'jwk',
          });
        }
      }
    } else if (objectType === ObjectType.PublicKey) {
      switch (format) {
        case KeyFormatType.PKCS_1:
          return createPublicKey({ key: derBytes(material), format: 'der', type: 'pkcs1' });
        case KeyFormatType.X_509:
          return createPublicKey({ key: derBytes(material), format: 'der', type: 'spki' });
        case KeyFormatType.TransparentRSAPublicKey: {
          const k = asStruct(TransparentRsaPublic, material);
          return createPublicKey({ key: { kty: 'RSA', n: b64u(k.modulus), e: b64u(k.publicExponent) }, format: 'jwk' });
        }
        case KeyFormatType.TransparentECPublicKey: {
          const k = asStruct(TransparentEcPublic, material);
          const curve = curveByKmip(k.recommendedCurve);
          if (!curve) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this elliptic curve is not supported');
          const q = Buffer.from(k.qString);
          if (q[0] !== 0x04 || (q.length - 1) % 2 !== 0) throw invalidField('Q String must be an uncompressed point');
          const half = (q.length - 1) / 2;
          return createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: q.subarray(1, 1 + half).toString('base64url'), y: q.subarray(1 + half).toString('base64url') }, format: 'jwk' });
        }
      }
    }
  } catch (err) {
    throw err instanceof KmipError ? err : parseFailure(err);
  }
  throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'key format type not supported for this object type');
}

/** Algorithm and length a key implies (RSA modulus bits, EC curve bits). */
export function describeKey(key: KeyObject): { algorithm: number; length: number; curve?: number } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: CryptographicAlgorithm.RSA, length: details.modulusLength ?? 0 };
    case 'ec': {
      const curve = CURVES.find((c) => c.openssl === details.namedCurve || c.jwk === details.namedCurve);
      if (!curve) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this elliptic curve is not supported');
      return { algorithm: CryptographicAlgorithm.EC, length: curve.bits, curve: curve.kmip };
    }
    case 'dsa':
      return { algorithm: CryptographicAlgorithm.DSA, length: details.modulusLength ?? 0 };
    default:
      throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this key type is not supported');
  }
}

/** Whether a client-stated algorithm agrees with the key (EC keys answer to every EC family name). */
export function algorithmMatches(stated: number, actual: number): boolean {
  return stated === actual || (actual === CryptographicAlgorithm.EC && EC_ALGORITHMS.has(stated));
}

function keyBlockItem(tag: number, objectType: number, format: number, material: TtlvItem, algorithm: number, length: number): TtlvItem {
  const schema = objectType === ObjectType.PrivateKey ? PrivateKeySchema : PublicKeySchema;
  return schema.encode(
    tag,
    {
      keyBlock: {
        keyFormatType: format,
        keyValue: KeyValueSchema.encode(Tag.KeyValue, { keyMaterial: material, attributes: [] }, STORAGE_CONTEXT),
        cryptographicAlgorithm: algorithm,
        cryptographicLength: length,
      },
    },
    STORAGE_CONTEXT,
  );
}

/** The object (Private Key or Public Key structure) in the requested Key Format Type. */
export function writeKey(key: KeyObject, objectType: number, format: number, statedAlgorithm?: number): TtlvItem {
  const { algorithm, length, curve } = describeKey(key);
  const tag = objectType === ObjectType.PrivateKey ? Tag.PrivateKey : Tag.PublicKey;
  const unsupported = () => new KmipError(ResultReason.KeyFormatTypeNotSupported, 'key format type not supported for this key');
  const der = (value: Buffer): TtlvItem => ({ tag: Tag.KeyMaterial, type: ItemType.ByteString, value: new Uint8Array(value) });
  const isRsa = algorithm === CryptographicAlgorithm.RSA;
  const isEc = algorithm === CryptographicAlgorithm.EC;
  let material: TtlvItem;
  if (objectType === ObjectType.PrivateKey) {
    switch (format) {
      case KeyFormatType.PKCS_1:
        if (!isRsa) throw unsupported();
        material = der(key.export({ format: 'der', type: 'pkcs1' }));
        break;
      case KeyFormatType.PKCS_8:
        material = der(key.export({ format: 'der', type: 'pkcs8' }));
        break;
      case KeyFormatType.ECPrivateKey:
        if (!isEc) throw unsupported();
        material = der(key.export({ format: 'der', type: 'sec1' }));
        break;
      case KeyFormatType.TransparentRSAPrivateKey: {
        if (!isRsa) throw unsupported();
        const j = key.export({ format: 'jwk' });
        material = TransparentRsaPrivate.encode(
          Tag.KeyMaterial,
          { modulus: fromB64u(j.n), privateExponent: fromB64u(j.d), publicExponent: fromB64u(j.e), p: fromB64u(j.p), q: fromB64u(j.q), primeExponentP: fromB64u(j.dp), primeExponentQ: fromB64u(j.dq), crtCoefficient: fromB64u(j.qi) },
          STORAGE_CONTEXT,
        );
        break;
      }
      case KeyFormatType.TransparentECPrivateKey: {
        if (!isEc) throw unsupported();
        const j = key.export({ format: 'jwk' });
        material = TransparentEcPrivate.encode(Tag.KeyMaterial, { recommendedCurve: curveByJwk(j.crv)!.kmip, d: fromB64u(j.d) }, STORAGE_CONTEXT);
        break;
      }
      default:
        throw unsupported();
    }
  } else {
    const pub = key.type === 'private' ? createPublicKey(key) : key;
    switch (format) {
      case KeyFormatType.PKCS_1:
        if (!isRsa) throw unsupported();
        material = der(pub.export({ format: 'der', type: 'pkcs1' }));
        break;
      case KeyFormatType.X_509:
        material = der(pub.export({ format: 'der', type: 'spki' }));
        break;
      case KeyFormatType.TransparentRSAPublicKey: {
        if (!isRsa) throw unsupported();
        const j = pub.export({ format: 'jwk' });
        material = TransparentRsaPublic.encode(Tag.KeyMaterial, { modulus: fromB64u(j.n), publicExponent: fromB64u(j.e) }, STORAGE_CONTEXT);
        break;
      }
      case KeyFormatType.TransparentECPublicKey: {
        if (!isEc) throw unsupported();
        const j = pub.export({ format: 'jwk' });
        const q = Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]);
        material = TransparentEcPublic.encode(Tag.KeyMaterial, { recommendedCurve: curve!, qString: new Uint8Array(q) }, STORAGE_CONTEXT);
        break;
      }
      default:
        throw unsupported();
    }
  }
  // Keep the family name the client used for EC keys (ECDSA, ECDH…) in the block.
  return keyBlockItem(tag, objectType, format, material, statedAlgorithm !== undefined && algorithmMatches(statedAlgorithm, algorithm) ? statedAlgorithm : algorithm, length);
}

export interface KeyPairSpec {
  readonly algorithm: number;
  readonly length?: number | undefined;
  readonly curve?: number | undefined;
}

const RSA_LENGTHS = new Set([2048, 3072, 4096]);

/** Generates a key pair off the event loop (RSA 4096 takes seconds). */
export async function generateAsymmetricKeyPair(spec: KeyPairSpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  if (spec.algorithm === CryptographicAlgorithm.RSA) {
    if (spec.length === undefined || !RSA_LENGTHS.has(spec.length)) throw invalidField('RSA key pairs are 2048, 3072 or 4096 bits');
    return new Promise((resolve, reject) =>
      generateKeyPair('rsa', { modulusLength: spec.length!, publicExponent: 0x10001 }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ privateKey, publicKey }))),
    );
  }
  if (EC_ALGORITHMS.has(spec.algorithm)) {
    const curve = spec.curve !== undefined ? curveByKmip(spec.curve) : CURVES.find((c) => c.bits === spec.length);
    if (!curve || curve.bits === 521) throw invalidField('EC key pairs are on P-256 or P-384');
    return new Promise((resolve, reject) =>
      generateKeyPair('ec', { namedCurve: curve.openssl }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ privateKey, publicKey }))),
    );
  }
  throw new KmipError(ResultReason.InvalidField, 'key pairs are RSA or EC');
}

/** The form a generated key is stored (and served by default) in. */
export function defaultFormat(objectType: number, algorithm: number): number {
  if (algorithm === CryptographicAlgorithm.RSA) return KeyFormatType.PKCS_1;
  return objectType === ObjectType.PrivateKey ? KeyFormatType.PKCS_8 : KeyFormatType.X_509;
}

/** Converts a stored Public/Private Key object to another Key Format Type. */
export function convertAsymmetricKey(objectType: number, object: TtlvItem, format: number): TtlvItem {
  const schema = objectType === ObjectType.PrivateKey ? PrivateKeySchema : PublicKeySchema;
  const { keyBlock } = schema.decode(object, STORAGE_CONTEXT);
  if (keyBlock.keyFormatType === format) return object;
  const key = readKey(objectType, keyBlock);
  if (!key) throw new KmipError(ResultReason.KeyFormatTypeNotSupported, 'this key is served only in the form it was registered in');
  return writeKey(key, objectType, format, keyBlock.cryptographicAlgorithm);
}

