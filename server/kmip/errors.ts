import { ENUM_TABLE, ResultReason } from './generated/enums.js';

export type ResultReasonCode = (typeof ResultReason)[keyof typeof ResultReason];

/**
 * The protocol layer's one error class. `reason` is what the client sees; `clientMessage` is a fixed,
 * safe text for the Result Message; `cause` (never sent) carries detail for the log.
 */
export class KmipError extends Error {
  override readonly name = 'KmipError';
  readonly code: string;
  /** The reason a 1.x client sees when `reason` is a 2.x one and the generic translation does not fit. */
  readonly legacyReason: ResultReasonCode | undefined;
  constructor(
    readonly reason: ResultReasonCode,
    readonly clientMessage: string,
    options?: { cause?: unknown; legacyReason?: ResultReasonCode },
  ) {
    super(clientMessage, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = `KMIP_ERR_${reasonName(reason)}`;
    this.legacyReason = options?.legacyReason;
  }
}

const REASON_NAMES = new Map<number, string>(Object.entries(ResultReason).map(([name, value]) => [value, name]));

export function reasonName(reason: number): string {
  return REASON_NAMES.get(reason) ?? `0x${reason.toString(16)}`;
}

export const itemNotFound = (what = 'object not found'): KmipError => new KmipError(ResultReason.ItemNotFound, what);
export const invalidField = (msg: string): KmipError => new KmipError(ResultReason.InvalidField, msg);
export const invalidMessage = (msg: string): KmipError => new KmipError(ResultReason.InvalidMessage, msg);
export const missingData = (msg: string): KmipError => new KmipError(ResultReason.MissingData, msg);
export const permissionDenied = (msg = 'permission denied'): KmipError => new KmipError(ResultReason.PermissionDenied, msg);
export const illegalOperation = (msg: string): KmipError => new KmipError(ResultReason.IllegalOperation, msg);
export const operationNotSupported = (msg = 'operation not supported'): KmipError =>
  new KmipError(ResultReason.OperationNotSupported, msg);
export const featureNotSupported = (msg: string): KmipError => new KmipError(ResultReason.FeatureNotSupported, msg);
export const cryptographicFailure = (msg = 'cryptographic failure', cause?: unknown): KmipError =>
  new KmipError(ResultReason.CryptographicFailure, msg, { cause });
/** The object's state forbids the operation: 2.x Wrong Key Lifecycle State; 1.x test cases expect Permission Denied. */
export const wrongLifecycleState = (msg: string): KmipError =>
  new KmipError(ResultReason.WrongKeyLifecycleState, msg, { legacyReason: ResultReason.PermissionDenied });
export const generalFailure = (cause?: unknown): KmipError =>
  new KmipError(ResultReason.GeneralFailure, 'internal server error', { cause });

/** KMIP 2.0 withdrew some 1.x reasons; 1.x clients must never see a reason from 2.x. */
const TO_2X: ReadonlyMap<number, ResultReasonCode> = new Map([
  [ResultReason.ItemNotFound, ResultReason.ObjectNotFound],
  [ResultReason.IllegalOperation, ResultReason.WrongKeyLifecycleState],
  [ResultReason.IndexOutOfBounds, ResultReason.AttributeInstanceNotFound],
]);
const TO_1X: ReadonlyMap<number, ResultReasonCode> = new Map([
  [ResultReason.WrongKeyLifecycleState, ResultReason.IllegalOperation],
  [ResultReason.AttributeInstanceNotFound, ResultReason.IndexOutOfBounds],
  [ResultReason.ObjectNotFound, ResultReason.ItemNotFound],
  [ResultReason.AttributeNotFound, ResultReason.InvalidField],
  [ResultReason.ReadOnlyAttribute, ResultReason.PermissionDenied],
  [ResultReason.AttributeReadOnly, ResultReason.PermissionDenied],
  [ResultReason.AttributeSingleValued, ResultReason.InvalidField],
  [ResultReason.MultiValuedAttribute, ResultReason.InvalidField],
  [ResultReason.UnsupportedAttribute, ResultReason.InvalidField],
  [ResultReason.InvalidAttribute, ResultReason.InvalidField],
  [ResultReason.InvalidAttributeValue, ResultReason.InvalidField],
  [ResultReason.InvalidDataType, ResultReason.InvalidField],
  [ResultReason.UnknownTag, ResultReason.InvalidField],
  [ResultReason.UnknownEnumeration, ResultReason.InvalidField],
  [ResultReason.InvalidObjectType, ResultReason.InvalidField],
  [ResultReason.IllegalObjectType, ResultReason.InvalidField],
  [ResultReason.ObjectDestroyed, ResultReason.ItemNotFound],
  [ResultReason.NotAuthorised, ResultReason.PermissionDenied],
  [ResultReason.UnsupportedProtocolVersion, ResultReason.InvalidMessage],
  [ResultReason.ServerLimitExceeded, ResultReason.GeneralFailure],
  [ResultReason.InternalServerError, ResultReason.GeneralFailure],
  [ResultReason.CodecError, ResultReason.InvalidMessage],
  [ResultReason.NonUniqueNameAttribute, ResultReason.InvalidField],
  [ResultReason.IncompatibleCryptographicUsageMask, ResultReason.InvalidField],
  [ResultReason.UnsupportedCryptographicParameters, ResultReason.InvalidField],
  [ResultReason.BadCryptographicParameters, ResultReason.InvalidField],
]);

/** The Result Reason to send for a protocol version. */
export function errorReasonForVersion(err: KmipError, version: number): ResultReasonCode {
  if (version < 20 && err.legacyReason !== undefined) return err.legacyReason;
  return reasonForVersion(err.reason, version);
}

export function reasonForVersion(reason: ResultReasonCode, version: number): ResultReasonCode {
  if (version >= 20) {
    const mapped = TO_2X.get(reason) ?? reason;
    // 2.1 added a few reasons; a 2.0 client gets the general one.
    return (REASON_SINCE.get(mapped) ?? 0) > version ? ResultReason.GeneralFailure : mapped;
  }
  let mapped = TO_1X.get(reason) ?? reason;
  // 1.1–1.4 added reasons of their own; an older client gets the nearest one its version defines.
  for (let since = REASON_SINCE.get(mapped); since !== undefined && since > version; since = REASON_SINCE.get(mapped)) {
    mapped = OLDER_1X.get(mapped) ?? ResultReason.GeneralFailure;
  }
  // Anything else introduced by 2.x has no 1.x meaning.
  return mapped > ResultReason.ObjectAlreadyExists && mapped !== ResultReason.GeneralFailure ? ResultReason.GeneralFailure : mapped;
}

/** The version (10 = 1.0) that introduced each Result Reason. */
const REASON_SINCE: ReadonlyMap<number, number> = new Map(
  ENUM_TABLE.find((e) => e.name === 'ResultReason')!.values.map((v) => [v.value, v.since]),
);
const OLDER_1X: ReadonlyMap<number, ResultReasonCode> = new Map([
  [ResultReason.EncodingOptionError, ResultReason.FeatureNotSupported],
  [ResultReason.KeyValueNotPresent, ResultReason.MissingData],
  [ResultReason.AttestationRequired, ResultReason.PermissionDenied],
  [ResultReason.AttestationFailed, ResultReason.PermissionDenied],
  [ResultReason.Sensitive, ResultReason.PermissionDenied],
  [ResultReason.NotExtractable, ResultReason.PermissionDenied],
  [ResultReason.ObjectAlreadyExists, ResultReason.InvalidField],
]);
