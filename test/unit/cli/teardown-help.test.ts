/** `npm run teardown -- --help`: the help on stdout and nothing else, with or without --json. */
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../../scripts/teardown/args.js';
import { runTeardown } from '../../../scripts/teardown/run.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTeardown(argv, {}, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, out, err };
}

describe('teardown --help', () => {
  it.each([[['--help']], [['--help', '--json']], [['--json', '--help']]])('%j prints the help to stdout, exit 0, no JSON', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([USAGE]);
    expect(r.err).toEqual([]);
  });
});
