/**
 * The PKCS#11 module this server is over KMIP: a library with no slots and so no tokens, sessions or
 * objects. It initializes, finalizes, describes itself and lists its (no) slots; every other function
 * is a stub answering CKR_FUNCTION_NOT_SUPPORTED, as a PKCS#11 module may for any function it lacks.
 *
 * One C_Initialize is one library instance, named by the random Correlation Value the response carries
 * (KMIP 2.1 §6.1.37) and valid only for the tenant that made it, on this node. Instances live in
 * memory and are bounded like streamed cryptographic operations: a few per tenant, a ceiling per node,
 * forgotten after an idle spell (the client sees CKR_CRYPTOKI_NOT_INITIALIZED and initializes again).
 */
import { Operation } from '../generated/enums.js';
import { StreamTable } from '../crypto/streams.js';
import { CKR, type CkFunctionName } from './functions.js';
import { codecError, ParamReader, ParamWriter } from './encoding.js';

export const PKCS11_LIMITS = Object.freeze({
  perTenant: 8,
  total: 512,
  idleMs: 15 * 60_000,
  /** No function of this module takes more; real PKCS#11 input (templates, data to sign) would. */
  maxInputBytes: 4096,
});

/** The only encoding version the profile defines: C_Initialize sends it in place of pInitArgs. */
const ENCODING_VERSION = 1;
/** CK_INFO.cryptokiVersion: the interface version the functions behave by. */
const CRYPTOKI_VERSION = { major: 2, minor: 40 } as const;
const CORRELATION_BYTES = 16;

const INSTANCES = new StreamTable(PKCS11_LIMITS);

export interface LibraryIdentity {
  /** CK_INFO.manufacturerID. */
  readonly manufacturer: string;
  /** CK_INFO.libraryDescription. */
  readonly description: string;
  /** CK_INFO.libraryVersion. */
  readonly version: { readonly major: number; readonly minor: number };
}

export interface Pkcs11Call {
  readonly tenantId: string;
  readonly now: number;
  readonly fn: CkFunctionName;
  readonly correlation: Uint8Array | undefined;
  readonly input: Uint8Array | undefined;
}

export interface Pkcs11Outcome {
  readonly rv: number;
  readonly output?: Uint8Array;
  /** A Correlation Value the client must send with its next request. */
  readonly correlation?: Uint8Array;
}

/** Runs one function. A malformed encoding is a PKCS#11 Codec Error (thrown); what PKCS#11 itself says is the CK_RV. */
export function callLibrary(call: Pkcs11Call, identity: LibraryIdentity): Pkcs11Outcome {
  const input = call.input ?? new Uint8Array();
  if (input.length > PKCS11_LIMITS.maxInputBytes) throw codecError(`more than ${PKCS11_LIMITS.maxInputBytes} bytes`);
  switch (call.fn) {
    case 'C_Initialize':
      return initialize(call, input);
    case 'C_Finalize':
      noParameters(input);
      if (!initialized(call)) return { rv: CKR.CRYPTOKI_NOT_INITIALIZED };
      INSTANCES.take(call.tenantId, Operation.PKCS_11, call.correlation!, call.now);
      return { rv: CKR.OK };
    case 'C_GetInfo':
      noParameters(input);
      if (!touch(call)) return { rv: CKR.CRYPTOKI_NOT_INITIALIZED };
      return { rv: CKR.OK, output: ckInfo(identity) };
    case 'C_GetSlotList':
      slotListQuery(input);
      if (!touch(call)) return { rv: CKR.CRYPTOKI_NOT_INITIALIZED };
      // *pulCount, then the list: there are no slots, with or without a token, whatever the buffer.
      return { rv: CKR.OK, output: new ParamWriter().count(0).bytes() };
    default:
      return { rv: CKR.FUNCTION_NOT_SUPPORTED };
  }
}

/**
 * C_Initialize carries the encoding version instead of pInitArgs (threading callbacks mean nothing
 * across a network). A value that still names an instance of this tenant is initialized already.
 */
function initialize(call: Pkcs11Call, input: Uint8Array): Pkcs11Outcome {
  const r = new ParamReader(input);
  const version = r.byte('the encoding version');
  r.end();
  if (version !== ENCODING_VERSION) throw codecError(`encoding version ${version} is not ${ENCODING_VERSION}`);
  if (touch(call)) return { rv: CKR.CRYPTOKI_ALREADY_INITIALIZED, correlation: call.correlation! };
  if (!INSTANCES.hasRoom(call.tenantId, call.now)) return { rv: CKR.HOST_MEMORY };
  return { rv: CKR.OK, correlation: INSTANCES.open(call.tenantId, Operation.PKCS_11, {}, call.now) };
}

function noParameters(input: Uint8Array): void {
  new ParamReader(input).end();
}

/**
 * C_GetSlotList(tokenPresent, pSlotList, pulCount): tokenPresent, then, when the caller passes a
 * buffer, its size in slots (the count that precedes an array); tokenPresent alone asks for the count only.
 */
function slotListQuery(input: Uint8Array): void {
  const r = new ParamReader(input);
  r.bool('tokenPresent');
  if (r.remaining > 0) r.count('the size of pSlotList');
  r.end();
}

function initialized(call: Pkcs11Call): boolean {
  const c = call.correlation;
  return c !== undefined && c.length === CORRELATION_BYTES && INSTANCES.holds(call.tenantId, Operation.PKCS_11, c, call.now);
}

/** Whether the call names a live instance; using one keeps it from expiring. */
function touch(call: Pkcs11Call): boolean {
  if (!initialized(call)) return false;
  INSTANCES.keep(call.tenantId, Operation.PKCS_11, call.correlation!, {}, call.now);
  return true;
}

/** CK_INFO: cryptokiVersion, manufacturerID[32], flags (none are defined), libraryDescription[32], libraryVersion. */
function ckInfo(identity: LibraryIdentity): Uint8Array {
  return new ParamWriter()
    .version(CRYPTOKI_VERSION.major, CRYPTOKI_VERSION.minor)
    .padded(identity.manufacturer, 32)
    .ulong(0n)
    .padded(identity.description, 32)
    .version(identity.version.major, identity.version.minor)
    .bytes();
}
