/**
 * npm run fuzz -- --count N [--seed S] [--concurrency C] [--deadline-ms MS] [--out DIR]
 *                 [--index K,K2] [--replay FILE] [--print K] [--in-process]
 *
 * Starts the real server in a child process (127.0.0.1, test PKI), fuzzes its TLS listener with
 * N inputs built from seed S while a legitimate client is served and timed, and prints the result.
 * Failing inputs are saved as hex under --out; --replay sends one back, --index reruns chosen
 * inputs of a seed, --print shows input K of a seed without a server. Exit code 1 on any failure.
 */
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTtlvHex } from '../../server/ttlv/index.js';
import { startTestServer } from '../support/server.js';
import { childTarget } from './child-target.js';
import { buildCorpus } from './corpus.js';
import { loadFailure } from './failures.js';
import { InputGenerator } from './mutators.js';
import { formatProgress, formatReport } from './report.js';
import { runFuzz } from './runner.js';
import { FUZZ_LIMITS, inProcessTarget, type FuzzTarget } from './target.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    'deadline-ms': { type: 'string', default: '20000' },
    out: { type: 'string' },
    index: { type: 'string' },
    replay: { type: 'string' },
    print: { type: 'string' },
    'in-process': { type: 'boolean', default: false },
  },
  strict: true,
});

const number = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return n;
};

const seed = values.seed !== undefined ? number('seed', values.seed) : randomInt(0, 2 ** 31);
const count = number('count', values.count);

if (values.print !== undefined) {
  // The corpus needs identifiers; placeholders show the shape of the input.
  const placeholder = '00000000-0000-7000-8000-000000000000';
  const corpus = buildCorpus({ symmetricKey: placeholder, secretData: placeholder, opaqueObject: placeholder, privateKey: placeholder, publicKey: placeholder });
  const input = new InputGenerator(corpus, seed, FUZZ_LIMITS).generate(number('print', values.print));
  process.stdout.write(`seed ${seed} input ${input.index}: ${input.principal}, ${input.recipe.join(' ')}, splits ${input.splits.join(',') || 'none'}\n${formatTtlvHex(input.bytes)}\n`);
  process.exit(0);
}

const out = values.out ?? join(tmpdir(), `kmip-fuzz-${seed}`);
process.stdout.write(
  values.replay ? `fuzz: replaying ${values.replay}\n` : `fuzz: seed ${seed} (replay with --seed ${seed}), ${values.index ? `inputs ${values.index}` : `${count} inputs`}, failures go to ${out}\n`,
);

let target: FuzzTarget;
if (values['in-process']) {
  const server = await startTestServer({ limits: { ...FUZZ_LIMITS } });
  target = await inProcessTarget(server, FUZZ_LIMITS);
} else {
  target = await childTarget();
}

let report;
try {
  report = await runFuzz({
    target,
    seed,
    count,
    concurrency: number('concurrency', values.concurrency),
    deadlineMs: number('deadline-ms', values['deadline-ms']),
    failuresDir: out,
    ...(values.index ? { indexes: values.index.split(',').map((k) => number('index', k)) } : {}),
    ...(values.replay ? { replay: loadFailure(values.replay) } : {}),
    sampleEveryMs: 10_000,
    onProgress: (p) => process.stdout.write(`${formatProgress(p)}\n`),
  });
} finally {
  await target.close();
}
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.failureCount > 0 || report.findings.length > 0 || report.legit.failures > 0 ? 1 : 0);
