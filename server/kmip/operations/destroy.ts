import { illegalOperation, wrongLifecycleState } from '../errors.js';
import { ObjectType, Operation, State } from '../generated/enums.js';
import { loadObject, nowSeconds, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';
import { UidRequest, UidResponse } from './uid-payload.js';

/**
 * Destroys the material and keeps the metadata (Get Attributes still answers). An Active object is
 * refused: it must be revoked first (transitions 2, 7, 9). Its Names stay on it but are released:
 * a new object may take them (the store's rule, server/store/index-rows.ts).
 */
export const destroy = defineOperation({
  operation: Operation.Destroy,
  name: 'Destroy',
  request: UidRequest,
  response: UidResponse,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid, true);
    // A Template has no lifecycle (it cannot be revoked): an Activation Date added to it must not make it indestructible.
    if (obj.state === State.Active && obj.objectType !== ObjectType.Template) throw wrongLifecycleState('an Active object must be revoked before it is destroyed');
    if (obj.isDestroyed) throw illegalOperation('object is already destroyed');
    obj.state = obj.state === State.Compromised ? State.DestroyedCompromised : State.Destroyed;
    obj.material = null;
    obj.set('Destroy Date', nowSeconds(ctx));
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
