import { illegalOperation } from '../errors.js';
import { ObjectType, Operation, RevocationReasonCode, State } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { RevocationReasonSchema } from '../model/attribute-values.js';
import { dateTime, opt, req, struct, text } from '../schema.js';
import { loadObject, nowSeconds, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';
import { UidResponse } from './uid-payload.js';

const Request = struct('Revoke Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  revocationReason: req(Tag.RevocationReason, RevocationReasonSchema),
  compromiseOccurrenceDate: opt(Tag.CompromiseOccurrenceDate, dateTime),
});

const COMPROMISE = new Set<number>([RevocationReasonCode.KeyCompromise, RevocationReasonCode.CACompromise]);

/**
 * A compromise moves Pre-Active, Active and Deactivated objects to Compromised and Destroyed ones to
 * Destroyed Compromised (transitions 3, 5, 8, 10); any other reason deactivates an Active object
 * (transition 6) and is refused in every other state.
 */
export const revoke = defineOperation({
  operation: Operation.Revoke,
  name: 'Revoke',
  request: Request,
  response: UidResponse,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid, true);
    // A Template has no state of its own to change (1.4 §11.21).
    if (obj.objectType === ObjectType.Template) throw illegalOperation('a Template cannot be revoked');
    const now = nowSeconds(ctx);
    if (COMPROMISE.has(req.revocationReason.revocationReasonCode)) {
      if (obj.state === State.Compromised || obj.state === State.DestroyedCompromised) throw illegalOperation('object is already compromised');
      obj.state = obj.state === State.Destroyed ? State.DestroyedCompromised : State.Compromised;
      obj.set('Compromise Date', now);
      obj.set('Compromise Occurrence Date', req.compromiseOccurrenceDate ?? now);
    } else {
      if (obj.state !== State.Active) throw illegalOperation('only an Active object can be revoked for this reason');
      obj.state = State.Deactivated;
      obj.set('Deactivation Date', now);
    }
    obj.set('Revocation Reason', req.revocationReason);
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
