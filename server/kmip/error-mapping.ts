/**
 * Turns any error raised while serving a batch item into the KmipError the client sees. Store and
 * wrap errors are recognised by their stable codes (this layer does not import their classes);
 * anything unrecognised becomes General Failure with a fixed message, its cause kept for the log.
 */
import { generalFailure, KmipError } from './errors.js';
import { ResultReason } from './generated/enums.js';

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function isConflict(err: unknown): boolean {
  return codeOf(err) === 'STORE_ERR_CONFLICT';
}

export function toKmipError(err: unknown): KmipError {
  if (err instanceof KmipError) return err;
  const code = codeOf(err);
  if (code === 'STORE_ERR_DUPLICATE') {
    return new KmipError(ResultReason.NonUniqueNameAttribute, 'an object with this Name already exists', {
      cause: err,
      legacyReason: ResultReason.InvalidField,
    });
  }
  // Nobody reads this answer (the connection is closing); the reason says why the work stopped.
  if (code === 'STORE_ERR_CANCELLED') return new KmipError(ResultReason.ServerLimitExceeded, 'request exceeded the time limit', { cause: err });
  if (code === 'STORE_ERR_CONFLICT') return new KmipError(ResultReason.GeneralFailure, 'the object changed concurrently; retry', { cause: err });
  if (code.startsWith('STORE_ERR_')) return new KmipError(ResultReason.GeneralFailure, 'key storage is unavailable', { cause: err });
  if (code === 'WRAP_ERR_AUTH') return new KmipError(ResultReason.CryptographicFailure, 'root key provider refused access', { cause: err });
  if (code.startsWith('WRAP_ERR_')) return new KmipError(ResultReason.CryptographicFailure, 'root key is not usable', { cause: err });
  if (codeOf(err).startsWith('TTLV_ERR_')) return new KmipError(ResultReason.InvalidMessage, 'message could not be encoded', { cause: err });
  return generalFailure(err);
}
