/** What an operation handler sees of the request it serves. */
import type { KeyStore, WrappedMaterial } from '../store/store.js';
import type { KeyWrapper } from '../wrap/wrapper.js';
import type { Session } from './session.js';
import type { KmipVersion } from './version.js';

/** The authenticated client: a registered certificate and the tenant it belongs to. */
export interface Principal {
  readonly tenantId: string;
  readonly tenantName: string;
  /** SHA-256 fingerprint of the client certificate, lower-case hex. */
  readonly fingerprint: string;
  readonly certLabel: string;
}

export interface ServerInfo {
  readonly vendorIdentification: string;
  readonly serverVersion: string;
  /** The HTTPS port is on, serving the TTLV, XML and JSON message encodings (Query then claims those profiles). */
  readonly messageEncodings?: boolean | undefined;
}

export interface OperationDeps {
  readonly store: KeyStore;
  readonly wrapper: KeyWrapper;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly newUid: () => string;
  readonly server: ServerInfo;
  readonly limits: { readonly maxLocateItems: number };
  /** Told when the root-key provider rewrapped an object under a newer version, to persist it off the request path. */
  readonly onRewrapped?: (tenantId: string, uid: string, previous: WrappedMaterial, next: WrappedMaterial) => void;
}

export interface BatchState {
  /** The ID Placeholder: the last object an item created, registered or located (KMIP §2.1?). */
  idPlaceholder?: string | undefined;
}

export interface OperationContext {
  readonly principal: Principal;
  readonly version: KmipVersion;
  readonly deps: OperationDeps;
  readonly session: Session;
  readonly batch: BatchState;
  /** Operations the server offers to this client's version, for Query. */
  readonly supportedOperations: readonly number[];
  /** Set by a handler to name the object it acted on, for the audit line. */
  auditObjectId?: string | undefined;
  /** Set by Log: the client's message, for the audit line. */
  auditNote?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}
