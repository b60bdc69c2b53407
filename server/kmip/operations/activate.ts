import { illegalOperation } from '../errors.js';
import { ObjectType, Operation, State } from '../generated/enums.js';
import { loadObject, nowSeconds, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';
import { UidRequest, UidResponse } from './uid-payload.js';

/** Pre-Active → Active (transition 4), stamping Activation Date; any other state is refused. */
export const activate = defineOperation({
  operation: Operation.Activate,
  name: 'Activate',
  request: UidRequest,
  response: UidResponse,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid, true);
    // A Template has no state of its own to change (1.4 §11.20).
    if (obj.objectType === ObjectType.Template) throw illegalOperation('a Template cannot be activated');
    if (obj.state !== State.PreActive) throw illegalOperation('only a Pre-Active object can be activated');
    obj.state = State.Active;
    obj.set('Activation Date', nowSeconds(ctx));
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
