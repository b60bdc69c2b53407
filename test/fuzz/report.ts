/** The human summary of a fuzzing run. */
import type { Progress, RunReport } from './runner.js';

const top = (record: Record<string, number>, n: number) =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export function formatProgress(p: Progress): string {
  const rate = p.done / (p.elapsedMs / 1000);
  return `  ${p.done} inputs, ${rate.toFixed(0)}/s, ${p.failures} failures, server RSS ${p.rssMb} MB, legit client ${p.legit.requests} requests p99 ${p.legit.p99Ms} ms`;
}

export function formatReport(r: RunReport): string {
  const c = r.counters;
  const lines = [
    `seed ${r.seed}: ${r.inputs} inputs in ${(r.elapsedMs / 1000).toFixed(1)} s (${r.inputsPerSecond.toFixed(0)} inputs/s)`,
    `  frames ${c.frames}, responses ${c.responses}, connections opened ${c.connects}, closed by the server ${c.closes} (after whole messages: ${c.closedOnWholeMessages})`,
    `  inputs by kind: ${top(c.kinds, 12)}`,
    `  batch item results: ${top(c.statuses, 5)}`,
    `  failure reasons answered: ${top(c.reasons, 12)}`,
    `  legit client: ${r.legit.requests} requests, ${r.legit.failures} failed, p50 ${r.legit.p50Ms} ms, p99 ${r.legit.p99Ms} ms, max ${r.legit.maxMs} ms`,
    `  server memory: RSS ${r.memory.before.rssMb} → ${r.memory.after.rssMb} MB (peak ${r.memory.peakRssMb} MB), heap+buffers ${r.memory.before.heapMb} → ${r.memory.after.heapMb} MB`,
    `  server log: ${r.findings.length} kinds of error lines${r.toleratedFindings.length ? `, tolerated: ${r.toleratedFindings.map((f) => `${f.kind} ×${f.count}`).join('; ')}` : ''}`,
    ...r.findings.map((f) => `    ×${f.count} ${f.kind}\n      ${f.example}`),
    ...r.legit.failureExamples.map((e) => `    legit client: ${e}`),
    r.crashed ? `  SERVER CRASHED: ${r.crashed}` : '',
    `  failures: ${r.failureCount}`,
    ...r.failures.slice(0, 20).map((f) => `    #${f.index} ${f.reason.slice(0, 300)}${f.file ? `\n      saved: ${f.file}` : ''}`),
  ];
  return lines.filter((l) => l !== '').join('\n');
}
