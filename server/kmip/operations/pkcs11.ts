/**
 * PKCS#11 (KMIP 2.x, 2.1 §6.1.37): a PKCS#11 call carried in KMIP, answered by the module in
 * ../pkcs11/library.ts. What PKCS#11 says of the call is the PKCS#11 Return Code of a successful
 * KMIP item; KMIP errors (§6.1.37.1) are kept for what is not a call of this interface at all:
 * another interface, a value that names no function, an encoding that does not parse.
 */
import { invalidField, KmipError } from '../errors.js';
import { Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { ItemType } from '../../ttlv/index.js';
import { anyEnumeration, bytes, opt, req, struct, text, type ValueCodec } from '../schema.js';
import { tagName } from '../tag-names.js';
import { ckFunctionName, ckrName } from '../pkcs11/functions.js';
import { callLibrary, type LibraryIdentity } from '../pkcs11/library.js';
import type { ServerInfo } from '../context.js';
import { defineOperation } from './types.js';

/** The name of PKCS#11 v3.0's default interface, the one KMIP means when none is named. */
const DEFAULT_INTERFACE = 'PKCS 11';

/** An Enumeration names a PKCS#11 function; an Integer a vendor-defined one (§6.1.37). */
export interface FunctionRef {
  readonly vendor: boolean;
  readonly value: number;
}

const functionRef: ValueCodec<FunctionRef> = {
  itemType: undefined,
  decode(item) {
    if (item.type === ItemType.Enumeration) return { vendor: false, value: item.value };
    if (item.type === ItemType.Integer) return { vendor: true, value: item.value };
    throw invalidField(`${tagName(item.tag)} must be an Enumeration or an Integer`);
  },
  encode: (tag, v) => (v.vendor ? { tag, type: ItemType.Integer, value: v.value } : { tag, type: ItemType.Enumeration, value: v.value }),
};

function invalidFunction(): KmipError {
  return new KmipError(ResultReason.PKCS_11InvalidFunction, 'PKCS#11 Function names no function of the PKCS#11 interface');
}

/** CK_INFO's identity: this server, its version as major.minor (0.0 when the version string has none). */
export function libraryIdentity(server: ServerInfo): LibraryIdentity {
  const m = /^(\d+)\.(\d+)/.exec(server.serverVersion);
  const part = (s: string | undefined) => Math.min(Number(s ?? 0), 255);
  return {
    manufacturer: server.vendorIdentification,
    description: 'PKCS#11 over KMIP, no slots',
    version: { major: part(m?.[1]), minor: part(m?.[2]) },
  };
}

export const pkcs11 = defineOperation({
  operation: Operation.PKCS_11,
  name: 'PKCS#11',
  since: 20,
  request: struct('PKCS#11 Request Payload', {
    pkcs11Interface: opt(Tag.PKCS_11Interface, text),
    pkcs11Function: req(Tag.PKCS_11Function, functionRef),
    correlationValue: opt(Tag.CorrelationValue, bytes),
    pkcs11InputParameters: opt(Tag.PKCS_11InputParameters, bytes),
  }),
  response: struct('PKCS#11 Response Payload', {
    pkcs11Interface: opt(Tag.PKCS_11Interface, text),
    pkcs11Function: req(Tag.PKCS_11Function, functionRef),
    correlationValue: opt(Tag.CorrelationValue, bytes),
    pkcs11OutputParameters: opt(Tag.PKCS_11OutputParameters, bytes),
    pkcs11ReturnCode: req(Tag.PKCS_11ReturnCode, anyEnumeration),
  }),
  async handle(ctx, req) {
    if (req.pkcs11Interface !== undefined && req.pkcs11Interface !== DEFAULT_INTERFACE) {
      throw new KmipError(ResultReason.PKCS_11InvalidInterface, `this server offers only the "${DEFAULT_INTERFACE}" interface`);
    }
    // This module defines no vendor functions.
    const fn = req.pkcs11Function.vendor ? undefined : ckFunctionName(req.pkcs11Function.value);
    if (fn === undefined) throw invalidFunction();
    const outcome = callLibrary(
      { tenantId: ctx.principal.tenantId, now: ctx.deps.now(), fn, correlation: req.correlationValue, input: req.pkcs11InputParameters },
      libraryIdentity(ctx.deps.server),
    );
    ctx.auditNote = `${fn} ${ckrName(outcome.rv)}`;
    return {
      pkcs11Interface: req.pkcs11Interface,
      pkcs11Function: req.pkcs11Function,
      correlationValue: outcome.correlation,
      pkcs11OutputParameters: outcome.output,
      pkcs11ReturnCode: outcome.rv,
    };
  },
});
