/**
 * The fake vCenter's SOAP side: requests (XML) into the VI/JSON shape its handlers take, and
 * VI/JSON-shaped results and faults into SOAP answers the way vCenter writes them (xsi:type on data
 * objects, `type` attributes on references, repeated elements for arrays). Written independently of
 * the client's encoder; only the generic XML reader is shared.
 */
import { attr, escapeXml, parseXml, XSI_NS, type XmlElement } from '../../server/vcenter/soap-xml.js';

export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

export interface SoapCall {
  readonly method: string;
  readonly namespace: string;
  readonly obj: { type: string; value: string };
  readonly params: Record<string, unknown>;
  /** The method element itself (for the contract's order check). */
  readonly element: XmlElement;
}

function decode(el: XmlElement): unknown {
  const typeAttr = attr(el, 'type');
  const xsiType = attr(el, 'type', XSI_NS);
  if (typeAttr !== undefined && el.children.length === 0) return { _typeName: 'ManagedObjectReference', type: typeAttr, value: el.text };
  if (el.children.length === 0) return el.text;
  const out: Record<string, unknown> = xsiType ? { _typeName: xsiType.replace(/^.*:/, '') } : {};
  for (const c of el.children) {
    const v = decode(c);
    const prev = out[c.name];
    out[c.name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Throws on anything that is not a SOAP call (the fake answers such requests with HTTP 400). */
export function parseSoapCall(xml: string): SoapCall {
  const env = parseXml(xml);
  if (env.name !== 'Envelope' || env.ns !== SOAP_ENV) throw new Error('not a SOAP envelope');
  const body = env.children.find((c) => c.name === 'Body' && c.ns === SOAP_ENV);
  const call = body?.children[0];
  if (!call) throw new Error('empty SOAP body');
  const thisEl = call.children.find((c) => c.name === '_this');
  const type = thisEl && attr(thisEl, 'type');
  if (!thisEl || !type) throw new Error('no _this');
  const params: Record<string, unknown> = {};
  for (const c of call.children) {
    if (c === thisEl) continue;
    const v = decode(c);
    const prev = params[c.name];
    params[c.name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { method: call.name, namespace: call.ns, obj: { type, value: thisEl.text }, params, element: call };
}

const XSD_PRIMITIVES = new Set(['string', 'boolean', 'int', 'long', 'short', 'byte', 'float', 'double', 'dateTime']);

function encode(name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => encode(name, x)).join('');
  if (typeof v !== 'object') return `<${name}>${escapeXml(String(v))}</${name}>`;
  const o = v as Record<string, unknown> & { _typeName?: string };
  if (o._typeName === 'ManagedObjectReference') return `<${name} type="${escapeXml(String(o['type']))}">${escapeXml(String(o['value']))}</${name}>`;
  if (o._typeName && XSD_PRIMITIVES.has(o._typeName)) return `<${name} xsi:type="xsd:${o._typeName}">${escapeXml(String(o['_value']))}</${name}>`;
  if (o._typeName?.startsWith('ArrayOf')) {
    const item = o._typeName.slice('ArrayOf'.length);
    return `<${name} xsi:type="${o._typeName}">${(o['_value'] as unknown[]).map((x) => encode(item, x)).join('')}</${name}>`;
  }
  const typeAttr = o._typeName ? ` xsi:type="${o._typeName}"` : '';
  const fields = Object.entries(o)
    .filter(([k]) => k !== '_typeName')
    .map(([k, x]) => encode(k, x))
    .join('');
  return `<${name}${typeAttr}>${fields}</${name}>`;
}

function envelope(inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="${SOAP_ENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="${XSI_NS}">\n<soapenv:Body>\n${inner}\n</soapenv:Body>\n</soapenv:Envelope>`;
}

export function soapResult(method: string, namespace: string, result: unknown): string {
  const values = result === undefined ? [] : Array.isArray(result) ? result : [result];
  return envelope(`<${method}Response xmlns="${namespace}">${values.map((v) => encode('returnval', v)).join('')}</${method}Response>`);
}

export function soapFault(namespace: string, type: string, message: string, props: Record<string, unknown> = {}): string {
  return envelope(
    `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${escapeXml(message)}</faultstring><detail><${type}Fault xmlns="${namespace}" xsi:type="${type}">${Object.entries(props)
      .map(([k, v]) => encode(k, v))
      .join('')}</${type}Fault></detail></soapenv:Fault>`,
  );
}
