/**
 * How a case's messages travel: the MSGENC cases of KMIP Profiles over the HTTPS transport (HTTPS-M
 * with TTLV bodies, XML-M and JSON-M in their encodings), every other case over TTLV on the KMIP port.
 * Whatever the encoding, the answer is handed back as TTLV bytes for the comparison.
 */
import { Buffer } from 'node:buffer';
import { decodeTtlv, encodeTtlv } from '../../../server/ttlv/index.js';
import { decodeJson, encodeJson } from '../../../server/kmip/json/index.js';
import { decodeXml, encodeXml } from '../../../server/kmip/xml/index.js';
import { postKmip, type HttpsTarget } from './https-client.js';

export type Transport = { readonly kind: 'kmip' } | { readonly kind: 'https'; readonly encoding: 'ttlv' | 'xml' | 'json' };

const CONTENT_TYPE = { ttlv: 'application/octet-stream', xml: 'text/xml', json: 'application/json' } as const;

export function transportFor(caseName: string): Transport {
  if (caseName.startsWith('MSGENC-HTTPS-')) return { kind: 'https', encoding: 'ttlv' };
  if (caseName.startsWith('MSGENC-XML-')) return { kind: 'https', encoding: 'xml' };
  if (caseName.startsWith('MSGENC-JSON-')) return { kind: 'https', encoding: 'json' };
  return { kind: 'kmip' };
}

export function describeTransport(t: Transport): string {
  return t.kind === 'kmip' ? 'TTLV' : `HTTPS ${t.encoding.toUpperCase()}`;
}

/** One request over HTTPS; the answer as TTLV bytes, or why there is none. */
export async function exchangeHttps(target: HttpsTarget, encoding: 'ttlv' | 'xml' | 'json', request: Uint8Array): Promise<Buffer | { error: string }> {
  const tree = decodeTtlv(request);
  const body = encoding === 'ttlv' ? request : encoding === 'xml' ? encodeXml(tree) : encodeJson(tree);
  const answer = await postKmip(target, body, CONTENT_TYPE[encoding]);
  if (answer.status !== 200) return { error: `HTTP ${answer.status}: ${answer.body.toString('utf8').slice(0, 120)}` };
  const type = answer.contentType?.split(';')[0]?.trim();
  if (type !== CONTENT_TYPE[encoding]) return { error: `the answer's Content-Type is ${type ?? 'missing'}, not ${CONTENT_TYPE[encoding]}` };
  if (encoding === 'ttlv') return answer.body;
  try {
    const text = answer.body.toString('utf8');
    return Buffer.from(encodeTtlv(encoding === 'xml' ? decodeXml(text) : decodeJson(text)));
  } catch (error) {
    return { error: `the answer is not ${encoding.toUpperCase()} (${(error as Error).message})` };
  }
}
