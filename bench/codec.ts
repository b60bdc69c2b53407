/**
 * Codec throughput on one core: TTLV decode/encode and full message-model decode of a typical
 * vCenter Create request and Get response (AES-256, Raw).
 */
import { Tag } from '../server/kmip/generated/tags.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, ResultStatus } from '../server/kmip/generated/enums.js';
import { RequestMessageSchema, ResponseMessageSchema } from '../server/kmip/model/messages.js';
import { decodeRequest } from '../server/kmip/message-codec.js';
import { decodeTtlv, encodeTtlv, type StructureItem, type TtlvItem } from '../server/ttlv/index.js';
import { median } from './stats.js';

const attr = (name: string, value: TtlvItem): TtlvItem => ({
  tag: Tag.Attribute,
  type: 1,
  value: [{ tag: Tag.AttributeName, type: 7, value: name }, { ...value, tag: Tag.AttributeValue }],
});

export function sampleCreateRequest(): Uint8Array {
  return encodeTtlv(
    RequestMessageSchema.encode(
      Tag.RequestMessage,
      {
        header: { protocolVersion: { major: 1, minor: 1 }, attestationTypes: [], batchCount: 1 },
        batchItems: [
          {
            operation: Operation.Create,
            requestPayload: {
              tag: Tag.RequestPayload,
              type: 1,
              value: [
                { tag: Tag.ObjectType, type: 5, value: ObjectType.SymmetricKey },
                {
                  tag: Tag.TemplateAttribute,
                  type: 1,
                  value: [
                    attr('Cryptographic Algorithm', { tag: 0, type: 5, value: CryptographicAlgorithm.AES }),
                    attr('Cryptographic Usage Mask', { tag: 0, type: 2, value: 12 }),
                    attr('Cryptographic Length', { tag: 0, type: 2, value: 256 }),
                  ],
                },
              ],
            },
          },
        ],
      },
      { version: 11 },
    ),
  );
}

export function sampleGetResponse(): Uint8Array {
  return encodeTtlv(
    ResponseMessageSchema.encode(
      Tag.ResponseMessage,
      {
        header: { protocolVersion: { major: 1, minor: 1 }, timeStamp: 1_700_000_000, attestationTypes: [], batchCount: 1 },
        batchItems: [
          {
            operation: Operation.Get,
            resultStatus: ResultStatus.Success,
            responsePayload: {
              tag: Tag.ResponsePayload,
              type: 1,
              value: [
                { tag: Tag.ObjectType, type: 5, value: ObjectType.SymmetricKey },
                { tag: Tag.UniqueIdentifier, type: 7, value: '8c1f2b6e-3d4a-4f1e-9a7b-2c5d6e7f8a9b' },
                {
                  tag: Tag.SymmetricKey,
                  type: 1,
                  value: [
                    {
                      tag: Tag.KeyBlock,
                      type: 1,
                      value: [
                        { tag: Tag.KeyFormatType, type: 5, value: KeyFormatType.Raw },
                        { tag: Tag.KeyValue, type: 1, value: [{ tag: Tag.KeyMaterial, type: 8, value: new Uint8Array(32).fill(7) }] },
                        { tag: Tag.CryptographicAlgorithm, type: 5, value: CryptographicAlgorithm.AES },
                        { tag: Tag.CryptographicLength, type: 2, value: 256 },
                      ],
                    },
                  ],
                },
              ],
            },
          },
        ],
      },
      { version: 11 },
    ),
  );
}

export interface CodecResult {
  readonly name: string;
  readonly bytes: number;
  readonly opsPerSecond: number;
  readonly mbPerSecond: number;
}

function measure(name: string, bytes: number, fn: () => void, seconds: number, rounds: number): CodecResult {
  // Warm up so the JIT has settled before anything is timed.
  for (let i = 0; i < 20_000; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round((seconds * 1e9) / rounds));
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 1000; i++) fn();
      n += 1000;
      now = process.hrtime.bigint();
    }
    rates.push(n / (Number(now - start) / 1e9));
  }
  const opsPerSecond = median(rates);
  return { name, bytes, opsPerSecond, mbPerSecond: (opsPerSecond * bytes) / 1e6 };
}

export function runCodecBench(seconds = 6): CodecResult[] {
  const create = sampleCreateRequest();
  const get = sampleGetResponse();
  const getTree = decodeTtlv(get);
  const createTree = decodeTtlv(create);
  const limits = { maxSize: 1 << 20, maxDepth: 24, maxBatchItems: 64 };
  let sink = 0;
  const results = [
    measure('Get response: TTLV decode', get.length, () => { sink += (decodeTtlv(get) as StructureItem).value.length; }, seconds, 3),
    measure('Get response: TTLV encode', get.length, () => { sink += encodeTtlv(getTree).length; }, seconds, 3),
    measure('Get response: decode to model', get.length, () => {
      sink += ResponseMessageSchema.decode(decodeTtlv(get), { version: 11 }).batchItems.length;
    }, seconds, 3),
    measure('Create request: TTLV decode', create.length, () => { sink += (decodeTtlv(create) as StructureItem).value.length; }, seconds, 3),
    measure('Create request: TTLV encode', create.length, () => { sink += encodeTtlv(createTree).length; }, seconds, 3),
    measure('Create request: decode to model', create.length, () => { sink += decodeRequest(create, limits).ok ? 1 : 0; }, seconds, 3),
  ];
  if (sink === 42) console.log('');
  return results;
}
