/** Shell words for the commands the server and kmipctl suggest, to be pasted into a POSIX shell. */

/** Characters no POSIX shell treats specially inside a word (an `=` matters only in a command's first word). */
const PLAIN = /^[\w@%+=:,./-]+$/;

/**
 * `s` as one shell word: a plain one as it is, anything else in single quotes. `always` quotes a
 * plain word too, for output whose quoting should not depend on the value (a file path).
 */
export function shellWord(s: string, { always = false }: { always?: boolean } = {}): string {
  return !always && PLAIN.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
