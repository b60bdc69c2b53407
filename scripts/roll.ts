/**
 * npm run roll -- <stack> [--config FILE] [--admin-url ZONE=URL …] [--dry-run]
 *
 * Moves a stack's nodes onto a new server bundle, certificate or setting one zone at a time, each node ready
 * before the next goes. The flow is in scripts/roll/ (args, plan check, readiness, run).
 */
import { runRoll } from './roll/run.js';

process.exitCode = await runRoll(process.argv.slice(2), process.env, {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
});
