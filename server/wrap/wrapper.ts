/** The root-key provider interface: wraps and unwraps object material under the customer's root key. */

export interface WrappedKey {
  readonly ciphertext: Uint8Array;
  readonly wrapKind: string;
  readonly rootKeyId: string;
  readonly rootKeyVersion: string;
}

export interface UnwrapResult {
  readonly plaintext: Uint8Array;
  /** Present when the provider rewrapped under a newer root-key version; the caller should persist it. */
  readonly rewrapped?: WrappedKey | undefined;
}

export interface KeyWrapper {
  readonly kind: string;
  /** `aad` binds the ciphertext to one object (its Unique Identifier). */
  wrap(plaintext: Uint8Array, aad: string, signal?: AbortSignal): Promise<WrappedKey>;
  unwrap(wrapped: WrappedKey, aad: string, signal?: AbortSignal): Promise<UnwrapResult>;
  /** Rewraps to the current root-key version (a no-op result when already current). */
  rewrap(wrapped: WrappedKey, aad: string, signal?: AbortSignal): Promise<WrappedKey>;
  /** The root-key version new wraps use (rewrap skips objects already on it). */
  currentVersion(signal?: AbortSignal): Promise<string>;
  /** Throws when the provider cannot serve (readiness). */
  check(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
