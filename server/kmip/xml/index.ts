/** The KMIP XML message encoding (KMIP Profiles 1.4 §5.4, 2.1 "XML Encoding"): XML text to and from TTLV trees. */
export { decodeXml, decodeXmlMessages, elementToTtlv } from './decode.js';
export type { XmlDecodeOptions } from './decode.js';
export { encodeXml } from './encode.js';
export type { XmlEncodeOptions } from './encode.js';
export { DEFAULT_XML_LIMITS, parseXml } from './parser.js';
export type { XmlElement, XmlLimits } from './parser.js';
