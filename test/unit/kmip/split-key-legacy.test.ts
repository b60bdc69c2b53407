/**
 * Join Split Key holds parts to the work bound itself: parts stored before Register checked it (here
 * a Register standing in for that server, which takes any part as stated) are refused at Join when
 * joining them would hold the request's thread too long, and joined when it would not.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TtlvItem } from '../../../server/ttlv/index.js';
import { primeSplit } from '../../../server/kmip/crypto/shamir.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, ResultReason, ResultStatus, SplitKeyMethod } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { b, bi, e, i, s, t } from '../../support/ttlv-builder.js';

vi.mock('../../../server/kmip/objects/split-key.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../server/kmip/objects/split-key.js')>();
  return {
    ...real,
    registerSplitKey: async (item: TtlvItem) => ({ object: item, derived: [{ name: 'Key Format Type', index: 0, value: KeyFormatType.Raw }] }),
  };
});

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const V = 21;
const M4253 = (1n << 4253n) - 1n;

function part(parts: number, threshold: number, id: number, share: Uint8Array): TtlvItem {
  return s(Tag.SplitKey, [
    i(Tag.SplitKeyParts, parts),
    i(Tag.KeyPartIdentifier, id),
    i(Tag.SplitKeyThreshold, threshold),
    e(Tag.SplitKeyMethod, SplitKeyMethod.PolynomialSharingPrimeField),
    bi(Tag.PrimeFieldSize, M4253),
    s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Raw), s(Tag.KeyValue, [b(Tag.KeyMaterial, share)]), e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 128)]),
  ]);
}

/** Registers every part of a split of a 16-byte key over 2^4253 − 1, 50 to a batch. */
async function registerSplit(parts: number, threshold: number): Promise<{ uids: string[]; key: Uint8Array }> {
  const key = new Uint8Array(randomBytes(16));
  const shares = primeSplit(key, parts, threshold, M4253);
  const uids: string[] = [];
  for (let from = 0; from < parts; from += 50) {
    const items = shares.slice(from, from + 50).map((share, n) => ({
      operation: Operation.Register,
      id: `part-${from + n + 1}`,
      payload: s(Tag.RequestPayload, [e(Tag.ObjectType, ObjectType.SplitKey), s(Tag.Attributes, []), part(parts, threshold, from + n + 1, share)]),
    }));
    for (const item of (await h.run(items, { version: V })).items) {
      expect(item.resultStatus, item.resultMessage).toBe(ResultStatus.Success);
      uids.push(item.payload!['uniqueIdentifier'] as string);
    }
  }
  return { uids, key };
}

async function join(uids: string[]) {
  const payload = s(Tag.RequestPayload, [e(Tag.ObjectType, ObjectType.SymmetricKey), ...uids.map((u) => t(Tag.UniqueIdentifier, u))]);
  return (await h.run([{ operation: Operation.JoinSplitKey, payload }], { version: V })).items[0]!;
}

describe('Join Split Key of parts stored before the work bound', () => {
  it('refuses 255 of 255 over 2^4253 − 1, which took ~1 s of the request thread', async () => {
    const { uids } = await registerSplit(255, 255);
    const r = await join(uids);
    expect(r.resultReason).toBe(ResultReason.InvalidField);
    expect(r.resultMessage).toMatch(/at most/);
  });

  it('joins a split within the bound', async () => {
    const { uids, key } = await registerSplit(60, 60);
    const r = await join(uids);
    expect(r.resultStatus, r.resultMessage).toBe(ResultStatus.Success);
    const got = (await h.run([{ operation: Operation.Get, payload: s(Tag.RequestPayload, [t(Tag.UniqueIdentifier, r.payload!['uniqueIdentifier'] as string)]) }], { version: V })).items[0]!;
    const block = ((got.payload!['symmetricKey'] as TtlvItem).value as TtlvItem[]).find((c) => c.tag === Tag.KeyBlock)!;
    const value = (block.value as TtlvItem[]).find((c) => c.tag === Tag.KeyValue)!;
    const material = (value.value as TtlvItem[]).find((c) => c.tag === Tag.KeyMaterial)!;
    expect(Buffer.from(material.value as Uint8Array).toString('hex')).toBe(Buffer.from(key).toString('hex'));
  });
});
