/**
 * The vim25 API as two interchangeable wire protocols: VI/JSON (vCenter 8.0 Update 1 and later) and
 * SOAP (every version; what 7.0 Update 2/3 needs). Callers build parameters and read results in the
 * VI/JSON shape; the SOAP transport translates both ways, so everything above it is written once.
 *
 * Parameters: data objects carry `_typeName` and list their fields in WSDL order (SOAP needs the
 * order); a managed object reference is `{ _typeName: 'ManagedObjectReference', type, value }`.
 * Results are loose: SOAP gives strings for numbers and booleans and a lone object where JSON gives a
 * one-element array, so every result goes through the schemas of wire.ts.
 */
export interface MoRef {
  readonly type: string;
  readonly value: string;
}

export type VimValue = string | number | boolean | undefined | MoRefValue | DataObject | readonly VimValue[];
export interface MoRefValue {
  readonly _typeName: 'ManagedObjectReference';
  readonly type: string;
  readonly value: string;
}
export interface DataObject {
  readonly _typeName: string;
  readonly [field: string]: VimValue;
}
export type VimParams = Readonly<Record<string, VimValue>>;

export function moRef(ref: MoRef): MoRefValue {
  return { _typeName: 'ManagedObjectReference', type: ref.type, value: ref.value };
}

export type ApiKind = 'json' | 'soap';

export interface VimTransport {
  readonly kind: ApiKind;
  /** The API release the calls are made at (VI/JSON URL segment, or SOAP's urn:vim25/<release>). */
  readonly release: string;
  /** ServiceInstance.content, unparsed. */
  serviceContent(): Promise<unknown>;
  login(userName: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** A vim25 method; resolves with the raw result (undefined for void methods). */
  invoke(obj: MoRef, method: string, params: VimParams): Promise<unknown>;
  /** A method of the vSAN management API (a separate endpoint on vCenter). */
  invokeVsan(obj: MoRef, method: string, params: VimParams): Promise<unknown>;
  close(): void;
}

/** Value of one `{_typeName:'string', _value:'x'}` wrapper (how `any`-typed fields carry primitives). */
export function unwrapAny(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && '_value' in v && '_typeName' in v) {
    const t = (v as { _typeName: unknown })._typeName;
    if (typeof t === 'string' && !t.startsWith('ArrayOf')) return (v as { _value: unknown })._value;
  }
  return v;
}
