/**
 * Object material at rest: the whole object structure (e.g. a Symmetric Key with its Key Block) as
 * TTLV, wrapped under the root key with the object's Unique Identifier as associated data.
 */
import { decodeTtlv, encodeTtlv, type TtlvItem } from '../../ttlv/index.js';
import type { WrappedMaterial } from '../../store/store.js';
import type { OperationContext } from '../context.js';
import { KmipError } from '../errors.js';
import { ResultReason } from '../generated/enums.js';

export async function sealObject(ctx: OperationContext, uid: string, object: TtlvItem): Promise<WrappedMaterial> {
  const plain = encodeTtlv(object);
  try {
    return await ctx.deps.wrapper.wrap(plain, uid, ctx.signal);
  } finally {
    plain.fill(0);
  }
}

export async function openObject(ctx: OperationContext, uid: string, material: WrappedMaterial): Promise<TtlvItem> {
  const { plaintext, rewrapped } = await ctx.deps.wrapper.unwrap(material, uid, ctx.signal);
  try {
    if (rewrapped) ctx.deps.onRewrapped?.(ctx.principal.tenantId, uid, material, rewrapped);
    return decodeTtlv(plaintext, { maxSize: 1 << 24, maxDepth: 16 });
  } catch (err) {
    throw new KmipError(ResultReason.CryptographicFailure, 'stored object could not be read', { cause: err });
  } finally {
    plaintext.fill(0);
  }
}
