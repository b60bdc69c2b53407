/**
 * The three bodies the HTTPS transport carries (KMIP Profiles "HTTPS"): TTLV as is, or the XML or
 * JSON encoding, which are translated to TTLV for the executor and back for the answer. A body that
 * is not a message of its encoding gets an Invalid Message response, never an HTTP error.
 */
import { decodeTtlv, encodeTtlv } from '../../ttlv/index.js';
import { invalidMessage, type KmipError } from '../errors.js';
import { encodeUndecodable, sniffVersion, servingVersion } from '../message-codec.js';
import { decodeXml, encodeXml } from '../xml/index.js';
import { decodeJson } from './decode.js';
import { encodeJson } from './encode.js';

export type MessageEncoding = 'ttlv' | 'xml' | 'json';

export interface MessageLimits {
  /** Largest body, and the largest TTLV message it may become (the executor checks that again). */
  readonly maxSize: number;
  readonly maxDepth: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(body: Uint8Array, encoding: MessageEncoding): string {
  try {
    return utf8.decode(body);
  } catch {
    throw invalidMessage(`the ${encoding.toUpperCase()} body is not UTF-8`);
  }
}

/** A request body as TTLV bytes; throws an Invalid Message KmipError when it is not a message of its encoding. */
export function messageToTtlv(encoding: MessageEncoding, body: Uint8Array, limits: MessageLimits): Uint8Array {
  if (encoding === 'ttlv') return body;
  const source = text(body, encoding);
  // The tree is bounded by the text's own limits; each structure level of XML/JSON is one TTLV level.
  const tree =
    encoding === 'xml'
      ? decodeXml(source, { limits: { maxChars: limits.maxSize, maxDepth: limits.maxDepth, maxElements: 200_000, maxAttributes: 8 } })
      : decodeJson(source, { limits: { maxChars: limits.maxSize, maxDepth: limits.maxDepth, maxItems: 200_000 } });
  return encodeTtlv(tree);
}

/** A TTLV response in the request's encoding (the server's own bytes: they always decode). */
export function ttlvToMessage(encoding: MessageEncoding, response: Uint8Array): Uint8Array | string {
  if (encoding === 'ttlv') return response;
  const tree = decodeTtlv(response, { maxSize: Number.MAX_SAFE_INTEGER, maxDepth: 256 });
  return encoding === 'xml' ? encodeXml(tree, { indent: 0 }) : encodeJson(tree);
}

/** The answer to a body that is not a message: one Invalid Message item, in the lowest version (nothing was read). */
export function undecodableResponse(error: KmipError, timeStampSeconds: number): Uint8Array {
  const wireVersion = sniffVersion(new Uint8Array(0));
  return encodeUndecodable({ ok: false, wireVersion, version: servingVersion(wireVersion) ?? 10, error }, timeStampSeconds);
}
