/**
 * `npm run bench`: our server against Debian's PyKMIP server, side by side in the same run, Node's
 * TLS server alone as the ceiling of the handshake scenarios, plus the codec micro-benchmark. Every
 * load scenario runs `--runs` times (median reported). Traffic goes only to 127.0.0.1. Results: a
 * table on stdout, a JSON file, optionally an SVG chart.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { parseArgsMessage } from '../server/util/parse-args-message.js';
import { runCodecBench } from './codec.js';
import { runLoad, type LoadStats } from './load/run.js';
import type { ScenarioSpec } from './load/scenarios.js';
import { encryptionKey, getEach, populate } from './populate.js';
import { renderSvg, renderTable, type ScenarioReport } from './report.js';
import { freePort } from '../test/support/free-port.js';
import { startOursWithKeyProtect } from './keyprotect-target.js';
import { startBareTls, startOurs, startPyKmip, type ServerUnderTest } from './servers.js';
import { formatRate, median, table } from './stats.js';

const BARE_TLS_LABEL = 'reference: Node TLS alone';
const SQLITE_FLOOR_LABEL = 'reference: TLS + durable insert (SQLite)';
const POSTGRES_FLOOR_LABEL = 'reference: TLS + durable insert (PostgreSQL)';
const isReference = (server: string) => server.startsWith('reference:');
// Locate (100,000 objects) runs before the connection storms, so its memory is its own: glibc keeps
// what thousands of short TLS connections allocated, in our server and in Node's TLS alone alike.
const LOAD_SCENARIOS = ['create', 'get', 'mix', 'encrypt', 'locate', 'handshake', 'handshake-resumed'] as const;
type LoadScenario = (typeof LOAD_SCENARIOS)[number];

const USAGE = `usage: npm run bench -- [options]
  --scenario NAME      codec, ${LOAD_SCENARIOS.join(', ')} (repeatable; default all)
  --seconds N          seconds per run of a load scenario (default 5)
  --runs N             runs per scenario; the median is reported (default 3)
  --connections N      concurrent client connections (default 32)
  --workers N          load generator threads (default 2)
  --locate-objects N   objects stored before the locate scenario (default 100000)
  --database-url URL   also measure the PostgreSQL store, one node and three nodes (each
                       in a scratch database created next to URL's and dropped after)
  --keyprotect-latency-ms N   latency of the local Key Protect fake (default 50)
  --keyprotect-connections N  connections for the Key Protect scenarios (default 64)
  --no-keyprotect      skip our server with a Key Protect root key
  --no-pykmip          skip the PyKMIP server
  --no-reference       skip the references: Node's TLS server alone echoing each message (no
                       KMIP behind it), and for Create the same plus one durable insert per
                       message (SQLite; PostgreSQL too with --database-url)
  --python PATH        Python with python3-pykmip (default /usr/bin/python3)
  --out FILE           JSON results (default bench-results.json)
  --chart FILE         also write an SVG chart (e.g. docs/bench.svg)`;

function parseOrExit() {
  try {
    return parse();
  } catch (err) {
    console.error(`bench: ${parseArgsMessage(err)} (npm run bench -- --help)`);
    process.exit(2);
  }
}

const parse = () => parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    workers: { type: 'string', default: '2' },
    'locate-objects': { type: 'string', default: '100000' },
    'database-url': { type: 'string' },
    'keyprotect-latency-ms': { type: 'string', default: '50' },
    'keyprotect-connections': { type: 'string', default: '64' },
    'no-keyprotect': { type: 'boolean', default: false },
    'no-pykmip': { type: 'boolean', default: false },
    'no-reference': { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string', default: 'bench-results.json' },
    chart: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
const { values } = parseOrExit();

function bounded(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seconds = bounded('seconds', values.seconds, 1, 600);
const runs = bounded('runs', values.runs, 1, 20);
const connections = bounded('connections', values.connections, 1, 1024);
const workers = bounded('workers', values.workers, 1, 16);
const keyProtectLatencyMs = bounded('keyprotect-latency-ms', values['keyprotect-latency-ms'], 0, 1000);
const keyProtectConnections = bounded('keyprotect-connections', values['keyprotect-connections'], 1, 1024);
const locateObjects = bounded('locate-objects', values['locate-objects'], 100, 2_000_000);
const wanted = new Set(values.scenario ?? ['codec', ...LOAD_SCENARIOS]);
for (const s of wanted) {
  if (s !== 'codec' && !(LOAD_SCENARIOS as readonly string[]).includes(s)) {
    console.error(`unknown scenario ${s}\n${USAGE}`);
    process.exit(2);
  }
}

function pykmipAvailable(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import kmip'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Target {
  readonly label: string;
  readonly isPyKmip: boolean;
  start(): Promise<ServerUnderTest>;
  /** Only these scenarios (default: all wanted). */
  readonly scenarios?: readonly LoadScenario[];
  readonly connections?: number;
  readonly note?: string;
  /** A reference server that echoes each message: no KMIP answers to read, no objects to populate. */
  readonly echo?: boolean;
}

const targets: Target[] = [{ label: 'ours (SQLite)', isPyKmip: false, start: () => startOurs({ nodes: 1, label: 'ours (SQLite)' }) }];
const notes: string[] = [];
if (!values['no-pykmip']) {
  if (pykmipAvailable(values.python)) targets.push({ label: 'PyKMIP', isPyKmip: true, start: async () => startPyKmip(values.python, await freePort()) });
  else notes.push(`PyKMIP is not importable by ${values.python}: no ratios (apt-get install python3-pykmip)`);
}
if (!values['no-reference']) {
  targets.push({ label: BARE_TLS_LABEL, isPyKmip: false, echo: true, start: () => startBareTls(BARE_TLS_LABEL), note: 'echo: no KMIP, store or log' });
  targets.push({ label: SQLITE_FLOOR_LABEL, isPyKmip: false, echo: true, start: () => startBareTls(SQLITE_FLOOR_LABEL, { sqlite: true }), scenarios: ['create'], note: 'echo after an insert + fdatasync' });
}
const databaseUrl = values['database-url'];
if (databaseUrl && !values['no-reference']) {
  targets.push({ label: POSTGRES_FLOOR_LABEL, isPyKmip: false, echo: true, start: () => startBareTls(POSTGRES_FLOOR_LABEL, { postgresUrl: databaseUrl }), scenarios: ['create'], note: 'echo after an autocommitted insert' });
}
if (databaseUrl) {
  targets.push({ label: 'ours (PostgreSQL, 1 node)', isPyKmip: false, start: () => startOurs({ nodes: 1, databaseUrl, label: 'ours (PostgreSQL, 1 node)' }) });
  targets.push({ label: 'ours (PostgreSQL, 3 nodes)', isPyKmip: false, start: () => startOurs({ nodes: 3, databaseUrl, label: 'ours (PostgreSQL, 3 nodes)' }) });
}

if (!values['no-keyprotect']) {
  const label = `ours (Key Protect, ${keyProtectLatencyMs} ms)`;
  targets.push({
    label,
    isPyKmip: false,
    start: () => startOursWithKeyProtect({ latencyMs: keyProtectLatencyMs, label }),
    // The root key matters where keys are wrapped (Create) and unwrapped (Get, vCenter's mix).
    scenarios: ['create', 'get', 'mix'],
    connections: keyProtectConnections,
    note: `${keyProtectConnections} connections, ${keyProtectLatencyMs} ms per Key Protect call`,
  });
}

function spec(scenario: LoadScenario, getUids: string[], names: string[], encryptUid: string): ScenarioSpec {
  switch (scenario) {
    case 'create':
      return { kind: 'create' };
    case 'get':
      return { kind: 'get', uids: getUids };
    case 'mix':
      return { kind: 'mix' };
    case 'encrypt':
      return { kind: 'encrypt', uid: encryptUid };
    case 'handshake':
      return { kind: 'handshake', resume: false, maxVersion: 'TLSv1.2' };
    case 'handshake-resumed':
      return { kind: 'handshake', resume: true, maxVersion: 'TLSv1.2' };
    case 'locate':
      return { kind: 'locate', names };
  }
}

/**
 * What a row's server CPU per operation is read against: for a Create of ours, TLS plus one durable
 * insert in the same store; for everything else, Node's TLS echoing the same bytes.
 */
function referenceFor(row: ScenarioReport): string | undefined {
  if (row.server === 'PyKMIP' || isReference(row.server)) return undefined;
  if (row.scenario !== 'create') return BARE_TLS_LABEL;
  return row.server.includes('PostgreSQL') ? POSTGRES_FLOOR_LABEL : SQLITE_FLOOR_LABEL;
}

function scenariosOf(target: Target): LoadScenario[] {
  return LOAD_SCENARIOS.filter((s) => wanted.has(s) && !(target.isPyKmip && s === 'locate') && (target.scenarios?.includes(s) ?? true));
}

async function measureTarget(target: Target, scenarios: readonly LoadScenario[]): Promise<ScenarioReport[]> {
  const rows: ScenarioReport[] = [];
  const server = await target.start();
  try {
    // An echo gets requests of the same size as the others: identifiers as long as ours.
    const getUids = !scenarios.includes('get') ? [] : target.echo ? Array.from({ length: 1000 }, () => randomUUID()) : await populate(server, 1000, 'bench-get', { batch: target.isPyKmip ? 1 : 50, connections: 4 });
    if (getUids.length && !target.echo) await getEach(server, getUids);
    const encryptUid = !scenarios.includes('encrypt') ? '' : target.echo ? randomUUID() : await encryptionKey(server);
    for (const scenario of scenarios) {
      let names: string[] = [];
      let note: string | undefined = target.note;
      if (scenario === 'locate') {
        const started = performance.now();
        // The echo stores nothing: it gets the same Locate requests, naming objects it does not have.
        if (!target.echo) {
          await populate(server, locateObjects, 'bench-locate', { batch: 64, connections: 8 });
          note = `${locateObjects.toLocaleString('en-US')} objects stored in ${((performance.now() - started) / 1000).toFixed(1)} s`;
        }
        names = Array.from({ length: 2000 }, () => `bench-locate-${Math.floor(Math.random() * locateObjects)}`);
      }
      const results: LoadStats[] = [];
      let scenarioRss = 0;
      for (let run = 0; run < runs; run++) {
        // Sampled while the load runs (the workers do the work; this thread is free to look).
        const sampler = setInterval(() => (scenarioRss = Math.max(scenarioRss, server.rssBytes())), 250);
        let stats: LoadStats;
        try {
          stats = await runLoad(server, { scenario: spec(scenario, getUids, names, encryptUid), connections: target.connections ?? connections, workers, seconds, ...(target.echo ? { echo: true } : {}) });
        } finally {
          clearInterval(sampler);
        }
        scenarioRss = Math.max(scenarioRss, server.rssBytes());
        results.push(stats);
        process.stderr.write(`  ${server.name} ${scenario} run ${run + 1}: ${formatRate(stats.opsPerSecond)} ops/s, p99 ${stats.p99Ms.toFixed(2)} ms\n`);
      }
      if (scenario === 'handshake-resumed') {
        const resumed = results.reduce((s, r) => s + r.resumed, 0) / Math.max(1, results.reduce((s, r) => s + r.ops, 0));
        note = `${(resumed * 100).toFixed(0)}% of handshakes resumed`;
      }
      rows.push({
        server: server.name,
        scenario,
        runs,
        opsPerSecond: median(results.map((r) => r.opsPerSecond)),
        p50Ms: median(results.map((r) => r.p50Ms)),
        p99Ms: median(results.map((r) => r.p99Ms)),
        serverCpuMsPerOp: median(results.map((r) => r.serverCpuMsPerOp)),
        clientCpuMsPerOp: median(results.map((r) => r.clientCpuMsPerOp)),
        failedResults: results.reduce((s, r) => s + r.failedResults, 0),
        errors: results.reduce((s, r) => s + r.errors, 0),
        peakRssBytes: scenarioRss,
        ...(note ? { note } : {}),
      });
    }
  } finally {
    await server.stop();
  }
  return rows;
}

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  settings: { seconds, runs, connections, workers, locateObjects },
  notes,
};

if (wanted.has('codec')) {
  const results = runCodecBench(seconds);
  report['codec'] = results;
  console.log('\nCodec throughput, one core (median of 3 rounds)\n');
  console.log(table(['case', 'bytes', 'msgs/s', 'MB/s'], results.map((r) => [r.name, String(r.bytes), formatRate(r.opsPerSecond), r.mbPerSecond.toFixed(1)])));
}

if (LOAD_SCENARIOS.some((s) => wanted.has(s))) {
  const rows: ScenarioReport[] = [];
  for (const target of targets) {
    const scenarios = scenariosOf(target);
    if (scenarios.length === 0) continue;
    process.stderr.write(`\n${target.label}\n`);
    try {
      rows.push(...(await measureTarget(target, scenarios)));
    } catch (err) {
      // A server that did not start (or broke) says which one and what to check, not a stack trace.
      console.error(`bench: ${target.label}: ${(err as Error).message}`);
      process.exit(1);
    }
  }
  const memory: Record<string, number> = {};
  for (const r of rows) memory[r.server] = Math.max(memory[r.server] ?? 0, r.peakRssBytes);
  const pykmip = new Map(rows.filter((r) => r.server === 'PyKMIP').map((r) => [r.scenario, r.opsPerSecond]));
  for (const r of rows) {
    const base = pykmip.get(r.scenario);
    if (r.server !== 'PyKMIP' && !isReference(r.server) && base) r.ratioToPyKmip = r.opsPerSecond / base;
    const reference = rows.find((x) => x.server === referenceFor(r) && x.scenario === r.scenario);
    if (reference && reference.serverCpuMsPerOp > 0) r.cpuToReference = r.serverCpuMsPerOp / reference.serverCpuMsPerOp;
  }
  report['load'] = rows;
  report['peakRssBytes'] = memory;
  console.log(`\nLoad: ${connections} connections, ${seconds} s per run, median of ${runs} runs; server CPU per operation from /proc\n`);
  console.log(renderTable(rows));
  console.log(`\npeak server RSS: ${Object.entries(memory).map(([k, v]) => `${k} ${(v / 1e6).toFixed(0)} MB`).join(', ')}`);
  for (const n of notes) console.log(`note: ${n}`);
  if (values.chart) {
    writeFileSync(values.chart, renderSvg(rows, `KMIP server throughput (${connections} connections, median of ${runs} runs)`));
    console.log(`chart written to ${values.chart}`);
  }
}

writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nresults written to ${values.out}`);
