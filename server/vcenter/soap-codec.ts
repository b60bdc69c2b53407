/**
 * SOAP envelopes for vim25 (and the vSAN API): parameters in the VI/JSON shape become XML in their
 * given order; answers become the VI/JSON shape again (xsi:type → `_typeName`, `type` attribute →
 * managed object reference, repeated elements → arrays, `ArrayOfX`/xsd primitives → `_value`).
 */
import { VcenterError } from './errors.js';
import { attr, child, escapeXml, parseXml, XmlError, XSI_NS, type XmlElement } from './soap-xml.js';
import type { MoRef, VimParams, VimValue } from './transport.js';

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

/**
 * Types we send where the schema declares their base type, so SOAP needs xsi:type (JSON always
 * carries `_typeName`). The SDKs (pyVmomi, govmomi) add xsi:type only in such places; so do we.
 */
const POLYMORPHIC = new Set([
  'TraversalSpec',
  // A rekey (ReconfigVM_Task): the crypto spec, and the disk echoed back as read with its backing.
  'CryptoSpecShallowRecrypt',
  'VirtualDisk',
  'VirtualDiskFlatVer2BackingInfo',
  'VirtualDiskSeSparseBackingInfo',
  'VirtualDiskSparseVer2BackingInfo',
  // VirtualDisk.independentFilters is declared as the base type VirtualMachineBaseIndependentFilterSpec (since API 7.0.2.1).
  'VirtualMachineIndependentFilterSpec',
]);

function isMoRef(v: object): v is { _typeName: 'ManagedObjectReference'; type: string; value: string } {
  return (v as { _typeName?: unknown })._typeName === 'ManagedObjectReference';
}

function encodeValue(name: string, value: VimValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => encodeValue(name, v as VimValue)).join('');
  if (typeof value === 'string') return `<${name}>${escapeXml(value)}</${name}>`;
  if (typeof value === 'number' || typeof value === 'boolean') return `<${name}>${String(value)}</${name}>`;
  const obj = value as Exclude<VimValue, string | number | boolean | undefined | readonly VimValue[]>;
  if (isMoRef(obj)) return `<${name} type="${escapeXml(obj.type)}">${escapeXml(obj.value)}</${name}>`;
  const typeAttr = POLYMORPHIC.has(obj._typeName) ? ` xsi:type="${escapeXml(obj._typeName)}"` : '';
  const fields = Object.entries(obj)
    .filter(([k]) => k !== '_typeName')
    .map(([k, v]) => encodeValue(k, v))
    .join('');
  return `<${name}${typeAttr}>${fields}</${name}>`;
}

export function encodeRequest(namespace: 'urn:vim25' | 'urn:vsan', obj: MoRef, method: string, params: VimParams): string {
  const body = `<_this type="${escapeXml(obj.type)}">${escapeXml(obj.value)}</_this>${Object.entries(params)
    .map(([k, v]) => encodeValue(k, v))
    .join('')}`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="${XSI_NS}">` +
    `<soapenv:Body><${method} xmlns="${namespace}">${body}</${method}></soapenv:Body></soapenv:Envelope>`
  );
}

const PRIMITIVES: Record<string, (s: string) => unknown> = {
  string: (s) => s,
  anyURI: (s) => s,
  dateTime: (s) => s,
  base64Binary: (s) => s,
  boolean: (s) => s === 'true' || s === '1',
  int: Number,
  long: Number,
  short: Number,
  byte: Number,
  float: Number,
  double: Number,
};

function localType(el: XmlElement): string | undefined {
  const t = attr(el, 'type', XSI_NS);
  return t === undefined ? undefined : t.slice(t.indexOf(':') + 1);
}

/** One element in the VI/JSON shape. */
export function decodeElement(el: XmlElement): unknown {
  const xsiType = localType(el);
  if (xsiType !== undefined && PRIMITIVES[xsiType]) return { _typeName: xsiType, _value: PRIMITIVES[xsiType](el.text) };
  if (xsiType?.startsWith('ArrayOf')) return { _typeName: xsiType, _value: el.children.map(decodeElement) };
  const typeAttr = attr(el, 'type');
  if (xsiType === 'ManagedObjectReference' || (typeAttr !== undefined && el.children.length === 0)) {
    return { _typeName: 'ManagedObjectReference', type: typeAttr ?? '', value: el.text.trim() };
  }
  if (el.children.length === 0) return xsiType !== undefined ? { _typeName: xsiType } : el.text;
  const out: Record<string, unknown> = xsiType !== undefined ? { _typeName: xsiType } : {};
  for (const c of el.children) {
    const v = decodeElement(c);
    const prev = out[c.name];
    // decodeElement never returns an array itself, so an array here is our own list of repeats.
    if (prev === undefined) out[c.name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[c.name] = [prev, v];
  }
  return out;
}

/** The result of `method` in a SOAP answer; throws a VcenterError for a fault. */
export function decodeResponse(xml: string, method: string, status: number): unknown {
  // Only 200 and 500 (a fault) carry SOAP; anything else (a proxy's error page) is reported by status.
  const httpError = () => new VcenterError('VC_ERR_HTTP', `${method}: vCenter answered HTTP ${status}`);
  let envelope: XmlElement;
  try {
    envelope = parseXml(xml);
  } catch (err) {
    if (status !== 200 && status !== 500) throw httpError();
    throw new VcenterError('VC_ERR_PROTOCOL', `${method}: vCenter's SOAP answer is not XML (${(err as XmlError).message})`);
  }
  const body = envelope.name === 'Envelope' && envelope.ns === SOAP_ENV ? child(envelope, 'Body') : undefined;
  if (!body) {
    if (status !== 200 && status !== 500) throw httpError();
    throw new VcenterError('VC_ERR_PROTOCOL', `${method}: vCenter's answer is not a SOAP envelope`);
  }
  const fault = body.children.find((c) => c.name === 'Fault' && c.ns === SOAP_ENV);
  if (fault) {
    const detail = child(fault, 'detail')?.children[0];
    const type = detail ? (localType(detail) ?? detail.name.replace(/Fault$/, '')) : 'RuntimeFault';
    const text = (child(fault, 'faultstring')?.text ?? '').trim().slice(0, 500);
    throw new VcenterError('VC_ERR_FAULT', `${method}: ${type}${text ? `: ${text}` : ''}`, type);
  }
  if (status !== 200) throw httpError();
  const response = child(body, `${method}Response`);
  if (!response) throw new VcenterError('VC_ERR_PROTOCOL', `${method}: the SOAP answer has no ${method}Response`);
  const values = response.children.filter((c) => c.name === 'returnval').map(decodeElement);
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
}
