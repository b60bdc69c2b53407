import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseArgsMessage } from '../../../server/util/parse-args-message.js';

/** The message for what node:util parseArgs throws on `args` (real errors, so a Node upgrade that rewords them shows here). */
function messageFor(args: string[], allowPositionals = false): string {
  try {
    parseArgs({ args, allowPositionals, strict: true, options: { renew: { type: 'boolean' }, 'no-pykmip': { type: 'boolean' }, out: { type: 'string', short: 'o' } } });
  } catch (err) {
    return parseArgsMessage(err);
  }
  throw new Error(`parseArgs accepted ${args.join(' ')}`);
}

describe('parseArgsMessage', () => {
  it('names an unknown option, long or short', () => {
    expect(messageFor(['--bogus'])).toBe('unknown option --bogus');
    expect(messageFor(['-q'])).toBe('unknown option -q');
  });

  it('says a string option needs a value, also when the next word is another flag', () => {
    expect(messageFor(['--out'])).toBe('--out needs a value');
    expect(messageFor(['-o'])).toBe('--out needs a value');
    expect(messageFor(['--out', '--renew'])).toBe('--out needs a value');
  });

  it('says a boolean option takes no value (pki --renew=yes, bench --no-pykmip=1)', () => {
    expect(messageFor(['--renew=yes'])).toBe('--renew takes no value');
    expect(messageFor(['--no-pykmip=1'])).toBe('--no-pykmip takes no value');
  });

  it('names an unexpected positional argument', () => {
    expect(messageFor(['stray'])).toBe('unexpected argument: stray (every option starts with --)');
  });

  it('keeps the message of anything that is not a parseArgs error', () => {
    expect(parseArgsMessage(new Error('disk full'))).toBe('disk full');
    expect(parseArgsMessage('plain')).toBe('plain');
  });
});
