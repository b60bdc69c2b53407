/**
 * npm run fuzz -- --count N [--seed S] [--concurrency C] [--deadline-ms MS] [--out DIR]
 *                 [--index K,K2] [--replay FILE] [--print K] [--in-process] [--help]
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
import { parseArgsMessage } from '../../server/util/parse-args-message.js';
import { startTestServer } from '../support/server.js';
import { childTarget } from './child-target.js';
import { buildCorpus } from './corpus.js';
import { loadFailure } from './failures.js';
import { InputGenerator, type FuzzInput } from './mutators.js';
import { formatProgress, formatReport } from './report.js';
import { runFuzz } from './runner.js';
import { FUZZ_LIMITS, inProcessTarget, type FuzzTarget } from './target.js';

const USAGE = `usage: npm run fuzz -- [options]

Fuzzes the real server's TLS listener (a child process on 127.0.0.1 with a test PKI) while a legitimate
client is served and timed; failing inputs are saved as hex files that --replay sends back.

  --count N            inputs to send (default 10000)
  --seed S             the seed the inputs are built from (default random; printed, to rerun a run)
  --concurrency C      inputs in flight at once (default 8)
  --deadline-ms MS     how long one input may take before it counts as a hang (default 20000)
  --out DIR            where failing inputs go (default $TMPDIR/kmip-fuzz-SEED)
  --index K[,K2…]      rerun only these inputs of --seed
  --replay FILE        send one saved failure back (a .hex file from --out)
  --print K            print input K of --seed, without a server
  --in-process         run the server in this process instead of a child (faster, less isolated)
  --help               this text

exit codes: 0 no failure, 1 a failure or finding (saved under --out), 2 usage error`;

function usageError(message: string): never {
  process.stderr.write(`fuzz: ${message}\nfuzz: run 'npm run fuzz -- --help' for the options\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
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
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    usageError(parseArgsMessage(err));
  }
}

const { values } = parse();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

/** The saved failure to replay, read before any server starts: a wrong path is a usage error, not a stack. */
function replayInput(file: string): FuzzInput {
  let input: FuzzInput;
  try {
    input = loadFailure(file);
  } catch (err) {
    // A file system error carries a syscall; a parse error (bad hex) has a code of its own.
    const code = (err as NodeJS.ErrnoException).syscall ? (err as NodeJS.ErrnoException).code : undefined;
    if (code === 'ENOENT') usageError(`--replay ${file}: no such file (failures are saved under --out, e.g. ${join(tmpdir(), 'kmip-fuzz-SEED')}/fuzz-SEED-INDEX.hex)`);
    if (code === 'EISDIR') usageError(`--replay ${file} is a folder: give one .hex file in it`);
    if (code) usageError(`--replay ${file}: cannot read it (${code})`);
    usageError(`--replay ${file} is not a saved fuzz failure (${(err as Error).message})`);
  }
  if (input.bytes.length === 0) usageError(`--replay ${file} holds no input bytes: is it a saved fuzz failure (fuzz-SEED-INDEX.hex)?`);
  return input;
}

const number = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(n) || n < 0) usageError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
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

const replay = values.replay !== undefined ? replayInput(values.replay) : undefined;
const concurrency = number('concurrency', values.concurrency);
const deadlineMs = number('deadline-ms', values['deadline-ms']);
const indexes = values.index ? values.index.split(',').map((k) => number('index', k)) : undefined;
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
    concurrency,
    deadlineMs,
    failuresDir: out,
    ...(indexes ? { indexes } : {}),
    ...(replay ? { replay } : {}),
    sampleEveryMs: 10_000,
    onProgress: (p) => process.stdout.write(`${formatProgress(p)}\n`),
  });
} finally {
  await target.close();
}
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.failureCount > 0 || report.findings.length > 0 || report.legit.failures > 0 ? 1 : 0);
