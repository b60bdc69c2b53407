/** The JSON encoding as KMIP Profiles writes it, checked against the OASIS MSGENC cases' own messages. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTtlv, encodeTtlv, ItemType, type TtlvItem } from '../../../../server/ttlv/index.js';
import { CryptographicUsageMask, Operation, ResultReason, ResultStatus } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { decodeJson, encodeJson, messageToTtlv, ttlvToMessage, undecodableResponse } from '../../../../server/kmip/json/index.js';
import { invalidMessage } from '../../../../server/kmip/errors.js';
import { decodeXml, decodeXmlMessages } from '../../../../server/kmip/xml/index.js';
import { FIXTURES } from '../../../conformance/oasis/load.js';

/** MSGENC-JSON-M-1-21's first request, written by hand in the JSON encoding. */
const REQUEST_JSON = `{"tag":"RequestMessage","value":[
  {"tag":"RequestHeader","value":[
    {"tag":"ProtocolVersion","value":[
      {"tag":"ProtocolVersionMajor","type":"Integer","value":2},
      {"tag":"ProtocolVersionMinor","type":"Integer","value":1}]},
    {"tag":"MaximumResponseSize","type":"Integer","value":256},
    {"tag":"ClientCorrelationValue","type":"TextString","value":"MSGENC-JSON-M-1-21 step=0"},
    {"tag":"BatchCount","type":"Integer","value":1}]},
  {"tag":"BatchItem","value":[
    {"tag":"Operation","type":"Enumeration","value":"Query"},
    {"tag":"RequestPayload","value":[
      {"tag":"QueryFunction","type":"Enumeration","value":"QueryOperations"},
      {"tag":"0x420074","type":"Enumeration","value":"0x00000002"}]}]}]}`;

const fixture = (file: string) => decodeXmlMessages(readFileSync(join(FIXTURES, file), 'utf8'), { placeholder: (_t, type, tag) => (type === ItemType.DateTime ? { tag, type, value: 0n } : undefined) });

describe('JSON encoding: known values', () => {
  it('the hand-written request is the MSGENC-JSON-M-1-21 request of the test case', () => {
    const [request] = fixture('2.1/mandatory/MSGENC-JSON-M-1-21.xml');
    expect(decodeJson(REQUEST_JSON)).toEqual(request);
  });

  it('writes names, a type only for scalars, and numbers where JSON holds them exactly', () => {
    const tree: TtlvItem = {
      tag: Tag.BatchItem,
      type: ItemType.Structure,
      value: [
        { tag: Tag.Operation, type: ItemType.Enumeration, value: Operation.Query },
        { tag: Tag.CryptographicUsageMask, type: ItemType.Integer, value: CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt },
        { tag: Tag.UsageLimitsTotal, type: ItemType.LongInteger, value: 2n ** 60n },
        { tag: Tag.UsageLimitsCount, type: ItemType.LongInteger, value: 42n },
        { tag: Tag.KeyMaterial, type: ItemType.ByteString, value: new Uint8Array([0xde, 0xad]) },
        { tag: Tag.ActivationDate, type: ItemType.DateTime, value: 1_700_000_000n },
        { tag: Tag.Modulus, type: ItemType.BigInteger, value: -1n },
        { tag: Tag.Sensitive, type: ItemType.Boolean, value: true },
        { tag: 0x540001, type: ItemType.TextString, value: 'x' },
      ],
    };
    expect(JSON.parse(encodeJson(tree))).toEqual({
      tag: 'BatchItem',
      value: [
        { tag: 'Operation', type: 'Enumeration', value: 'Query' },
        { tag: 'CryptographicUsageMask', type: 'Integer', value: 'Encrypt|Decrypt' },
        { tag: 'UsageLimitsTotal', type: 'LongInteger', value: '0x1000000000000000' },
        { tag: 'UsageLimitsCount', type: 'LongInteger', value: 42 },
        { tag: 'KeyMaterial', type: 'ByteString', value: 'dead' },
        { tag: 'ActivationDate', type: 'DateTime', value: '2023-11-14T22:13:20+00:00' },
        { tag: 'Modulus', type: 'BigInteger', value: '0xffffffffffffffff' },
        { tag: 'Sensitive', type: 'Boolean', value: true },
        { tag: '0x540001', type: 'TextString', value: 'x' },
      ],
    });
  });

  it('reads hex, decimal text and "|" or space separated mask names for an Integer', () => {
    const read = (value: unknown) => decodeJson(JSON.stringify({ tag: 'CryptographicUsageMask', type: 'Integer', value }));
    const both = { tag: Tag.CryptographicUsageMask, type: ItemType.Integer, value: CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt };
    expect(read('Encrypt|Decrypt')).toEqual(both);
    expect(read('Decrypt Encrypt')).toEqual(both);
    expect(read('0x0000000C')).toEqual(both);
    expect(read(12)).toEqual(both);
  });

  it('the transport helpers translate a request to TTLV and a TTLV response back, in XML and JSON', () => {
    const [request, response] = fixture('1.4/mandatory/MSGENC-XML-M-1-14.xml');
    const ttlv = encodeTtlv(request!);
    const limits = { maxSize: 1 << 20, maxDepth: 24 };
    expect(decodeTtlv(messageToTtlv('json', Buffer.from(encodeJson(request!)), limits))).toEqual(request);
    expect(Buffer.from(messageToTtlv('ttlv', ttlv, limits))).toEqual(Buffer.from(ttlv));
    const responseBytes = encodeTtlv(response!);
    expect(decodeJson(ttlvToMessage('json', responseBytes) as string)).toEqual(response);
    expect(decodeXml(ttlvToMessage('xml', responseBytes) as string)).toEqual(response);
  });

  it('a body that is not its encoding is an Invalid Message response (one item, Operation Failed)', () => {
    const limits = { maxSize: 1 << 20, maxDepth: 24 };
    expect(() => messageToTtlv('json', Buffer.from([0xff, 0xfe]), limits)).toThrow(/not UTF-8/);
    expect(() => messageToTtlv('xml', Buffer.from('<RequestMessage>'), limits)).toThrow(/XML/);
    const answer = decodeTtlv(undecodableResponse(invalidMessage('JSON at $: not JSON'), 1_700_000_000));
    const item = (answer.value as TtlvItem[]).find((c) => c.tag === Tag.BatchItem)!;
    expect(item.value).toEqual(
      expect.arrayContaining([
        { tag: Tag.ResultStatus, type: ItemType.Enumeration, value: ResultStatus.OperationFailed },
        { tag: Tag.ResultReason, type: ItemType.Enumeration, value: ResultReason.InvalidMessage },
      ]),
    );
  });
});
