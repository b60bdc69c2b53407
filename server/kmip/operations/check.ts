import { KmipError, type ResultReasonCode } from '../errors.js';
import { Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { UsageMaskCodec } from '../model/attribute-values.js';
import { interval, longInteger, opt, req, struct, text } from '../schema.js';
import { LEASE_SECONDS } from './lease.js';
import { loadObject, resolveUid } from './common.js';
import { defineOperation } from './types.js';

const Request = struct('Check Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  usageLimitsCount: opt(Tag.UsageLimitsCount, longInteger),
  cryptographicUsageMask: opt(Tag.CryptographicUsageMask, UsageMaskCodec),
  leaseTime: opt(Tag.LeaseTime, interval),
});
const Response = struct('Check Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

const checkFailed = (reason: ResultReasonCode, what: string) => new KmipError(reason, what, { legacyReason: ResultReason.PermissionDenied });

/** Would the object allow this use? Fails (changing nothing) when it would not. */
export const check = defineOperation({
  operation: Operation.Check,
  name: 'Check',
  readOnly: true,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid);
    if (req.cryptographicUsageMask !== undefined) {
      const mask = (obj.first('Cryptographic Usage Mask') as number | undefined) ?? 0;
      if ((mask & req.cryptographicUsageMask) !== req.cryptographicUsageMask) {
        throw checkFailed(ResultReason.IncompatibleCryptographicUsageMask, 'the object does not allow this usage');
      }
    }
    if (req.usageLimitsCount !== undefined) {
      const limits = obj.first('Usage Limits') as { usageLimitsCount?: bigint } | undefined;
      if (limits?.usageLimitsCount !== undefined && limits.usageLimitsCount < req.usageLimitsCount) {
        throw checkFailed(ResultReason.PermissionDenied, 'the usage limit would be exceeded');
      }
    }
    if (req.leaseTime !== undefined && req.leaseTime > LEASE_SECONDS) throw checkFailed(ResultReason.PermissionDenied, 'a lease that long would not be granted');
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
