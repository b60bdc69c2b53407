/**
 * Tests that need PostgreSQL or PyKMIP skip with a visible reason on a laptop without them, and
 * fail instead under CI=true, where .ci/run installs and starts both.
 */
import { execFileSync } from 'node:child_process';
import { Socket } from 'node:net';

export const IN_CI = process.env['CI'] === 'true';

/** Returns a reason to skip, or undefined when the requirement is met. Throws under CI when unmet. */
export function requirement(name: string, available: boolean, howToGet: string): string | undefined {
  if (available) return undefined;
  const reason = `${name} is not available (${howToGet})`;
  if (IN_CI) throw new Error(`CI=true but ${reason}`);
  process.stderr.write(`\n[skip] ${reason}: its tests are skipped\n`);
  return reason;
}

export const PYTHON = '/usr/bin/python3';

export function pykmipAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import kmip'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export async function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}
