/**
 * Bugs the fuzzer found in code it does not own, reported to that code's owners and still open.
 * An input whose every problem matches one of these is counted and shown, not failed on, so the
 * suite stays green until the fix lands; then the entry goes (and the oracle is strict again).
 * Keep each pattern as narrow as the bug.
 */
export interface KnownIssue {
  readonly id: string;
  /** Where the fix belongs. */
  readonly where: string;
  readonly description: string;
  readonly matches: (problem: string) => boolean;
}

// Empty: the one entry so far (1.0–1.3 clients sent 1.2/1.4 Result Reasons) was fixed in server/kmip/errors.ts.
export const KNOWN_ISSUES: readonly KnownIssue[] = [];

/** The known issue that explains every problem of an input, if one does. */
export function knownIssueOf(problems: readonly string[]): KnownIssue | undefined {
  const issue = KNOWN_ISSUES.find((k) => k.matches(problems[0]!));
  return issue && problems.every((p) => issue.matches(p)) ? issue : undefined;
}
