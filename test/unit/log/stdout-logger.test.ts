/**
 * The default destination buffers lines and writes them to standard output in blocks: every line
 * must come out whole, once, in order, with its UTF-8 intact, including lines longer than a block
 * and the ones still buffered when the process exits.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assertBuilt, runToExit } from '../../support/process.js';

const LOGGER = fileURLToPath(new URL('../../../dist/server/log/logger.js', import.meta.url));

describe('buffered standard output logger', () => {
  it('writes every line whole and in order, multi-byte text and oversized lines included, and flushes at exit', async () => {
    assertBuilt();
    const script = `
      const { createLoggers } = await import(${JSON.stringify(LOGGER)});
      const { logger, audit } = createLoggers({ level: 'info' });
      for (let i = 0; i < 3000; i++) {
        const target = i % 2 ? audit : logger;
        target.info({ i, tenant: 'Zürich-東京-' + i, big: i % 500 === 7 ? 'é'.repeat(20000) : undefined }, 'line');
        if (i === 1500) await new Promise((r) => setTimeout(r, 300)); // one timed flush in between
      }
      // Exit at once: the lines still buffered must be flushed on the way out.
      process.exit(0);
    `;
    const run = await runToExit(process.execPath, ['--input-type=module', '-e', script]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number; tenant: string; big?: string });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    for (const l of lines) {
      expect(l.tenant).toBe(`Zürich-東京-${l.i}`);
      if (l.i % 500 === 7) expect(l.big).toBe('é'.repeat(20000));
    }
  });

  it('writes a lone line within the flush period, without waiting for the block to fill or the process to end', async () => {
    assertBuilt();
    const script = `
      const { createLoggers } = await import(${JSON.stringify(LOGGER)});
      createLoggers({ level: 'info' }).logger.info({ lone: true }, 'line');
      setTimeout(() => process.exit(0), 3000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = performance.now();
    const firstLineAfterMs = await new Promise<number>((resolve) => {
      child.stdout.once('data', () => resolve(performance.now() - started));
      child.once('exit', () => resolve(Infinity));
    });
    child.kill();
    // Node's start-up plus the 200 ms period; the process lives 3 s, so an exit flush would be too late.
    expect(firstLineAfterMs).toBeLessThan(2_000);
  });
});
