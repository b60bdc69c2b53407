/**
 * One error class for everything that talks to vCenter. `code` is stable (the CLI maps it to an
 * exit code); `faultType` is the vim25 fault name when vCenter answered with a fault.
 */
export type VcenterErrorCode =
  | 'VC_ERR_INPUT' // bad flags or files on our side: nothing was sent
  | 'VC_ERR_CONNECT' // no connection, or no answer in time
  | 'VC_ERR_TLS' // the vCenter certificate did not verify
  | 'VC_ERR_HTTP' // an HTTP status the protocol does not explain
  | 'VC_ERR_PROTOCOL' // an answer we cannot read (not JSON/XML, wrong shape, too large)
  | 'VC_ERR_FAULT' // vCenter answered with a vim25 fault
  | 'VC_ERR_AUTH' // login refused
  | 'VC_ERR_UNSUPPORTED' // this vCenter lacks what we need
  | 'VC_ERR_REFUSED' // we refuse to act (a name clash, something in use): exit 3
  | 'VC_ERR_VERIFY'; // a check after or before a change failed (trust, MITM guard)

export class VcenterError extends Error {
  override readonly name = 'VcenterError';
  constructor(
    readonly code: VcenterErrorCode,
    message: string,
    readonly faultType?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A vim25 fault, e.g. NotAuthenticated, NoPermission, InvalidArgument. */
export function isFault(err: unknown, type?: string): err is VcenterError {
  return err instanceof VcenterError && err.code === 'VC_ERR_FAULT' && (type === undefined || err.faultType === type);
}
