/** Table rows as both SQL backends return them, and their conversion to records. */
import { parseAttributes } from './attributes-json.js';
import { StoreError, StoreErrorCode } from './errors.js';
import type { ClientCertRecord, ObjectRecord, TenantRecord } from './store.js';

export interface ObjectRow {
  seq: number;
  uid: string;
  tenant_id: string;
  object_type: number;
  state: number;
  revision: number;
  created_at: number;
  updated_at: number;
  last_get_at: number | null;
  attributes: string;
  material: Buffer | null;
  wrap_kind: string | null;
  root_key_id: string | null;
  root_key_version: string | null;
}

export interface CertRow {
  fingerprint: string;
  tenant_id: string;
  label: string;
  kind: 'pin' | 'ca';
  subject: string | null;
  pem: string;
  created_at: number;
}

export interface TenantRow {
  id: string;
  name: string;
  created_at: number;
}

export function tenantFromRow(r: TenantRow): TenantRecord {
  return { id: r.id, name: r.name, createdAt: r.created_at };
}

export function certFromRow(r: CertRow): ClientCertRecord {
  return { fingerprint: r.fingerprint, tenantId: r.tenant_id, label: r.label, kind: r.kind, subject: r.subject, pem: r.pem, createdAt: r.created_at };
}

export function objectFromRow(r: ObjectRow): ObjectRecord {
  let attributes;
  try {
    attributes = parseAttributes(r.attributes);
  } catch (err) {
    throw new StoreError(StoreErrorCode.Corrupt, 'attributes of an object do not parse', { cause: err });
  }
  return {
    uid: r.uid,
    tenantId: r.tenant_id,
    objectType: r.object_type,
    state: r.state,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastGetAt: r.last_get_at,
    attributes,
    material:
      r.material && r.wrap_kind && r.root_key_id && r.root_key_version
        ? { ciphertext: new Uint8Array(r.material), wrapKind: r.wrap_kind, rootKeyId: r.root_key_id, rootKeyVersion: r.root_key_version }
        : null,
  };
}
