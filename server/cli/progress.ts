/**
 * With --json: progress as JSON lines on stdout before the result line. Otherwise a bar on a
 * terminal, or a plain line every few seconds on stderr (CI logs), so stdout holds only the result.
 */
export function progressReporter(json: boolean, isTty = process.stderr.isTTY === true) {
  let last = 0;
  const describe = (extra: Record<string, unknown>) => Object.entries(extra).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${String(v)}`).join(', ');
  return {
    update(done: number, total: number, extra: Record<string, unknown>): void {
      if (json) {
        process.stdout.write(`${JSON.stringify({ done, total, ...extra })}\n`);
        return;
      }
      const now = Date.now();
      if (!isTty) {
        if (now - last < 5000 && done < total) return;
        last = now;
        process.stderr.write(`progress ${done}/${total} ${describe(extra)}\n`);
        return;
      }
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${describe(extra)}   `);
    },
    finish(): void {
      if (!json && isTty) process.stderr.write('\n');
    },
  };
}
