/** The benchmark report: a table on stdout, the JSON result file, and an SVG chart. */
import { table } from './stats.js';

export interface ScenarioReport {
  readonly server: string;
  readonly scenario: string;
  readonly runs: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuMsPerOp: number;
  /** The load generator's CPU per operation: on a machine it shares with the server, its limit too. */
  readonly clientCpuMsPerOp: number;
  readonly failedResults: number;
  readonly errors: number;
  /** Largest resident memory of the server seen while this scenario ran (processes summed). */
  readonly peakRssBytes: number;
  readonly note?: string;
  /** Our ops/s divided by PyKMIP's for the same scenario in the same run. */
  ratioToPyKmip?: number;
  /**
   * Our server CPU per operation divided by its reference's in the same run: Node's TLS echoing the
   * same bytes, or for Create that plus one durable insert in the same store.
   */
  cpuToReference?: number;
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export function renderTable(rows: readonly ScenarioReport[]): string {
  return table(
    ['server', 'scenario', 'ops/s', 'p50 ms', 'p99 ms', 'CPU ms/op', 'client CPU ms/op', 'RSS MB', 'vs PyKMIP', 'CPU vs reference', 'failed', 'note'],
    rows.map((r) => [
      r.server,
      r.scenario,
      fmt(r.opsPerSecond, 0),
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      fmt(r.serverCpuMsPerOp, 3),
      fmt(r.clientCpuMsPerOp, 3),
      fmt(r.peakRssBytes / 1e6, 0),
      r.ratioToPyKmip === undefined ? '' : `${fmt(r.ratioToPyKmip, 1)}x`,
      r.cpuToReference === undefined ? '' : `${fmt(r.cpuToReference, 2)}x`,
      String(r.failedResults + r.errors),
      r.note ?? '',
    ]),
  );
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars of ops/s on a log scale, ours beside PyKMIP per scenario. */
export function renderSvg(rows: readonly ScenarioReport[], title: string): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const servers = [...new Set(rows.map((r) => r.server))];
  const colors = ['#1f6feb', '#d29922', '#2da44e', '#8250df', '#cf222e'];
  const max = Math.max(...rows.map((r) => r.opsPerSecond), 10);
  const logMax = Math.log10(max * 1.5);
  const barH = 14;
  const groupH = servers.length * (barH + 3) + 14;
  const left = 170;
  const width = 760;
  const plotW = width - left - 140;
  const height = 60 + scenarios.length * groupH + 30;
  const x = (v: number) => left + (Math.max(0, Math.log10(Math.max(v, 1))) / logMax) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  servers.forEach((s, i) => {
    parts.push(`<rect x="${left + i * 170}" y="34" width="12" height="12" fill="${colors[i % colors.length]}"/>`);
    parts.push(`<text x="${left + i * 170 + 16}" y="44">${escape(s)}</text>`);
  });
  scenarios.forEach((scenario, g) => {
    const top = 60 + g * groupH;
    parts.push(`<text x="${left - 8}" y="${top + groupH / 2}" text-anchor="end" font-weight="bold">${escape(scenario)}</text>`);
    servers.forEach((server, i) => {
      const r = rows.find((row) => row.scenario === scenario && row.server === server);
      if (!r) return;
      const y = top + i * (barH + 3);
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(r.opsPerSecond) - left)}" height="${barH}" fill="${colors[i % colors.length]}"/>`);
      const label = `${Math.round(r.opsPerSecond).toLocaleString('en-US')}/s${r.ratioToPyKmip ? ` (${r.ratioToPyKmip.toFixed(0)}x)` : ''}`;
      parts.push(`<text x="${x(r.opsPerSecond) + 4}" y="${y + barH - 3}">${escape(label)}</text>`);
    });
  });
  parts.push(`<text x="${left}" y="${height - 10}" fill="#555">ops/s, log scale; medians of the runs; 2-core machine, loopback only</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
