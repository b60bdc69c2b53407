import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeUndecodable, sniffVersion, type DecodedRequest } from '../../../server/kmip/message-codec.js';
import { Operation, ResultReason, ResultStatus } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { RequestMessageSchema, ResponseMessageSchema, type RequestMessage } from '../../../server/kmip/model/messages.js';
import { decodeTtlv, encodeTtlv, parseHex, toHex, type StructureItem } from '../../../server/ttlv/index.js';
import { loadKmip11Vectors } from '../../support/vectors.js';

const limits = { maxSize: 1 << 20, maxDepth: 24, maxBatchItems: 64 };
const v11 = { version: 11 };

function decodeOk(bytes: Uint8Array): DecodedRequest {
  const decoded = decodeRequest(bytes, limits);
  if (!decoded.ok) throw new Error(`expected a decodable request, got ${decoded.error.clientMessage}`);
  return decoded;
}

function encodeRequest(message: RequestMessage, version = 11): Uint8Array {
  return encodeTtlv(RequestMessageSchema.encode(Tag.RequestMessage, message, { version }));
}

const discover = (overrides: Partial<RequestMessage['header']> = {}, items: RequestMessage['batchItems'] = []): RequestMessage => ({
  header: { protocolVersion: { major: 1, minor: 1 }, attestationTypes: [], batchCount: items.length || 1, ...overrides },
  batchItems: items.length ? items : [{ operation: Operation.DiscoverVersions, requestPayload: { tag: Tag.RequestPayload, type: 1, value: [] } }],
});

describe('message model against the golden vectors', () => {
  for (const vector of loadKmip11Vectors()) {
    if (vector.request_hex) {
      it(`${vector.id}: request decodes to a typed header and batch item and re-encodes byte-identical`, () => {
        const bytes = parseHex(vector.request_hex!);
        const decoded = decodeOk(bytes);
        expect(decoded.wireVersion).toEqual({ major: 1, minor: 1 });
        expect(decoded.header.batchCount).toBe(1);
        expect(decoded.items).toHaveLength(1);
        const first = decoded.items[0]!;
        expect(first.ok).toBe(true);
        const message = { header: decoded.header, batchItems: decoded.items.map((i) => (i.ok ? i.item : undefined!)) };
        expect(toHex(encodeRequest(message))).toBe(vector.request_hex!.toLowerCase());
      });
    }
    it(`${vector.id}: response decodes with the response schema and re-encodes byte-identical`, () => {
      const bytes = parseHex(vector.response_hex);
      const response = ResponseMessageSchema.decode(decodeTtlv(bytes), v11);
      expect(response.header.batchCount).toBe(response.batchItems.length);
      expect(toHex(encodeTtlv(ResponseMessageSchema.encode(Tag.ResponseMessage, response, v11)))).toBe(vector.response_hex.toLowerCase());
    });
  }

  it('our answer to an undecodable message has the shape of the reference Invalid Message response', () => {
    const reference = loadKmip11Vectors().find((v) => v.id === 'pykmip-invalid-message-response')!;
    const expected = ResponseMessageSchema.decode(decodeTtlv(parseHex(reference.response_hex)), { version: 10 });
    const undecodable = decodeRequest(parseHex('42 00 78 01 00 00 00 08 00'), limits);
    expect(undecodable.ok).toBe(false);
    if (undecodable.ok) return;
    const ours = ResponseMessageSchema.decode(decodeTtlv(encodeUndecodable(undecodable, expected.header.timeStamp)), { version: 10 });
    // Garbage carries no readable version, so ours answers 1.0 (the reference echoed 1.1).
    expect(ours.header).toEqual({ ...expected.header, protocolVersion: { major: 1, minor: 0 }, attestationTypes: [] });
    const [item] = ours.batchItems;
    const [ref] = expected.batchItems;
    expect(item?.operation).toBeUndefined();
    expect(item?.resultStatus).toBe(ref?.resultStatus);
    expect(item?.resultReason).toBe(ref?.resultReason);
    expect(item?.resultReason).toBe(ResultReason.InvalidMessage);
  });
});

describe('request decoding errors', () => {
  it('answers an unsupported major version with Unsupported Protocol Version, echoing the version', () => {
    const bytes = encodeRequest(discover({ protocolVersion: { major: 3, minor: 0 } }));
    const decoded = decodeRequest(bytes, limits);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.wireVersion).toEqual({ major: 3, minor: 0 });
    expect(decoded.error.reason).toBe(ResultReason.UnsupportedProtocolVersion);
  });

  it('serves a newer minor of a supported major with that major’s newest rules, echoing the client’s version', () => {
    const decoded = decodeOk(encodeRequest(discover({ protocolVersion: { major: 1, minor: 7 } })));
    expect(decoded.wireVersion).toEqual({ major: 1, minor: 7 });
    expect(decoded.version).toBe(14);
  });

  it('refuses a Batch Count that does not match the items', () => {
    const decoded = decodeRequest(encodeRequest(discover({ batchCount: 2 })), limits);
    expect(decoded.ok || decoded.error.reason).toBe(ResultReason.InvalidMessage);
  });

  it('refuses a multi-item batch without Unique Batch Item IDs', () => {
    const item = { operation: Operation.DiscoverVersions, requestPayload: { tag: Tag.RequestPayload, type: 1 as const, value: [] } };
    const decoded = decodeRequest(encodeRequest(discover({ batchCount: 2 }, [item, item])), limits);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.clientMessage).toMatch(/Unique Batch Item ID/);
  });

  it('refuses more batch items than the limit', () => {
    const item = (n: number) => ({ operation: Operation.DiscoverVersions, uniqueBatchItemId: new Uint8Array([n]), requestPayload: { tag: Tag.RequestPayload, type: 1 as const, value: [] } });
    const many = Array.from({ length: 65 }, (_, n) => item(n));
    const decoded = decodeRequest(encodeRequest(discover({ batchCount: 65 }, many)), limits);
    expect(decoded.ok || decoded.error.clientMessage).toMatch(/more than 64 batch items/);
  });

  it('fails only the batch item that does not decode, keeping its Operation and ID for the answer', () => {
    const good = { operation: Operation.DiscoverVersions, uniqueBatchItemId: new Uint8Array([1]), requestPayload: { tag: Tag.RequestPayload, type: 1 as const, value: [] } };
    const message = encodeTtlv({
      tag: Tag.RequestMessage,
      type: 1,
      value: [
        RequestMessageSchema.fields.header.codec.encode(Tag.RequestHeader, discover({ batchCount: 2 }).header, v11),
        RequestMessageSchema.fields.batchItems.codec.encode(Tag.BatchItem, good, v11),
        {
          tag: Tag.BatchItem,
          type: 1,
          value: [
            { tag: Tag.Operation, type: 5, value: Operation.Get },
            { tag: Tag.UniqueBatchItemID, type: 8, value: new Uint8Array([2]) },
            { tag: Tag.UniqueBatchItemID, type: 8, value: new Uint8Array([3]) },
          ],
        },
      ],
    });
    const decoded = decodeOk(message);
    expect(decoded.items[0]!.ok).toBe(true);
    const bad = decoded.items[1]!;
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.reason).toBe(ResultReason.InvalidMessage);
    expect(bad.operation).toBe(Operation.Get);
    expect(bad.uniqueBatchItemId).toEqual(new Uint8Array([2]));
  });

  it('treats an unknown field in the header as an invalid message', () => {
    const header = RequestMessageSchema.fields.header.codec.encode(Tag.RequestHeader, discover().header, v11);
    const withUnknown = { ...header, value: [...(header.value as never[]), { tag: Tag.ActivationDate, type: 9, value: 0n }] };
    const bytes = encodeTtlv({ tag: Tag.RequestMessage, type: 1, value: [withUnknown as never, ...(decodeTtlv(encodeRequest(discover())) as StructureItem).value.slice(1)] } as never);
    const decoded = decodeRequest(bytes, limits);
    expect(decoded.ok || decoded.error.reason).toBe(ResultReason.InvalidMessage);
  });

  it('ignores header fields of a later version only when the client speaks that version', () => {
    const with14 = discover({ protocolVersion: { major: 1, minor: 4 }, clientCorrelationValue: 'abc' });
    expect(decodeOk(encodeRequest(with14, 14)).header.clientCorrelationValue).toBe('abc');
    const as11 = encodeTtlv(RequestMessageSchema.encode(Tag.RequestMessage, with14, { version: 14 }));
    // Same bytes claiming 1.1: the 1.4-only field is now unknown.
    const patched = parseHex(toHex(as11).replace('42006b02000000040000000400000000', '42006b02000000040000000100000000'));
    expect(decodeRequest(patched, limits).ok).toBe(false);
  });

  it('reads the protocol version from the fixed prefix of a message whose body is broken', () => {
    const bytes = encodeRequest(discover({ protocolVersion: { major: 1, minor: 2 } }), 12);
    const broken = bytes.slice(0, bytes.length - 3);
    expect(sniffVersion(broken)).toEqual({ major: 1, minor: 2 });
    const decoded = decodeRequest(broken, limits);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.wireVersion).toEqual({ major: 1, minor: 2 });
      expect(decoded.error.reason).toBe(ResultReason.InvalidMessage);
    }
  });

  it('answers with Result Status Operation Failed', () => {
    const decoded = decodeRequest(parseHex('00'), limits);
    if (decoded.ok) throw new Error('unexpected');
    const response = ResponseMessageSchema.decode(decodeTtlv(encodeUndecodable(decoded, 1)), { version: 10 });
    expect(response.batchItems[0]?.resultStatus).toBe(ResultStatus.OperationFailed);
  });
});
