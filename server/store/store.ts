/**
 * The persistence interface. Backends (SQLite, PostgreSQL) implement it; operations see it as a type.
 * The store knows no KMIP encoding: attribute values are opaque JSON, compared by the `key` the caller
 * derives, and key material is already wrapped when it arrives here.
 */

export interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/** How a client certificate is trusted: its exact certificate (pin), or a CA plus an exact subject. */
export type ClientCertKind = 'pin' | 'ca';

export interface ClientCertRecord {
  /** SHA-256 of the DER certificate (pin: the client's; ca: the CA's), lower-case hex. */
  readonly fingerprint: string;
  readonly tenantId: string;
  readonly label: string;
  readonly kind: ClientCertKind;
  /** For kind "ca": the subject the client certificate must carry, as Node prints it. */
  readonly subject: string | null;
  readonly pem: string;
  readonly createdAt: number;
}

export interface StoredAttribute {
  readonly name: string;
  readonly index: number;
  /** Opaque JSON of the value. */
  readonly value: unknown;
  /** Equality key for Locate (equal values have equal keys). */
  readonly key: string;
  /** Numeric view for range queries (dates), when the value has one. */
  readonly num?: number | undefined;
  /** Whether the attribute index holds this value; Locate finds the others by reading candidates' attributes. */
  readonly indexed?: boolean | undefined;
}

export interface WrappedMaterial {
  readonly ciphertext: Uint8Array;
  /** Which root-key provider wrapped it ("local", "keyprotect"). */
  readonly wrapKind: string;
  readonly rootKeyId: string;
  readonly rootKeyVersion: string;
}

export interface ObjectRecord {
  readonly uid: string;
  readonly tenantId: string;
  readonly objectType: number;
  readonly state: number;
  /** Incremented by every update; updates name the revision they read. */
  readonly revision: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastGetAt: number | null;
  readonly attributes: readonly StoredAttribute[];
  /** Null once the object is destroyed (metadata is kept). */
  readonly material: WrappedMaterial | null;
}

export type ObjectChange =
  | { readonly kind: 'insert'; readonly object: ObjectRecord }
  | { readonly kind: 'update'; readonly object: ObjectRecord; readonly expectedRevision: number };

export interface AttributeFilter {
  readonly name: string;
  readonly key: string;
  /** True when values of this attribute are in the attribute index (see StoredAttribute.indexed). */
  readonly indexed: boolean;
}

export interface RangeFilter {
  readonly name: string;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
  readonly indexed: boolean;
}

export interface LocateQuery {
  readonly objectType?: number | undefined;
  /** Object types left out (those the client's KMIP version does not define). */
  readonly excludedObjectTypes?: readonly number[] | undefined;
  /** Never served by Get yet (KMIP's Fresh); a Get's time reaches the store within the touch flush interval. */
  readonly fresh?: boolean | undefined;
  readonly states?: readonly number[] | undefined;
  /** Only archived objects (they have an Archive Date), only on-line ones, or both when undefined. */
  readonly archived?: boolean | undefined;
  /** Every filter must match some instance of its attribute. */
  readonly attributes: readonly AttributeFilter[];
  readonly ranges: readonly RangeFilter[];
  readonly offset: number;
  readonly limit: number;
  /** Also count every match, ignoring offset and limit. */
  readonly withTotal: boolean;
  /** Stops a long Locate once its request is given up (timeout, closed connection). */
  readonly signal?: AbortSignal | undefined;
}

export interface LocateResult {
  readonly uids: string[];
  readonly total?: number | undefined;
}

export interface ObjectSummary {
  readonly uid: string;
  readonly tenantId: string;
  readonly objectType: number;
  readonly state: number;
  readonly createdAt: number;
  readonly lastGetAt: number | null;
}

export type SnapshotItem =
  | { readonly kind: 'tenant'; readonly tenant: TenantRecord }
  | { readonly kind: 'cert'; readonly cert: ClientCertRecord }
  | { readonly kind: 'object'; readonly object: ObjectRecord };

/**
 * A restore in progress: what it brings is staged where nothing serves it (no Get, no Locate, no
 * client authentication) and published in one transaction, or not at all. A crash before
 * `publish` resolves leaves the store as it was (stale staging is cleared when the store opens).
 */
export interface RestoreStaging {
  addTenant(tenant: TenantRecord): Promise<void>;
  addCert(cert: ClientCertRecord): Promise<void>;
  addObjects(objects: readonly ObjectRecord[]): Promise<void>;
  /**
   * Publishes everything staged in one durable transaction, which also checks that the store holds
   * no keys but these; rejects with STORE_ERR_CONFLICT (store not empty) or STORE_ERR_DUPLICATE (a
   * tenant or certificate appeared meanwhile) and then nothing is published.
   */
  publish(): Promise<void>;
  /** Drops what was staged; nothing is published. Safe after a failed publish. */
  abort(): Promise<void>;
}

export interface KeyStore {
  readonly kind: string;

  getObject(tenantId: string, uid: string): Promise<ObjectRecord | undefined>;
  /** Whether any tenant holds an object with this identifier (identifiers are unique across the store); reads nothing else of it. */
  uidInUse(uid: string): Promise<boolean>;
  locate(tenantId: string, query: LocateQuery): Promise<LocateResult>;
  /**
   * Applies the changes atomically and durably: when the promise resolves, they survive a crash.
   * Rejects with STORE_ERR_CONFLICT when an update's revision is stale, STORE_ERR_DUPLICATE when a
   * unique Name is taken; then nothing is applied.
   */
  commit(changes: readonly ObjectChange[]): Promise<void>;
  /**
   * Records that objects were fetched; best effort: coalesced, written within a few seconds, lost on
   * a crash; reads on this node see it at once, other nodes once it is written.
   */
  touch(uids: readonly string[], at: number): Promise<void>;

  createTenant(tenant: TenantRecord): Promise<void>;
  getTenantByName(name: string): Promise<TenantRecord | undefined>;
  getTenant(id: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  deleteTenant(id: string): Promise<void>;

  addClientCert(cert: ClientCertRecord): Promise<void>;
  removeClientCert(fingerprint: string): Promise<boolean>;
  getClientCert(fingerprint: string): Promise<ClientCertRecord | undefined>;
  listClientCerts(tenantId?: string): Promise<ClientCertRecord[]>;

  listObjects(filter: { tenantId?: string; states?: readonly number[]; afterUid?: string; limit: number }): Promise<ObjectSummary[]>;
  /**
   * Removes these objects of a tenant outright, whatever their state; returns how many went. A
   * failed restore does not need it: its staging is rolled back or dropped as a whole.
   */
  deleteObjects(tenantId: string, uids: readonly string[]): Promise<number>;
  /**
   * Everything, as of one moment: tenants, then certificates, then objects in creation order.
   * Changes committed after the first item is produced are not in it. Close the iterator (break
   * out of the loop) to release what holds the snapshot.
   */
  exportSnapshot(): AsyncIterable<SnapshotItem>;
  /** Starts a restore (one at a time per store; STORE_ERR_CONFLICT while another runs). */
  beginRestore(): Promise<RestoreStaging>;
  countObjectsByState(tenantId?: string): Promise<Array<{ tenantId: string; state: number; count: number }>>;

  /** Throws when the store cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
