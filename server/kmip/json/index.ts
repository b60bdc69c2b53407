/** The KMIP JSON message encoding (KMIP Profiles "JSON Encoding"): JSON text to and from TTLV trees. */
export { decodeJson, DEFAULT_JSON_LIMITS, jsonError } from './decode.js';
export type { JsonDecodeOptions, JsonLimits } from './decode.js';
export { encodeJson, ttlvToJsonItem } from './encode.js';
export type { JsonEncodeOptions, JsonItem, JsonValue } from './encode.js';
export { messageToTtlv, ttlvToMessage, undecodableResponse, type MessageEncoding } from './message-encodings.js';
