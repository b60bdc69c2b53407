/**
 * node:util parseArgs' errors in our commands' words. Its own messages suggest quoting with '--' and
 * read "argument missing" for a flag given no value; kmipctl, the scripts, bench and the fuzzer all
 * print these instead, each behind its own prefix and exit code.
 */

/** One line for a parseArgs error; anything else (or a code it does not know) keeps its own message. */
export function parseArgsMessage(err: unknown): string {
  const e = err as (Error & { code?: unknown }) | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // "Option '-o, --out <value>' …" names the short form first: the long one is what usage texts show.
  const option = /'(?:-[^-' ,], )?(-{1,2}[^' ,]+)/.exec(message)?.[1];
  switch (e?.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return option ? `unknown option ${option}` : message;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (!option) return message;
      // Besides "argument missing", a string flag followed by another flag is "ambiguous": both mean it got no value.
      return /does not take an argument/.test(message) ? `${option} takes no value` : `${option} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(message)?.[1];
      return arg === undefined ? message : `unexpected argument: ${arg} (every option starts with --)`;
    }
    default:
      return message;
  }
}
