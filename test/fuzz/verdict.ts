/** Turns what happened on the wire for one input into failures (an empty list: the server behaved). */
import type { RequestLimits } from '../../server/kmip/message-codec.js';
import type { Exchange } from './connection.js';
import type { FuzzInput } from './mutators.js';
import { judgeResponse, type Expectation, type Verdict } from './oracle.js';

export interface InputOutcome {
  readonly problems: string[];
  /** Verdicts of the responses that were well-formed, for statistics. */
  readonly verdicts: Array<Extract<Verdict, { ok: true }>>;
}

export function judgeExchange(input: FuzzInput, expect: Expectation, ex: Exchange, limits: RequestLimits, deadlineMs: number): InputOutcome {
  const problems: string[] = [];
  const verdicts: InputOutcome['verdicts'] = [];
  const want = expect.frames.length;
  if (ex.timedOut) {
    problems.push(`hang: ${ex.responses.length} of ${want} responses and no close within ${deadlineMs} ms (ending: ${expect.ending})`);
  }
  if (ex.unframeable) problems.push('the response stream does not frame as TTLV');
  if (ex.unsolicited > 0) problems.push(`${ex.unsolicited} response(s) arrived that no request asked for`);
  if (ex.responses.length > want) problems.push(`${ex.responses.length} responses to ${want} messages`);
  // An oversized header must close the connection without the server reading on.
  if (expect.ending === 'oversize' && !ex.closed && !ex.timedOut) problems.push('a message above the size limit did not close the connection');
  ex.responses.slice(0, want).forEach((response, n) => {
    const verdict = judgeResponse(expect.frames[n]!, response, input.principal, limits);
    if (verdict.ok) verdicts.push(verdict);
    else problems.push(`garbage response to message ${n}: ${verdict.reason}`);
  });
  return { problems, verdicts };
}
