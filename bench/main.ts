/**
 * `npm run bench`: benchmark scenarios. Traffic goes only to 127.0.0.1. Results are printed as a
 * table and written as JSON (default bench-results.json, or --out FILE).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCodecBench } from './codec.js';
import { formatRate, table } from './stats.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '6' },
    out: { type: 'string', default: 'bench-results.json' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('usage: npm run bench -- [--scenario codec] [--seconds N] [--out FILE]');
  process.exit(0);
}

const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
  console.error('--seconds must be a number of seconds between 0 and 600');
  process.exit(2);
}
const scenarios = new Set(values.scenario ?? ['codec']);
const report: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

if (scenarios.has('codec')) {
  const results = runCodecBench(seconds);
  report['codec'] = results;
  console.log('\nCodec throughput, one core (median of 3 rounds)\n');
  console.log(
    table(
      ['case', 'bytes', 'msgs/s', 'MB/s'],
      results.map((r) => [r.name, String(r.bytes), formatRate(r.opsPerSecond), r.mbPerSecond.toFixed(1)]),
    ),
  );
}

writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nresults written to ${values.out}`);
