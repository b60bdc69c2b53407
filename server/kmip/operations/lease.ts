import { Operation, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { dateTime, interval, opt, req, struct, text } from '../schema.js';
import { wrongLifecycleState } from '../errors.js';
import { LEASE_SECONDS } from '../managed-object.js';
import { loadObject, resolveUid } from './common.js';
import { defineOperation } from './types.js';

export { LEASE_SECONDS } from '../managed-object.js';

const Request = struct('Obtain Lease Request Payload', { uniqueIdentifier: opt(Tag.UniqueIdentifier, text) });
const Response = struct('Obtain Lease Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  leaseTime: req(Tag.LeaseTime, interval),
  lastChangeDate: req(Tag.LastChangeDate, dateTime),
});

/** A lease on an Active object; clients compare Last Change Date to know whether to fetch again. */
export const obtainLease = defineOperation({
  operation: Operation.ObtainLease,
  name: 'Obtain Lease',
  readOnly: true,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid);
    if (obj.state !== State.Active) throw wrongLifecycleState('leases are granted on Active objects only');
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid, leaseTime: LEASE_SECONDS, lastChangeDate: obj.first('Last Change Date') as number };
  },
});
