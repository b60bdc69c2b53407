/**
 * The fuzzed server in a process of its own (for `npm run fuzz`): the real app on 127.0.0.1 with a
 * test PKI, exactly as startTestServer builds it. It tells the parent over IPC where it listens,
 * answers memory requests (after a full GC) and forwards only the log lines the oracle cares about,
 * so millions of audit lines never cross the pipe. It exits when the parent goes away.
 */
import { memorySample } from '../support/memory.js';
import { noteOutput } from '../support/secrets-ledger.js';
import { startTestServer } from '../support/server.js';
import { WORTH_PARSING } from './log-findings.js';
import { fuzzIdentities, FUZZ_LIMITS } from './target.js';

type Request = { type: 'memory'; id: number } | { type: 'stop' };

const send = (message: unknown) => process.send?.(message);

const overrides = JSON.parse(process.env['FUZZ_SERVER_LIMITS'] ?? '{}') as Record<string, number>;
const server = await startTestServer({ limits: { ...FUZZ_LIMITS, ...overrides } });
const { identities, legit } = await fuzzIdentities(server);

// The test server keeps every line in memory: drain it, or it would be the leak we report.
const drain = setInterval(() => {
  const all = server.logs.splice(0);
  // Every line goes to the suite's secrets scan (a no-op outside the test suite); only some to the parent.
  noteOutput('fuzzed server log', all.join(''));
  const lines = all.filter((l) => WORTH_PARSING.test(l));
  if (lines.length > 0) send({ type: 'logs', lines: lines.slice(0, 200) });
}, 250);

process.on('message', (m: Request) => {
  if (m.type === 'memory') send({ type: 'memory', id: m.id, sample: memorySample() });
  if (m.type === 'stop') {
    clearInterval(drain);
    void server.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', port: server.port, ca: server.pki.ca.certificatePem, identities, legit });
