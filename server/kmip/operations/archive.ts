import { Operation } from '../generated/enums.js';
import { isArchived, loadObject, loadStoredObject, nowSeconds, resolveUid, saveObject } from './common.js';
import { defineOperation } from './types.js';
import { UidRequest, UidResponse } from './uid-payload.js';

/**
 * Archive (1.4 §4.22, 2.1 §6.1.4): the object goes off-line at once; this server has no slower tier
 * to move it to, so off-line means every operation but Recover is refused with Object Archived
 * (loadObject). The object keeps its state, material and Names, so Recover gives back exactly what
 * was archived. An object already archived is refused with Object Archived (1.4 §11.23, 2.1
 * §6.1.4.1), which loadObject says. No state is excluded: the error tables list none and Archive
 * Date applies to all objects, so a Destroyed object's remaining metadata may be archived too.
 * The session reads only the caller's tenant, so another tenant's object is Item Not Found.
 */
export const archive = defineOperation({
  operation: Operation.Archive,
  name: 'Archive',
  request: UidRequest,
  response: UidResponse,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadObject(ctx, uid, true);
    obj.set('Archive Date', nowSeconds(ctx));
    saveObject(ctx, obj);
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});

/**
 * Recover (1.4 §4.23, 2.1 §6.1.42): deletes Archive Date (1.4 §3.32, 2.1 §4.5), which puts the
 * object back on-line. Recovering an on-line object asks for what already holds: the error tables
 * (1.4 §11.24, 2.1 §6.1.42.1) have no reason for it, so it succeeds and changes nothing. The
 * Unique Identifier becomes the ID Placeholder (the 1.4 §4 introduction names Recover among those that set it).
 */
export const recover = defineOperation({
  operation: Operation.Recover,
  name: 'Recover',
  request: UidRequest,
  response: UidResponse,
  async handle(ctx, req) {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    const obj = await loadStoredObject(ctx, uid, true);
    if (isArchived(obj)) {
      obj.delete('Archive Date', 0);
      saveObject(ctx, obj);
    }
    ctx.batch.idPlaceholder = uid;
    return { uniqueIdentifier: uid };
  },
});
