/**
 * MAC, MAC Verify, Hash, RNG Retrieve and RNG Seed through the real batch executor, against RFC 4231
 * (HMAC-SHA-256/512), RFC 4493 (AES-CMAC) and FIPS 180 (SHA-256) vectors; a tampered MAC is Invalid.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, Operation, ResultReason, ValidityIndicator } from '../../../../server/kmip/generated/enums.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { bytesOf, call, hex, ok, registerSymmetric } from './helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const MAC_BOTH = CryptographicUsageMask.MACGenerate | CryptographicUsageMask.MACVerify;

describe('MAC and MAC Verify', () => {
  it('HMAC-SHA256 and HMAC-SHA512, RFC 4231 test case 2 (the key "Jefe")', async () => {
    const data = Buffer.from('what do ya want for nothing?');
    const k256 = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, Buffer.from('Jefe'), { mask: MAC_BOTH });
    expect(hex((await ok(h, Operation.MAC, { uniqueIdentifier: k256, data }))['macData'])).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    const k512 = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA512, Buffer.from('Jefe'), { mask: MAC_BOTH });
    expect(hex((await ok(h, Operation.MAC, { uniqueIdentifier: k512, data }))['macData'])).toBe(
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    );
    // The algorithm named in the request wins over the key's own.
    const named = await ok(h, Operation.MAC, { uniqueIdentifier: k512, cryptographicParameters: { cryptographicAlgorithm: CryptographicAlgorithm.HMAC_SHA256 }, data });
    expect(hex(named['macData'])).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('AES-CMAC, RFC 4493 §4 examples 1–4', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, '2b7e151628aed2a6abf7158809cf4f3c', { mask: MAC_BOTH });
    const msg = '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710';
    const vectors: Array<[number, string]> = [
      [0, 'bb1d6929e95937287fa37d129b756746'],
      [16, '070a16b46b4d4144f79bdd9dd04a287c'],
      [40, 'dfa66747de9ae63030ca32611497c827'],
      [64, '51f0bebf7e3b9d92fc49741779363cfe'],
    ];
    for (const [len, tag] of vectors) {
      const r = await ok(h, Operation.MAC, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.CMAC }, data: bytesOf(msg.slice(0, len * 2)) });
      expect(hex(r['macData'])).toBe(tag);
    }
  });

  it('MAC Verify: Valid for the right MAC, Invalid for a tampered one or other data', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.HMAC_SHA256, randomBytes(32), { mask: MAC_BOTH });
    const data = randomBytes(100);
    const mac = Buffer.from((await ok(h, Operation.MAC, { uniqueIdentifier: uid, data }))['macData'] as Uint8Array);
    expect((await ok(h, Operation.MACVerify, { uniqueIdentifier: uid, data, macData: mac }))['validityIndicator']).toBe(ValidityIndicator.Valid);
    const tampered = Buffer.from(mac);
    tampered[5] = tampered[5]! ^ 0x40;
    expect((await ok(h, Operation.MACVerify, { uniqueIdentifier: uid, data, macData: tampered }))['validityIndicator']).toBe(ValidityIndicator.Invalid);
    expect((await ok(h, Operation.MACVerify, { uniqueIdentifier: uid, data: randomBytes(100), macData: mac }))['validityIndicator']).toBe(ValidityIndicator.Invalid);
    expect((await ok(h, Operation.MACVerify, { uniqueIdentifier: uid, data, macData: mac.subarray(0, 16) }))['validityIndicator']).toBe(ValidityIndicator.Invalid);
  });

  it('a streamed MAC (Init, Correlation Value, Final) equals the one-shot MAC', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: MAC_BOTH });
    const parts = [randomBytes(10), randomBytes(23), randomBytes(31)];
    const params = { blockCipherMode: BlockCipherMode.CMAC };
    const once = await ok(h, Operation.MAC, { uniqueIdentifier: uid, cryptographicParameters: params, data: Buffer.concat(parts) });
    const first = await ok(h, Operation.MAC, { uniqueIdentifier: uid, cryptographicParameters: params, data: parts[0], initIndicator: true });
    const cv = first['correlationValue'] as Uint8Array;
    expect(cv.length).toBeGreaterThan(0);
    expect(first['macData']).toBeUndefined();
    await ok(h, Operation.MAC, { uniqueIdentifier: uid, data: parts[1], correlationValue: cv });
    const last = await ok(h, Operation.MAC, { uniqueIdentifier: uid, data: parts[2], correlationValue: cv, finalIndicator: true });
    expect(hex(last['macData'])).toBe(hex(once['macData']));
    // The stream ended with Final: its Correlation Value is gone.
    const again = await call(h, Operation.MAC, { uniqueIdentifier: uid, data: parts[2], correlationValue: cv, finalIndicator: true });
    expect(again.resultReason).toBe(ResultReason.InvalidMessage);
  });
});

describe('Hash', () => {
  it('SHA-256 of "abc" (FIPS 180-2 B.1), one-shot and streamed', async () => {
    const params = { hashingAlgorithm: HashingAlgorithm.SHA_256 };
    const once = await ok(h, Operation.Hash, { cryptographicParameters: params, data: Buffer.from('abc') });
    expect(hex(once['data'])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const first = await ok(h, Operation.Hash, { cryptographicParameters: params, data: Buffer.from('a'), initIndicator: true });
    const last = await ok(h, Operation.Hash, { cryptographicParameters: params, data: Buffer.from('bc'), correlationValue: first['correlationValue'], finalIndicator: true });
    expect(hex(last['data'])).toBe(hex(once['data']));
  });

  it('a Hash without a Hashing Algorithm is refused', async () => {
    const r = await call(h, Operation.Hash, { cryptographicParameters: {}, data: Buffer.from('abc') });
    expect(r.resultReason).toBe(ResultReason.InvalidField);
  });
});

describe('RNG', () => {
  it('RNG Retrieve returns the bytes asked for, different each time, and refuses 0 or too many', async () => {
    const a = (await ok(h, Operation.RNGRetrieve, { dataLength: 32 }))['data'] as Uint8Array;
    const b = (await ok(h, Operation.RNGRetrieve, { dataLength: 32 }))['data'] as Uint8Array;
    expect(a.length).toBe(32);
    expect(hex(a)).not.toBe(hex(b));
    expect((await call(h, Operation.RNGRetrieve, { dataLength: 0 })).resultReason).toBe(ResultReason.InvalidField);
    expect((await call(h, Operation.RNGRetrieve, { dataLength: 1 << 20 })).resultReason).toBe(ResultReason.InvalidField);
  });

  it('RNG Seed reports 0 bytes used (node\'s generator takes no seed)', async () => {
    expect((await ok(h, Operation.RNGSeed, { data: randomBytes(32) }))['dataLength']).toBe(0);
  });
});
