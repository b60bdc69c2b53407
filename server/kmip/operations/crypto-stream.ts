/** The streamed form shared by the cryptographic operations: Init Indicator, Correlation Value, Final Indicator. */
import type { OperationContext } from '../context.js';
import { invalidField } from '../errors.js';
import { consumeUsage, loadKeyForUse, type KeyUse } from './crypto-key.js';
import { Tag } from '../generated/tags.js';
import { invalidCorrelation, STREAMS } from '../crypto/streams.js';
import { boolean, bytes, opt } from '../schema.js';

/** Request fields of every operation that can be streamed. */
export const streamRequestFields = {
  correlationValue: opt(Tag.CorrelationValue, bytes),
  initIndicator: opt(Tag.InitIndicator, boolean),
  finalIndicator: opt(Tag.FinalIndicator, boolean),
};

export type Phase =
  | { readonly kind: 'once' }
  | { readonly kind: 'init'; readonly final: boolean }
  | { readonly kind: 'continue'; readonly correlation: Uint8Array; readonly final: boolean };

export function phaseOf(req: { correlationValue?: Uint8Array | undefined; initIndicator?: boolean | undefined; finalIndicator?: boolean | undefined }): Phase {
  if (req.correlationValue !== undefined) {
    if (req.initIndicator === true) throw invalidField('Init Indicator starts an operation: it takes no Correlation Value');
    return { kind: 'continue', correlation: req.correlationValue, final: req.finalIndicator === true };
  }
  if (req.initIndicator === true && req.finalIndicator !== true) return { kind: 'init', final: false };
  return { kind: 'once' };
}

/** Whether this request ends the operation (one-shot, or the final part of a stream). */
export const ends = (phase: Phase): boolean => phase.kind === 'once' || (phase.kind === 'continue' && phase.final);

/**
 * Resumes the state of a streamed operation of this tenant (taken out of the table until `park`). A
 * request that names another key than the one the operation started with ends it: Invalid Correlation Value.
 */
export function resume<T>(ctx: OperationContext, operation: number, phase: Phase & { kind: 'continue' }, requestUid?: string): T {
  const state = STREAMS.take(ctx.principal.tenantId, operation, phase.correlation, ctx.deps.now()) as T;
  const uid = (state as { uid?: unknown }).uid;
  if (typeof uid === 'string') {
    ctx.auditObjectId = uid;
    if (requestUid !== undefined && requestUid !== uid) throw invalidCorrelation();
  }
  return state;
}

/**
 * Resumes a streamed operation after checking again that its key may still be used for it: a stream
 * never outlives its key's revocation, destruction, Protect Stop Date or a usage-mask change, and a
 * protect use counts every part's bytes against the key's Usage Limits, not only the first part's.
 * A refused continuation ends the stream (its state was taken out of the table).
 */
export async function resumeChecked<T>(
  ctx: OperationContext,
  operation: number,
  phase: Phase & { kind: 'continue' },
  requestUid: string | undefined,
  use: KeyUse,
  usageBit: number,
  bytes: number,
): Promise<T> {
  const state = resume<T>(ctx, operation, phase, requestUid);
  const uid = (state as { uid?: unknown }).uid;
  if (typeof uid !== 'string') throw new Error('a streamed operation kept no key identifier');
  const k = await loadKeyForUse(ctx, uid, use, usageBit, undefined);
  if (use === 'protect') await consumeUsage(ctx, k, bytes);
  return state;
}

/** Keeps the state of an unfinished operation and returns the Correlation Value for the next part. */
export function park(ctx: OperationContext, operation: number, phase: Phase, state: unknown): Uint8Array {
  const now = ctx.deps.now();
  if (phase.kind === 'continue') {
    STREAMS.keep(ctx.principal.tenantId, operation, phase.correlation, state, now);
    return phase.correlation;
  }
  return STREAMS.open(ctx.principal.tenantId, operation, state, now);
}
