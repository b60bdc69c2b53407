/** What every migration step gets, and what it returns. */
import { CryptoManagerKmip } from '../crypto-manager.js';
import { VcenterError } from '../errors.js';
import type { VcenterSession } from '../session.js';
import type { MoRef } from '../transport.js';
import type { Journal } from './journal.js';
import type { PlanItem } from './plan.js';

export interface StepContext {
  readonly session: VcenterSession;
  readonly crypto: CryptoManagerKmip;
  readonly journal: Journal;
  readonly from: string;
  readonly to: string;
  /** Where a template's host lives (its cluster's resource pool), for the VM round trip. */
  poolOf(host: MoRef): MoRef | undefined;
  /** Attempts per object when vCenter refuses a change because the object changed under us. */
  readonly concurrentRetries: number;
  readonly taskTimeoutMs: number;
}

export type Outcome = 'migrated' | 'already' | 'blocked' | 'failed';

export interface ItemResult {
  readonly id: string;
  readonly kind: PlanItem['kind'];
  readonly name: string;
  readonly outcome: Outcome;
  readonly detail?: string;
  /** The new provider's key now in use, where there is one. */
  readonly keyId?: string;
  readonly fault?: string;
}

export function result(item: PlanItem, outcome: Outcome, extra: { detail?: string; keyId?: string; fault?: string } = {}): ItemResult {
  return { id: item.id, kind: item.kind, name: item.name, outcome, ...extra };
}

export function failedResult(item: PlanItem, err: VcenterError): ItemResult {
  return result(item, 'failed', { detail: err.message, ...(err.faultType ? { fault: err.faultType } : {}) });
}

/** Journals an outcome (blocked and failed as `failed`, the rest as `done`) and returns it. */
export function journaled(ctx: StepContext, item: PlanItem, out: ItemResult): ItemResult {
  ctx.journal.record(
    item.id,
    out.outcome === 'failed' || out.outcome === 'blocked'
      ? { event: 'failed', ...(out.fault ? { fault: out.fault } : {}), message: out.detail ?? out.outcome }
      : { event: 'done', ...(out.keyId ? { keyId: out.keyId } : {}), ...(out.detail ? { detail: out.detail } : {}) },
  );
  return out;
}

/** Runs a step; whatever vCenter refuses becomes the object's failed outcome, journaled like any other. */
export async function guarded(ctx: StepContext, item: PlanItem, step: () => Promise<ItemResult>): Promise<ItemResult> {
  try {
    return journaled(ctx, item, await step());
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    return journaled(ctx, item, failedResult(item, err));
  }
}

export function newContext(session: VcenterSession, journal: Journal, from: string, to: string, poolOf: (host: MoRef) => MoRef | undefined, options: { concurrentRetries?: number; taskTimeoutMs?: number } = {}): StepContext {
  return { session, crypto: new CryptoManagerKmip(session), journal, from, to, poolOf, concurrentRetries: options.concurrentRetries ?? 3, taskTimeoutMs: options.taskTimeoutMs ?? 600_000 };
}
