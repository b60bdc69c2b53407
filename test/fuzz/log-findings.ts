/**
 * Reads the server's log lines for what a client must never cause: a request handler that threw
 * (the connection is then closed without an answer), a request that hit the request timeout, an
 * internal error answered as General Failure, or any other error-level line. Lines are counted by
 * kind and dropped, so a run of millions of inputs keeps only a bounded summary.
 */
export interface ServerFinding {
  readonly kind: string;
  count: number;
  /** The first line of this kind, shortened. */
  readonly example: string;
}

const MAX_KINDS = 50;

/** A cheap test that lets through every line classify() could care about (most lines are audit lines at info). */
export const WORTH_PARSING = /"level":"(error|fatal)"|request timed out|handler failed/;

/**
 * Reported, not failed on: a Cryptographic Failure is an answer a client can earn (e.g. wrapping with
 * an unsuitable key), and a request timeout is the bound on work a client can ask for (64 Locates
 * over the tens of thousands of objects a million inputs create take longer than the fuzzed
 * server's 10 s): the server closes that connection, which the oracle accepts. A real hang still
 * fails the run through the runner's own deadline and the legitimate client.
 */
const TOLERATED = /"reason":"CryptographicFailure"|request timed out|"reason":"ServerLimitExceeded"/;

export class LogWatch {
  private readonly kinds = new Map<string, ServerFinding>();
  private readonly tolerated = new Map<string, ServerFinding>();

  /** Feeds raw log lines (JSON, one per entry). */
  feed(lines: Iterable<string>): void {
    for (const line of lines) {
      if (!WORTH_PARSING.test(line)) continue;
      const kind = classify(line);
      if (!kind) continue;
      const into = TOLERATED.test(line) ? this.tolerated : this.kinds;
      const known = into.get(kind);
      if (known) known.count++;
      else if (into.size < MAX_KINDS) into.set(kind, { kind, count: 1, example: line.slice(0, 600) });
    }
  }

  /** What must not happen. */
  findings(): ServerFinding[] {
    return [...this.kinds.values()];
  }

  /** Error lines a hostile client may legitimately cause, for the report. */
  toleratedFindings(): ServerFinding[] {
    return [...this.tolerated.values()];
  }
}

function classify(line: string): string | undefined {
  let entry: { level?: string; msg?: string; reason?: string; op?: string; error?: { type?: string; message?: string } };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return `unparsable log line`;
  }
  const bad = entry.level === 'error' || entry.level === 'fatal' || /request timed out|handler failed/.test(entry.msg ?? '');
  if (!bad) return undefined;
  return [entry.level, entry.msg, entry.op, entry.reason, entry.error?.type, entry.error?.message?.slice(0, 120)].filter(Boolean).join(' | ');
}
