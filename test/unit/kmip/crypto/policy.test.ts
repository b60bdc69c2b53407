/**
 * What the cryptographic operations enforce around the key: the usage mask, the lifecycle state and
 * process/protect dates, tenant isolation (including streamed state), the ID Placeholder, what the
 * audit records show (never key or data bytes), and that Query offers the operations from 1.2 on.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlockCipherMode,
  CryptographicAlgorithm,
  CryptographicUsageMask,
  Operation,
  QueryFunction,
  ResultReason,
  ResultStatus,
  RevocationReasonCode,
} from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { attr, dt } from '../../../support/ttlv-builder.js';
import { call, hex, ok, registerSymmetric } from './helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const ENC_DEC = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;
const ECB = { blockCipherMode: BlockCipherMode.ECB };
const block = Buffer.alloc(16, 0x11);

const failure = (item: { resultStatus: number; resultReason?: number | undefined }) => [item.resultStatus, item.resultReason];

describe('usage mask', () => {
  it('a key without Decrypt in its mask does not decrypt: Permission Denied in 1.4, Incompatible Cryptographic Usage Mask in 2.1', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: CryptographicUsageMask.Encrypt });
    const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: ECB, data: block });
    const args = { uniqueIdentifier: uid, cryptographicParameters: ECB, data: enc['data'] };
    expect(failure(await call(h, Operation.Decrypt, args, 14))).toEqual([ResultStatus.OperationFailed, ResultReason.PermissionDenied]);
    expect(failure(await call(h, Operation.Decrypt, args, 21))).toEqual([ResultStatus.OperationFailed, ResultReason.IncompatibleCryptographicUsageMask]);
  });

  it('an encryption key does not MAC or sign', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    expect(failure(await call(h, Operation.MAC, { uniqueIdentifier: uid, data: block }, 14))).toEqual([ResultStatus.OperationFailed, ResultReason.PermissionDenied]);
    expect(failure(await call(h, Operation.Sign, { uniqueIdentifier: uid, data: block }, 21))).toEqual([ResultStatus.OperationFailed, ResultReason.IncompatibleCryptographicUsageMask]);
  });
});

describe('lifecycle state and dates', () => {
  it('a Pre-Active key neither encrypts nor decrypts: Permission Denied in 1.4, Wrong Key Lifecycle State in 2.1', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC, active: false });
    for (const op of [Operation.Encrypt, Operation.Decrypt]) {
      const args = { uniqueIdentifier: uid, cryptographicParameters: ECB, data: block };
      expect(failure(await call(h, op, args, 14))).toEqual([ResultStatus.OperationFailed, ResultReason.PermissionDenied]);
      expect(failure(await call(h, op, args, 21))).toEqual([ResultStatus.OperationFailed, ResultReason.WrongKeyLifecycleState]);
    }
  });

  for (const [label, code] of [
    ['Deactivated', RevocationReasonCode.CessationOfOperation],
    ['Compromised', RevocationReasonCode.KeyCompromise],
  ] as const) {
    it(`a ${label} key still decrypts what it encrypted, but encrypts no more`, async () => {
      const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
      const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: ECB, data: block });
      await ok(h, Operation.Revoke, { uniqueIdentifier: uid, revocationReason: { revocationReasonCode: code }, ...(code === RevocationReasonCode.KeyCompromise ? { compromiseOccurrenceDate: Math.floor(Date.now() / 1000) } : {}) });
      const dec = await ok(h, Operation.Decrypt, { uniqueIdentifier: uid, cryptographicParameters: ECB, data: enc['data'] });
      expect(hex(dec['data'])).toBe(block.toString('hex'));
      const again = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: ECB, data: block }, 21);
      expect(failure(again)).toEqual([ResultStatus.OperationFailed, ResultReason.WrongKeyLifecycleState]);
    });
  }

  it('past its Protect Stop Date a key does not encrypt; before its Process Start Date it does not decrypt', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stopped = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC, extra: [attr('Protect Stop Date', dt(Tag.AttributeValue, now - 60))] });
    expect(failure(await call(h, Operation.Encrypt, { uniqueIdentifier: stopped, cryptographicParameters: ECB, data: block }, 21))).toEqual([ResultStatus.OperationFailed, ResultReason.WrongKeyLifecycleState]);
    expect((await call(h, Operation.Decrypt, { uniqueIdentifier: stopped, cryptographicParameters: ECB, data: block }, 21)).resultStatus).toBe(ResultStatus.Success);
    const notYet = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC, extra: [attr('Process Start Date', dt(Tag.AttributeValue, now + 3600))] });
    expect(failure(await call(h, Operation.Decrypt, { uniqueIdentifier: notYet, cryptographicParameters: ECB, data: block }, 14))).toEqual([ResultStatus.OperationFailed, ResultReason.PermissionDenied]);
    expect((await call(h, Operation.Encrypt, { uniqueIdentifier: notYet, cryptographicParameters: ECB, data: block }, 14)).resultStatus).toBe(ResultStatus.Success);
  });
});

describe('tenants', () => {
  it("another tenant's key is Item Not Found, for every keyed operation", async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC | CryptographicUsageMask.MACGenerate });
    const other = await h.otherTenant();
    for (const op of [Operation.Encrypt, Operation.Decrypt, Operation.MAC, Operation.MACVerify, Operation.Sign, Operation.SignatureVerify]) {
      const r = await call(h, op, { uniqueIdentifier: uid, data: block }, 14, other);
      expect(failure(r)).toEqual([ResultStatus.OperationFailed, ResultReason.ItemNotFound]);
    }
  });

  it("a streamed operation's Correlation Value is worthless to another tenant", async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    const params = { blockCipherMode: BlockCipherMode.GCM, tagLength: 16 };
    const first = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: params, data: block, initIndicator: true });
    const other = await h.otherTenant();
    const stolen = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, data: block, correlationValue: first['correlationValue'], finalIndicator: true }, 21, other);
    expect(failure(stolen)).toEqual([ResultStatus.OperationFailed, ResultReason.InvalidCorrelationValue]);
  });
});

describe('streaming', () => {
  it('a GCM encryption streamed over three requests equals the one-shot encryption, tag included', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });
    const params = { blockCipherMode: BlockCipherMode.GCM, tagLength: 16 };
    const iv = randomBytes(12);
    const parts = [randomBytes(20), randomBytes(33), randomBytes(7)];
    const once = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: params, data: Buffer.concat(parts), ivCounterNonce: iv });
    const a = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: params, data: parts[0], ivCounterNonce: iv, initIndicator: true });
    const b = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, data: parts[1], correlationValue: a['correlationValue'] });
    const c = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, data: parts[2], correlationValue: a['correlationValue'], finalIndicator: true });
    expect(hex(Buffer.concat([a['data'], b['data'], c['data']] as Uint8Array[]))).toBe(hex(once['data']));
    expect(hex(c['authenticatedEncryptionTag'])).toBe(hex(once['authenticatedEncryptionTag']));
    // Decrypt is not streamed in an authenticated mode (no plaintext before the tag is checked); in one piece it opens the streamed result.
    const streamed = await call(h, Operation.Decrypt, { uniqueIdentifier: uid, cryptographicParameters: params, data: (once['data'] as Uint8Array).subarray(0, 30), ivCounterNonce: iv, initIndicator: true });
    expect(streamed.resultReason).toBe(ResultReason.FeatureNotSupported);
    const whole = Buffer.concat([a['data'], b['data'], c['data']] as Uint8Array[]);
    const d = await ok(h, Operation.Decrypt, { uniqueIdentifier: uid, cryptographicParameters: params, data: whole, ivCounterNonce: iv, authenticatedEncryptionTag: c['authenticatedEncryptionTag'] });
    expect(hex(d['data'])).toBe(hex(Buffer.concat(parts)));
  });

  it('an unknown Correlation Value, or one continued under another key, is refused', async () => {
    const r = await call(h, Operation.Encrypt, { data: block, correlationValue: randomBytes(16) }, 21);
    expect(failure(r)).toEqual([ResultStatus.OperationFailed, ResultReason.InvalidCorrelationValue]);
    const a = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    const b = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(16), { mask: ENC_DEC });
    const first = await ok(h, Operation.Encrypt, { uniqueIdentifier: a, cryptographicParameters: ECB, data: block, initIndicator: true });
    const swapped = await call(h, Operation.Encrypt, { uniqueIdentifier: b, data: block, correlationValue: first['correlationValue'], finalIndicator: true }, 21);
    expect(failure(swapped)).toEqual([ResultStatus.OperationFailed, ResultReason.InvalidCorrelationValue]);
  });
});

describe('batches and audit', () => {
  it('Encrypt without a Unique Identifier uses the ID Placeholder (Check, then Encrypt in one batch)', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, '000102030405060708090a0b0c0d0e0f', { mask: ENC_DEC });
    const r = await h.run(
      [
        { operation: Operation.Check, payload: { uniqueIdentifier: uid }, id: 'check' },
        { operation: Operation.Encrypt, payload: { cryptographicParameters: ECB, data: Buffer.from('00112233445566778899aabbccddeeff', 'hex') }, id: 'encrypt' },
      ],
      { version: 14 },
    );
    expect(r.items[1]!.resultStatus).toBe(ResultStatus.Success);
    expect(r.items[1]!.payload!['uniqueIdentifier']).toBe(uid);
    expect(hex(r.items[1]!.payload!['data'])).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  it('audit records name the operation and the key, never the key or the data', async () => {
    const key = randomBytes(32);
    const secret = Buffer.from('plaintext that must not be logged!');
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, key, { mask: ENC_DEC });
    const before = h.audit.length;
    const enc = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM }, data: secret });
    const tampered = Buffer.from(enc['authenticatedEncryptionTag'] as Uint8Array).fill(0);
    await call(h, Operation.Decrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM }, data: enc['data'], ivCounterNonce: enc['ivCounterNonce'], authenticatedEncryptionTag: tampered });
    const records = h.audit.slice(before);
    expect(records.map((r) => [r.operation, r.objectId, r.result])).toEqual([
      ['Encrypt', uid, 'success'],
      ['Decrypt', uid, 'failure'],
    ]);
    const text = JSON.stringify(records, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? `${v.message} ${String(v.cause)}` : v));
    for (const needle of [key.toString('hex'), key.toString('base64'), secret.toString('hex'), secret.toString(), secret.toString('base64')]) {
      expect(text).not.toContain(needle);
    }
  });

  it('Query lists the cryptographic operations to 1.2+ clients and not to 1.1 ones', async () => {
    const ops = [Operation.Encrypt, Operation.Decrypt, Operation.Sign, Operation.SignatureVerify, Operation.MAC, Operation.MACVerify, Operation.RNGRetrieve, Operation.RNGSeed, Operation.Hash, Operation.DeriveKey];
    const q14 = await ok(h, Operation.Query, { queryFunctions: [QueryFunction.QueryOperations] }, 14);
    expect(q14['operations']).toEqual(expect.arrayContaining(ops));
    const q11 = await ok(h, Operation.Query, { queryFunctions: [QueryFunction.QueryOperations] }, 11);
    for (const op of ops) expect(q11['operations']).not.toContain(op);
  });
});
