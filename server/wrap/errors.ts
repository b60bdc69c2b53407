export const WrapErrorCode = {
  /** The provider refused our credentials or we lack access. */
  Auth: 'WRAP_ERR_AUTH',
  /** The root key is disabled, deleted, unknown or otherwise unusable. */
  RootKeyUnusable: 'WRAP_ERR_ROOT_KEY_UNUSABLE',
  /** The ciphertext does not decrypt (tampered, or bound to another object). */
  Rejected: 'WRAP_ERR_REJECTED',
  /** The provider could not be reached or failed; retrying may help. */
  Unavailable: 'WRAP_ERR_UNAVAILABLE',
  Timeout: 'WRAP_ERR_TIMEOUT',
  Config: 'WRAP_ERR_CONFIG',
} as const;

export type WrapErrorCodeValue = (typeof WrapErrorCode)[keyof typeof WrapErrorCode];

/** The root-key layer's one error class. Messages never contain key material or credentials. */
export class WrapError extends Error {
  override readonly name = 'WrapError';
  constructor(
    readonly code: WrapErrorCodeValue,
    /** The message without its code prefix (to rewrap the error with more context). */
    readonly detail: string,
    readonly details: { readonly status?: number; readonly correlationId?: string; readonly retryable?: boolean } = {},
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
  }
}
