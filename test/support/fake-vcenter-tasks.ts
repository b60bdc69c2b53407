/**
 * The fake vCenter's tasks (reference §C.2.3, rekey reference §2.1): a Task's `info` is read through
 * the PropertyCollector, and every read is a poll. Two kinds:
 * - `start(work)`: the work runs at once (a promise); the task still answers "running" for
 *   `slowPolls` reads after it is done (RetrieveKmipServersStatus_Task).
 * - `startDeferred(run)`: the work runs when the task ends, i.e. after `slowPolls` reads answered
 *   "queued" (first read, when there are two or more) then "running" with a growing `progress`. Until
 *   then nothing has changed in the inventory, as on vCenter while a reconfiguration runs. With no
 *   slow polls the work runs at once. `settleAll()` ends every pending task (time passing).
 * A FakeFault thrown by the work makes the task end in `error` with a LocalizedMethodFault.
 */
import { FakeFault } from './fake-vcenter-crypto.js';

export type Ref = { type: string; value: string };

interface Task {
  info: Record<string, unknown>;
  /** Polls still to answer before the task ends (deferred) or after it ended (started). */
  polls: number;
  readonly total: number;
  done: boolean;
  run?: (() => unknown) | undefined;
}

const moref = (type: string, value: string) => ({ _typeName: 'ManagedObjectReference', type, value });

export function faultInfo(err: unknown): Record<string, unknown> {
  const f = err instanceof FakeFault ? err : new FakeFault('SystemError', (err as Error).message, { reason: (err as Error).message });
  return { _typeName: 'LocalizedMethodFault', fault: { _typeName: f.type, ...f.props }, localizedMessage: f.message };
}

export class FakeTasks {
  private readonly tasks = new Map<string, Task>();
  private seq = 0;

  constructor(private readonly slowPolls: () => number) {}

  private create(what: string, entity: { ref: Ref; name: string } | undefined, deferred: boolean): { id: string; task: Task } {
    const id = `task-${++this.seq}`;
    const polls = this.slowPolls();
    const task: Task = {
      info: {
        _typeName: 'TaskInfo',
        key: id,
        task: moref('Task', id),
        descriptionId: what,
        ...(entity ? { entity: moref(entity.ref.type, entity.ref.value), entityName: entity.name } : {}),
        state: deferred && polls > 1 ? 'queued' : 'running',
        cancelled: false,
        cancelable: false,
        queueTime: new Date().toISOString(),
      },
      polls,
      total: polls,
      done: false,
    };
    this.tasks.set(id, task);
    return { id, task };
  }

  /** Starts a task whose work is `work` (already running); returns its reference. */
  start(work: Promise<unknown>, what: string): Ref {
    const { id, task } = this.create(what, undefined, false);
    work.then(
      (result) => this.finish(task, { state: 'success', ...(result !== undefined ? { result } : {}) }),
      (err: unknown) => this.finish(task, { state: 'error', error: faultInfo(err) }),
    );
    return moref('Task', id) as Ref;
  }

  /** A task whose `run` executes when the task ends (see the file comment). */
  startDeferred(what: string, entity: { ref: Ref; name: string } | undefined, run: () => unknown): Ref {
    const { id, task } = this.create(what, entity, true);
    task.run = run;
    if (task.polls <= 0) this.settle(task);
    return moref('Task', id) as Ref;
  }

  /** Ends every deferred task that is still pending, in creation order. */
  settleAll(): void {
    for (const t of this.tasks.values()) if (t.run) this.settle(t);
  }

  /** Deferred tasks not ended yet. */
  get pending(): number {
    return [...this.tasks.values()].filter((t) => t.run !== undefined).length;
  }

  /** Task.info as one poll reads it (and the poll counts). */
  info(id: string): Record<string, unknown> | undefined {
    const t = this.tasks.get(id);
    if (!t) return undefined;
    if (t.run) {
      if (t.polls <= 0) {
        this.settle(t);
        return t.info;
      }
      const n = t.total - t.polls + 1;
      t.polls--;
      if (n === 1 && t.total > 1) return { ...t.info, state: 'queued' };
      return { ...t.info, state: 'running', startTime: t.info['queueTime'], progress: Math.min(99, Math.round((100 * n) / (t.total + 1))) };
    }
    if (t.done && t.polls > 0) {
      t.polls--;
      return { ...t.info, state: 'running' };
    }
    return t.info;
  }

  private settle(t: Task): void {
    const run = t.run!;
    t.run = undefined;
    try {
      const result = run();
      this.finish(t, { state: 'success', ...(result !== undefined ? { result } : {}) });
    } catch (err) {
      this.finish(t, { state: 'error', error: faultInfo(err) });
    }
    t.polls = 0;
  }

  private finish(t: Task, outcome: Record<string, unknown>): void {
    const now = new Date().toISOString();
    const { state: _s, progress: _p, ...rest } = t.info;
    t.info = { ...rest, ...outcome, startTime: t.info['startTime'] ?? t.info['queueTime'], completeTime: now };
    t.done = true;
  }
}
