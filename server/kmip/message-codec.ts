/**
 * Request decoding and response encoding. Decoding never throws: a message that cannot be read
 * yields a whole-message error (answered with one batch item without Operation, KMIP §11.1), and a
 * batch item that cannot be read yields an error for that item only.
 */
import { Buffer } from 'node:buffer';
import { decodeTtlv, encodeTtlv, ItemType, TtlvError, type DecodeLimits, type TtlvItem } from '../ttlv/index.js';
import { errorReasonForVersion, invalidMessage, KmipError } from './errors.js';
import { ResultReason, ResultStatus } from './generated/enums.js';
import { Tag } from './generated/tags.js';
import {
  RequestBatchItemSchema,
  RequestHeaderSchema,
  ResponseMessageSchema,
  type RequestBatchItem,
  type RequestHeader,
  type ResponseBatchItem,
} from './model/messages.js';
import { versionCode, type KmipVersion } from './version.js';

export interface WireVersion {
  readonly major: number;
  readonly minor: number;
}

export type DecodedBatchItem =
  | { readonly ok: true; readonly item: RequestBatchItem }
  | { readonly ok: false; readonly error: KmipError; readonly operation?: number; readonly uniqueBatchItemId?: Uint8Array };

export interface DecodedRequest {
  readonly ok: true;
  /** The version the client spoke, echoed in the response header. */
  readonly wireVersion: WireVersion;
  /** The version whose rules apply (a newer minor of a supported major is served by our newest minor). */
  readonly version: KmipVersion;
  readonly header: RequestHeader;
  readonly items: readonly DecodedBatchItem[];
}

export interface UndecodableRequest {
  readonly ok: false;
  readonly wireVersion: WireVersion;
  readonly version: KmipVersion;
  readonly error: KmipError;
}

export interface RequestLimits extends DecodeLimits {
  readonly maxBatchItems: number;
}

const FALLBACK_VERSION: WireVersion = { major: 1, minor: 0 };

/**
 * The protocol version at its fixed place in a well-formed request prefix, for answering a message
 * that did not decode. Returns 1.0 when the prefix is not that of a request.
 */
export function sniffVersion(bytes: Uint8Array): WireVersion {
  const expect = (at: number, hex: string): boolean => Buffer.from(bytes.subarray(at, at + hex.length / 2)).toString('hex') === hex;
  if (bytes.length < 64 || !expect(0, '42007801') || !expect(8, '42007701') || !expect(16, '42006901')) return FALLBACK_VERSION;
  if (!expect(24, '42006a0200000004') || !expect(40, '42006b0200000004')) return FALLBACK_VERSION;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { major: view.getInt32(32), minor: view.getInt32(48) };
}

/** Which rules serve a client version: exact for 1.0–1.4 and 2.0–2.1, the newest minor for a newer minor of 1 or 2. */
export function servingVersion(v: WireVersion): KmipVersion | undefined {
  if (v.major === 1 && v.minor >= 0) return versionCode(1, Math.min(v.minor, 4));
  if (v.major === 2 && v.minor >= 0) return versionCode(2, Math.min(v.minor, 1));
  return undefined;
}

function unsupportedVersion(): KmipError {
  return new KmipError(ResultReason.UnsupportedProtocolVersion, 'protocol version not supported');
}

function childWithTag(item: TtlvItem, tag: number): TtlvItem | undefined {
  return item.type === ItemType.Structure ? item.value.find((c) => c.tag === tag) : undefined;
}

function readWireVersion(message: TtlvItem): WireVersion | undefined {
  const header = childWithTag(message, Tag.RequestHeader);
  const pv = header && childWithTag(header, Tag.ProtocolVersion);
  const major = pv && childWithTag(pv, Tag.ProtocolVersionMajor);
  const minor = pv && childWithTag(pv, Tag.ProtocolVersionMinor);
  if (major?.type !== ItemType.Integer || minor?.type !== ItemType.Integer) return undefined;
  return { major: major.value, minor: minor.value };
}

export function decodeRequest(bytes: Uint8Array, limits: RequestLimits): DecodedRequest | UndecodableRequest {
  let message: TtlvItem;
  try {
    message = decodeTtlv(bytes, limits);
  } catch (err) {
    const wireVersion = sniffVersion(bytes);
    const cause = err instanceof TtlvError ? err : undefined;
    return { ok: false, wireVersion, version: servingVersion(wireVersion) ?? 10, error: new KmipError(ResultReason.InvalidMessage, 'message could not be decoded', { cause }) };
  }
  const wireVersion = readWireVersion(message);
  if (message.tag !== Tag.RequestMessage || message.type !== ItemType.Structure || !wireVersion) {
    return { ok: false, wireVersion: wireVersion ?? FALLBACK_VERSION, version: 10, error: invalidMessage('not a KMIP request message') };
  }
  const version = servingVersion(wireVersion);
  if (version === undefined) return { ok: false, wireVersion, version: 10, error: unsupportedVersion() };
  const ctx = { version };
  try {
    let header: RequestHeader | undefined;
    const items: DecodedBatchItem[] = [];
    for (const child of message.value) {
      if (child.tag === Tag.RequestHeader && header === undefined) header = RequestHeaderSchema.decode(child, ctx);
      else if (child.tag === Tag.BatchItem) items.push(decodeBatchItem(child, version));
      else throw invalidMessage('unexpected field in Request Message');
      if (items.length > limits.maxBatchItems) throw invalidMessage(`more than ${limits.maxBatchItems} batch items`);
    }
    if (!header) throw invalidMessage('Request Header missing');
    if (items.length === 0) throw invalidMessage('no batch items');
    if (header.batchCount !== items.length) throw invalidMessage('Batch Count does not match the batch items');
    if (items.length > 1 && items.some((i) => (i.ok ? i.item.uniqueBatchItemId : i.uniqueBatchItemId) === undefined)) {
      throw invalidMessage('Unique Batch Item ID is required when Batch Count is above 1');
    }
    return { ok: true, wireVersion, version, header, items };
  } catch (err) {
    if (!(err instanceof KmipError)) throw err;
    // A header that does not decode cannot be trusted, but its version already could be.
    return { ok: false, wireVersion, version, error: err.reason === ResultReason.InvalidMessage ? err : invalidMessage(err.clientMessage) };
  }
}

function decodeBatchItem(item: TtlvItem, version: KmipVersion): DecodedBatchItem {
  try {
    return { ok: true, item: RequestBatchItemSchema.decode(item, { version }) };
  } catch (err) {
    if (!(err instanceof KmipError)) throw err;
    const operation = childWithTag(item, Tag.Operation);
    const ubi = childWithTag(item, Tag.UniqueBatchItemID);
    return {
      ok: false,
      error: invalidMessage(err.clientMessage),
      ...(operation?.type === ItemType.Enumeration ? { operation: operation.value } : {}),
      ...(ubi?.type === ItemType.ByteString ? { uniqueBatchItemId: ubi.value } : {}),
    };
  }
}

export interface ResponseHeaderExtras {
  readonly clientCorrelationValue?: string | undefined;
  readonly serverCorrelationValue?: string | undefined;
}

export function encodeResponse(
  wireVersion: WireVersion,
  version: KmipVersion,
  timeStamp: number,
  items: readonly ResponseBatchItem[],
  extras: ResponseHeaderExtras = {},
): Uint8Array {
  const ctx = { version };
  const item = ResponseMessageSchema.encode(
    Tag.ResponseMessage,
    {
      header: {
        protocolVersion: { major: wireVersion.major, minor: wireVersion.minor },
        timeStamp,
        attestationTypes: [],
        clientCorrelationValue: extras.clientCorrelationValue,
        serverCorrelationValue: extras.serverCorrelationValue,
        batchCount: items.length,
      },
      batchItems: items,
    },
    ctx,
  );
  return encodeTtlv(item);
}

/** A failed batch item; the reason is translated for the client's protocol generation. */
export function failureItem(
  error: KmipError,
  version: KmipVersion,
  operation?: number,
  uniqueBatchItemId?: Uint8Array,
): ResponseBatchItem {
  return {
    operation,
    uniqueBatchItemId,
    resultStatus: ResultStatus.OperationFailed,
    resultReason: errorReasonForVersion(error, version),
    resultMessage: error.clientMessage,
  };
}

/** The answer to a message that could not be decoded at all: one item, no Operation. */
export function encodeUndecodable(request: UndecodableRequest, timeStamp: number): Uint8Array {
  return encodeResponse(request.wireVersion, request.version, timeStamp, [failureItem(request.error, request.version)]);
}
