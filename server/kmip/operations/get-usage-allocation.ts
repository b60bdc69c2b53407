import { invalidField, KmipError, wrongLifecycleState } from '../errors.js';
import { Operation, ResultReason, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { longInteger, opt, req, struct, text } from '../schema.js';
import { loadObject, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';

const Request = struct('Get Usage Allocation Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  usageLimitsCount: req(Tag.UsageLimitsCount, longInteger),
});
const Response = struct('Get Usage Allocation Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });

interface UsageLimits {
  readonly usageLimitsTotal: bigint;
  readonly usageLimitsCount?: bigint | undefined;
  readonly usageLimitsUnit: number;
}

/** Takes an allocation out of an object's Usage Limits; refused (nothing taken) when too little is left. */
export const getUsageAllocation = defineOperation({
  operation: Operation.GetUsageAllocation,
  name: 'Get Usage Allocation',
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    if (req.usageLimitsCount <= 0n) throw invalidField('Usage Limits Count must be positive');
    const obj = await loadObject(ctx, uid, true);
    if (obj.state !== State.Active) throw wrongLifecycleState('usage is allocated on Active objects only');
    const limits = obj.first('Usage Limits') as UsageLimits | undefined;
    if (!limits) throw new KmipError(ResultReason.PermissionDenied, 'the object has no Usage Limits to allocate from');
    const left = limits.usageLimitsCount ?? limits.usageLimitsTotal;
    if (left < req.usageLimitsCount) throw new KmipError(ResultReason.PermissionDenied, 'not enough usage left');
    obj.set('Usage Limits', { ...limits, usageLimitsCount: left - req.usageLimitsCount });
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
