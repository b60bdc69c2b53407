/**
 * npm run teardown -- <stack> --confirm <stack> [--dry-run] [--config FILE] [--passphrase-file FILE] …
 *
 * Tears one stack down without losing keys by accident: preflight on every node, an encrypted backup and
 * its verification, then its destroy protection (that stack only) is lifted, applied, and the stack is
 * destroyed. Any failed step stops it. The flow is in scripts/teardown/ (args, target, steps, run).
 */
import { runTeardown } from './teardown/run.js';

process.exitCode = await runTeardown(process.argv.slice(2), process.env, {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
});
