/**
 * A streamed operation is held to its key's rules at every part, not only the first: revocation,
 * Usage Limits. And what the server refuses because a client could not use the result safely:
 * authenticated modes before KMIP 1.4 (no field for the tag), short generated GCM IVs, streamed key wrap.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, Operation, ResultReason, ResultStatus, RevocationReasonCode, UsageLimitsUnit } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { executorHarness, type ExecutorHarness } from '../../../support/executor.js';
import { attr, e, li, s } from '../../../support/ttlv-builder.js';
import { call, ok, registerSymmetric } from './helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const ENC_DEC = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;
const CBC = { blockCipherMode: BlockCipherMode.CBC };
const reasonOf = (item: { resultStatus: number; resultReason?: number | undefined }) => [item.resultStatus, item.resultReason];

describe('every part of a stream is checked against its key', () => {
  it('a stream begun before the key was revoked cannot go on after it, and ends', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });
    const first = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: CBC, data: randomBytes(32), initIndicator: true }, 21);
    await ok(h, Operation.Revoke, { uniqueIdentifier: uid, revocationReason: { revocationReasonCode: RevocationReasonCode.CessationOfOperation } }, 21);
    const next = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, data: randomBytes(32), correlationValue: first['correlationValue'] }, 21);
    expect(reasonOf(next)).toEqual([ResultStatus.OperationFailed, ResultReason.WrongKeyLifecycleState]);
    const after = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, data: randomBytes(32), correlationValue: first['correlationValue'], finalIndicator: true }, 21);
    expect(reasonOf(after)).toEqual([ResultStatus.OperationFailed, ResultReason.InvalidCorrelationValue]);
  });

  it("every part counts against the key's Usage Limits, not only the first", async () => {
    const limits = attr('Usage Limits', s(Tag.AttributeValue, [li(Tag.UsageLimitsTotal, 100n), e(Tag.UsageLimitsUnit, UsageLimitsUnit.Byte)]));
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC, extra: [limits] });
    const first = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: CBC, data: new Uint8Array(0), initIndicator: true }, 21);
    const part = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, data: randomBytes(64), correlationValue: first['correlationValue'] }, 21);
    const over = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, data: randomBytes(64), correlationValue: part['correlationValue'] }, 21);
    expect(reasonOf(over)).toEqual([ResultStatus.OperationFailed, ResultReason.PermissionDenied]);
  });
});

describe('refused because the client could not use the result safely', () => {
  it('GCM before KMIP 1.4: Feature Not Supported, not ciphertext whose tag is dropped', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });
    const r = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM, tagLength: 16 }, data: randomBytes(16) }, 13);
    expect(reasonOf(r)).toEqual([ResultStatus.OperationFailed, ResultReason.FeatureNotSupported]);
    expect((await call(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM, tagLength: 16 }, data: randomBytes(16) }, 14)).resultStatus).toBe(ResultStatus.Success);
  });

  it('a GCM IV the server would make shorter than 96 bits', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });
    const short = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM, tagLength: 16, ivLength: 64 }, data: randomBytes(16) }, 21);
    expect(short.resultStatus).toBe(ResultStatus.OperationFailed);
    const made = await ok(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.GCM, tagLength: 16, ivLength: 96 }, data: randomBytes(16) }, 21);
    expect((made['ivCounterNonce'] as Uint8Array).length).toBe(12);
  });

  it('a streamed key wrap', async () => {
    const uid = await registerSymmetric(h, CryptographicAlgorithm.AES, randomBytes(32), { mask: ENC_DEC });
    const r = await call(h, Operation.Encrypt, { uniqueIdentifier: uid, cryptographicParameters: { blockCipherMode: BlockCipherMode.NISTKeyWrap }, data: randomBytes(16), initIndicator: true }, 21);
    expect(reasonOf(r)).toEqual([ResultStatus.OperationFailed, ResultReason.FeatureNotSupported]);
  });
});
