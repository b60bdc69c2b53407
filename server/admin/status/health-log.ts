/**
 * The last error each dependency (the database, the root-key provider) gave on this node and when,
 * for the status page: readiness only says how things are now, and the operator on call also needs
 * what went wrong an hour ago. Messages are error summaries (never key material or credentials).
 */
export type Dependency = 'store' | 'rootKey';

export interface LastError {
  readonly at: number;
  readonly message: string;
  /** How many errors this node has seen from the dependency since it started. */
  readonly count: number;
}

export class HealthLog {
  private readonly last = new Map<Dependency, LastError>();

  constructor(private readonly now: () => number = Date.now) {}

  note(dependency: Dependency, message: string): void {
    const count = (this.last.get(dependency)?.count ?? 0) + 1;
    this.last.set(dependency, { at: this.now(), message: message.slice(0, 500), count });
  }

  lastError(dependency: Dependency): LastError | undefined {
    return this.last.get(dependency);
  }
}
