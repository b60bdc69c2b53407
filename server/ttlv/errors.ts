/** Stable codes of the wire codec; each names one way bytes can be malformed. */
export const TtlvErrorCode = {
  Truncated: 'TTLV_ERR_TRUNCATED',
  BadTag: 'TTLV_ERR_BAD_TAG',
  BadType: 'TTLV_ERR_BAD_TYPE',
  BadLength: 'TTLV_ERR_BAD_LENGTH',
  BadPadding: 'TTLV_ERR_BAD_PADDING',
  BadBoolean: 'TTLV_ERR_BAD_BOOLEAN',
  BadUtf8: 'TTLV_ERR_BAD_UTF8',
  Overrun: 'TTLV_ERR_OVERRUN',
  TrailingBytes: 'TTLV_ERR_TRAILING_BYTES',
  TooDeep: 'TTLV_ERR_TOO_DEEP',
  TooLarge: 'TTLV_ERR_TOO_LARGE',
  BadValue: 'TTLV_ERR_BAD_VALUE',
  BadHex: 'TTLV_ERR_BAD_HEX',
} as const;

export type TtlvErrorCodeValue = (typeof TtlvErrorCode)[keyof typeof TtlvErrorCode];

export class TtlvError extends Error {
  override readonly name = 'TtlvError';
  constructor(
    readonly code: TtlvErrorCodeValue,
    message: string,
    /** Byte offset in the input where the problem starts (-1 when encoding). */
    readonly offset: number,
    readonly tag?: number,
  ) {
    super(`${code}: ${message}${offset >= 0 ? ` at byte ${offset}` : ''}`);
  }
}

export function isTtlvError(err: unknown): err is TtlvError {
  return err instanceof TtlvError;
}
