export const StoreErrorCode = {
  NotFound: 'STORE_ERR_NOT_FOUND',
  Conflict: 'STORE_ERR_CONFLICT',
  Duplicate: 'STORE_ERR_DUPLICATE',
  Unavailable: 'STORE_ERR_UNAVAILABLE',
  Migration: 'STORE_ERR_MIGRATION',
  Corrupt: 'STORE_ERR_CORRUPT',
  /** The request this work was for was given up (timeout, closed connection). */
  Cancelled: 'STORE_ERR_CANCELLED',
} as const;

export type StoreErrorCodeValue = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** The storage layer's one error class; `detail` is for logs only. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCodeValue): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
