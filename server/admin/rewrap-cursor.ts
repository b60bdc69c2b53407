/**
 * The `after` cursor of POST /v1/rewrap (see server/maintenance/rewrap-all.ts): the Unique Identifier
 * of the last key a stopped run finished. Any string would be accepted by the store's ordering, so a
 * typo would rewrap nothing (or skip keys) and still answer "done": it must look like a cursor.
 */
import type { KeyStore } from '../store/store.js';

export const REWRAP_CURSOR_FORMAT =
  'the cursor a stopped rewrap printed (kmipctl rewrap --after ID): the Unique Identifier of a key, a UUID such as 0190c3e2-7d4a-7b1c-9f0e-2a6b4c8d1e3f';

/** The form this server gives every key it creates (server/util/random-pool.ts uuidV7) and earlier versions gave (UUID v4). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A UUID is a cursor even when its key is gone since (a removed tenant): the order still holds. Any
 * other text is one only when it is the identifier of a key this store holds (one restored from
 * elsewhere may have another form).
 */
export async function isRewrapCursor(store: KeyStore, after: string): Promise<boolean> {
  if (UUID.test(after)) return true;
  if (after.length === 0 || after.length > 200) return false;
  for (const tenant of await store.listTenants()) if (await store.getObject(tenant.id, after)) return true;
  return false;
}
