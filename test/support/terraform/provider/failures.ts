/**
 * Error injection (FAKE_TF_FAIL): a JSON object or array of objects such as
 * `{"type":"ibm_database","op":"create","times":1,"message":"quota exceeded"}`. A matching
 * operation returns an error diagnostic instead of acting. `times` counts across provider
 * processes through the fake cloud file (without one, within the process); absent means always.
 */
import { CloudStore, updateCloudFile } from './store.js';

export interface FailureSpec {
  readonly provider?: string;
  readonly type?: string;
  readonly op?: string;
  readonly name?: string;
  readonly id?: string;
  readonly times?: number;
  readonly message?: string;
}

export interface FailureEvent {
  readonly provider: string;
  readonly type: string;
  readonly op: string;
  readonly name?: string | undefined;
  readonly id?: string | undefined;
}

export function parseFailureSpecs(text: string | undefined): FailureSpec[] {
  if (!text || text.trim() === '') return [];
  const parsed = JSON.parse(text) as FailureSpec | FailureSpec[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

export class FailureInjector {
  private readonly firedHere = new Map<number, number>();

  constructor(
    private readonly specs: readonly FailureSpec[],
    private readonly store: CloudStore,
  ) {}

  /** The message to fail with, when an injected failure matches and has not run out. */
  take(event: FailureEvent): string | undefined {
    for (const [index, spec] of this.specs.entries()) {
      if (spec.provider !== undefined && spec.provider !== event.provider) continue;
      if (spec.type !== undefined && spec.type !== event.type) continue;
      if (spec.op !== undefined && spec.op !== event.op) continue;
      if (spec.name !== undefined && spec.name !== event.name) continue;
      if (spec.id !== undefined && spec.id !== event.id) continue;
      if (!this.consume(index, spec.times)) continue;
      return spec.message ?? `injected failure: ${event.op} ${event.type}`;
    }
    return undefined;
  }

  private consume(index: number, times: number | undefined): boolean {
    const key = String(index);
    if (this.store.file) {
      return updateCloudFile(this.store.file, (data) => {
        const fired = data.failuresFired[key] ?? 0;
        if (times !== undefined && fired >= times) return false;
        data.failuresFired[key] = fired + 1;
        return true;
      });
    }
    const fired = this.firedHere.get(index) ?? 0;
    if (times !== undefined && fired >= times) return false;
    this.firedHere.set(index, fired + 1);
    return true;
  }
}
