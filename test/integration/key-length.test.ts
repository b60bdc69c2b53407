/**
 * Issue 18, item 9: Register and Create refuse a Cryptographic Length the algorithm does not have
 * (a 17-byte "AES-136" key was accepted), and key material that is not as long as the declared
 * length, with Invalid Field and a reason; the lengths the algorithms do have still work. Over the
 * KMIP port with a registered client.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import type { TtlvItem } from '../../server/ttlv/index.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import type { TestKmipClient } from '../support/kmip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { attr, b, e, i, s } from '../support/ttlv-builder.js';

let server: TestServer;
let client: TestKmipClient;
beforeAll(async () => {
  server = await startTestServer();
  const { cert } = await server.tenant('lengths');
  client = await server.connect(cert);
});
afterAll(() => server?.close());

/** A Raw symmetric key of `bytes` bytes, with algorithm and length in the Key Block or in the template attributes. */
function registerItem(algorithm: number, length: number, bytes: number, where: 'block' | 'attributes' = 'block'): TtlvItem {
  const inBlock = where === 'block' ? [e(Tag.CryptographicAlgorithm, algorithm), i(Tag.CryptographicLength, length)] : [];
  const keyBlock = s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Raw), s(Tag.KeyValue, [b(Tag.KeyMaterial, new Uint8Array(randomBytes(bytes)))]), ...inBlock]);
  const template = where === 'attributes' ? [attr('Cryptographic Algorithm', e(0, algorithm)), attr('Cryptographic Length', i(0, length))] : [];
  return s(Tag.RequestPayload, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [attr('Cryptographic Usage Mask', i(0, 12)), ...template]), s(Tag.SymmetricKey, [keyBlock])]);
}

async function register(algorithm: number, length: number, bytes: number, where: 'block' | 'attributes' = 'block') {
  const r = await client.request([{ operation: Operation.Register, payload: registerItem(algorithm, length, bytes, where) }]);
  return r.items[0]!;
}

async function create(algorithm: number, length: number) {
  const r = await client.request([
    { operation: Operation.Create, payload: { objectType: ObjectType.SymmetricKey, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', algorithm), intAttr('Cryptographic Length', length), intAttr('Cryptographic Usage Mask', 12)] } } },
  ], { version: 14 }); // ChaCha20 is a 1.3 enumeration value
  return r.items[0]!;
}

const { AES, DES3, ChaCha20, HMAC_SHA256 } = CryptographicAlgorithm;

describe('Register refuses a key length the algorithm does not have', () => {
  const refused: Array<[string, number, number, number, RegExp, ('block' | 'attributes')?]> = [
    ['the issue: a 17-byte key declared AES 136 bits', AES, 136, 17, /136 is not valid .*AES keys are 128, 192 or 256 bits/],
    ['the same, declared in the template attributes', AES, 136, 17, /136 is not valid .*AES/, 'attributes'],
    ['AES 130 bits (not a whole number of bytes)', AES, 130, 17, /130 is not valid .*AES/],
    ['AES 512 bits', AES, 512, 64, /512 is not valid .*AES/],
    ['AES 0 bits', AES, 0, 0, /Cryptographic Length 0 is not a length/],
    ['AES -128 bits', AES, -128, 16, /-128 is not a length/],
    ['AES 128 bits with 17 bytes of material', AES, 128, 17, /the key is 17 bytes, not the 16 bytes/],
    ['AES 256 bits with 16 bytes of material', AES, 256, 16, /the key is 16 bytes, not the 32 bytes/],
    ['two-key 3DES (112 bits, 16 bytes)', DES3, 112, 16, /112 is not valid .*3DES keys are 168 or 192 bits/],
    ['3DES 168 bits with 21 bytes (parity bits missing)', DES3, 168, 21, /the key is 21 bytes, not the 24 bytes/],
    ['ChaCha20 128 bits', ChaCha20, 128, 16, /128 is not valid .*ChaCha20 keys are 256 bits/],
    ['HMAC-SHA256 100 bits', HMAC_SHA256, 100, 13, /100 is not valid .*whole number of bytes/],
    ['HMAC-SHA256 256 bits with 31 bytes', HMAC_SHA256, 256, 31, /the key is 31 bytes, not the 32 bytes/],
  ];
  for (const [label, algorithm, length, bytes, message, where] of refused) {
    it(label, async () => {
      const item = await register(algorithm, length, bytes, where);
      expect(item.resultStatus, label).toBe(ResultStatus.OperationFailed);
      expect(item.resultReason, label).toBe(ResultReason.InvalidField);
      expect(item.resultMessage, label).toMatch(message);
    });
  }

  it('accepts the lengths the algorithms have, and the key comes back', async () => {
    const accepted: Array<[number, number, number]> = [
      [AES, 128, 16],
      [AES, 192, 24],
      [AES, 256, 32],
      [DES3, 168, 24],
      [DES3, 192, 24],
      [ChaCha20, 256, 32],
      [HMAC_SHA256, 256, 32],
      [HMAC_SHA256, 64, 8],
    ];
    for (const [algorithm, length, bytes] of accepted) {
      const item = await register(algorithm, length, bytes);
      expect(item.resultStatus, `${algorithm}/${length}: ${item.resultMessage}`).toBe(ResultStatus.Success);
      const uid = item.payload!['uniqueIdentifier'] as string;
      const got = await client.ok(Operation.Get, { uniqueIdentifier: uid });
      expect(got['uniqueIdentifier']).toBe(uid);
    }
  });
});

describe('Create refuses a key length the algorithm does not have', () => {
  for (const [label, algorithm, length] of [
    ['AES 136 bits', AES, 136],
    ['AES 130 bits', AES, 130],
    ['3DES 112 bits', DES3, 112],
    ['ChaCha20 128 bits', ChaCha20, 128],
  ] as const) {
    it(label, async () => {
      const item = await create(algorithm, length);
      expect(item.resultStatus, label).toBe(ResultStatus.OperationFailed);
      expect(item.resultReason, label).toBe(ResultReason.InvalidField);
      expect(item.resultMessage, label).toMatch(new RegExp(`${length} is not valid for this algorithm: .*keys are`));
    });
  }

  it('makes AES 128, 192 and 256', async () => {
    for (const length of [128, 192, 256]) expect((await create(AES, length)).resultStatus).toBe(ResultStatus.Success);
  });
});
