/**
 * RSA encryption and signatures and ECDSA through the real batch executor: OAEP round trips (with a
 * label and a separate MGF1 digest), PKCS#1 v1.5 and PSS signatures checked by node's own verify,
 * ECDSA on P-256/384/521, and Signature Verify answering Invalid (not an error) for a bad signature.
 */
import { constants, createPublicKey, generateKeyPairSync, privateDecrypt, verify, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CryptographicAlgorithm,
  CryptographicUsageMask,
  DigitalSignatureAlgorithm,
  HashingAlgorithm,
  Operation,
  PaddingMethod,
  ResultReason,
  ResultStatus,
  ValidityIndicator,
} from '../../../../server/kmip/generated/enums.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { call, ok, registerPrivate, registerPublic } from './helpers.js';

let h: ExecutorHarness;
let rsa: { publicKey: KeyObject; privateKey: KeyObject };
let priv: string;
let pub: string;
beforeAll(async () => {
  h = await executorHarness();
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const mask = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt | CryptographicUsageMask.Sign | CryptographicUsageMask.Verify;
  priv = await registerPrivate(h, CryptographicAlgorithm.RSA, rsa.privateKey, 2048, { mask });
  pub = await registerPublic(h, CryptographicAlgorithm.RSA, rsa.publicKey, 2048, { mask });
});
afterAll(() => h.close());

describe('RSA encryption', () => {
  it('OAEP SHA-256: decrypt(encrypt(x)) = x, and node decrypts what the server encrypted', async () => {
    const params = { paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: HashingAlgorithm.SHA_256 };
    const data = Buffer.from('wrapped data key');
    const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: pub, cryptographicParameters: params, data });
    expect(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, enc['data'] as Uint8Array).toString()).toBe('wrapped data key');
    const dec = await ok(h, Operation.Decrypt, { uniqueIdentifier: priv, cryptographicParameters: params, data: enc['data'] });
    expect(Buffer.from(dec['data'] as Uint8Array).toString()).toBe('wrapped data key');
  });

  it('OAEP with a label and an MGF1 digest of its own round-trips; a wrong label fails', async () => {
    const params = { paddingMethod: PaddingMethod.OAEP, hashingAlgorithm: HashingAlgorithm.SHA_384, maskGeneratorHashingAlgorithm: HashingAlgorithm.SHA_1, pSource: Buffer.from('label') };
    const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: pub, cryptographicParameters: params, data: Buffer.from('x') });
    const dec = await ok(h, Operation.Decrypt, { uniqueIdentifier: priv, cryptographicParameters: params, data: enc['data'] });
    expect(Buffer.from(dec['data'] as Uint8Array).toString()).toBe('x');
    const wrong = await call(h, Operation.Decrypt, { uniqueIdentifier: priv, cryptographicParameters: { ...params, pSource: Buffer.from('other') }, data: enc['data'] });
    expect(wrong.resultReason).toBe(ResultReason.CryptographicFailure);
  });

  it('PKCS#1 v1.5 encryption works; its decryption is refused (node withdrew it: Marvin)', async () => {
    const params = { paddingMethod: PaddingMethod.PKCS1V1_5 };
    const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: pub, cryptographicParameters: params, data: Buffer.from('v15') });
    expect((enc['data'] as Uint8Array).length).toBe(256);
    const dec = await call(h, Operation.Decrypt, { uniqueIdentifier: priv, cryptographicParameters: params, data: enc['data'] });
    expect(dec.resultStatus).toBe(ResultStatus.OperationFailed);
    expect(dec.resultReason).toBe(ResultReason.InvalidField); // Unsupported Cryptographic Parameters, as 1.4 names it
  });
});

describe('signatures', () => {
  const data = Buffer.from('the message to sign');
  const schemes: Array<{ label: string; params: Record<string, unknown>; check: (sig: Buffer) => boolean }> = [
    {
      label: 'SHA-256 with RSA (PKCS#1 v1.5)',
      params: { digitalSignatureAlgorithm: DigitalSignatureAlgorithm.SHA_256WithRSAEncryption },
      check: (sig) => verify('sha256', data, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, sig),
    },
    {
      label: 'RSASSA-PSS SHA-384, salt 20',
      params: { paddingMethod: PaddingMethod.PSS, hashingAlgorithm: HashingAlgorithm.SHA_384, saltLength: 20 },
      check: (sig) => verify('sha384', data, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 }, sig),
    },
  ];
  for (const scheme of schemes) {
    it(`${scheme.label}: node verifies the signature, Signature Verify says Valid, and Invalid for another message`, async () => {
      const signed = await ok(h, Operation.Sign, { uniqueIdentifier: priv, cryptographicParameters: scheme.params, data });
      expect(scheme.check(Buffer.from(signed['signatureData'] as Uint8Array))).toBe(true);
      const good = await ok(h, Operation.SignatureVerify, { uniqueIdentifier: pub, cryptographicParameters: scheme.params, data, signatureData: signed['signatureData'] });
      expect(good['validityIndicator']).toBe(ValidityIndicator.Valid);
      const bad = await ok(h, Operation.SignatureVerify, { uniqueIdentifier: pub, cryptographicParameters: scheme.params, data: Buffer.from('another'), signatureData: signed['signatureData'] });
      expect(bad['validityIndicator']).toBe(ValidityIndicator.Invalid);
    });
  }

  for (const [curve, bits, dsa, digest] of [
    ['P-256', 256, DigitalSignatureAlgorithm.ECDSAWithSHA256, 'sha256'],
    ['P-384', 384, DigitalSignatureAlgorithm.ECDSAWithSHA384, 'sha384'],
    ['P-521', 521, DigitalSignatureAlgorithm.ECDSAWithSHA512, 'sha512'],
  ] as const) {
    it(`ECDSA on ${curve}: a DER signature node verifies, and Valid / Invalid from Signature Verify`, async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: curve });
      const mask = CryptographicUsageMask.Sign | CryptographicUsageMask.Verify;
      const p = await registerPrivate(h, CryptographicAlgorithm.ECDSA, pair.privateKey, bits, { mask });
      const q = await registerPublic(h, CryptographicAlgorithm.ECDSA, pair.publicKey, bits, { mask });
      const params = { digitalSignatureAlgorithm: dsa };
      const signed = await ok(h, Operation.Sign, { uniqueIdentifier: p, cryptographicParameters: params, data });
      const sig = Buffer.from(signed['signatureData'] as Uint8Array);
      expect(verify(digest, data, createPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' })), sig)).toBe(true);
      expect((await ok(h, Operation.SignatureVerify, { uniqueIdentifier: q, cryptographicParameters: params, data, signatureData: sig }))['validityIndicator']).toBe(ValidityIndicator.Valid);
      sig[sig.length - 1] = sig[sig.length - 1]! ^ 1;
      expect((await ok(h, Operation.SignatureVerify, { uniqueIdentifier: q, cryptographicParameters: params, data, signatureData: sig }))['validityIndicator']).toBe(ValidityIndicator.Invalid);
    });
  }

  it('Sign needs a Private Key and Signature Verify a Public Key', async () => {
    const sign = await call(h, Operation.Sign, { uniqueIdentifier: pub, cryptographicParameters: schemes[0]!.params, data });
    expect([sign.resultStatus, sign.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.IllegalOperation]);
    const check = await call(h, Operation.SignatureVerify, { uniqueIdentifier: priv, cryptographicParameters: schemes[0]!.params, data, signatureData: Buffer.alloc(256) });
    expect([check.resultStatus, check.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.IllegalOperation]);
  });
});
