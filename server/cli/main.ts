#!/usr/bin/env node
/**
 * kmipctl: the operator's command line, a client of the management API on the admin port.
 * Exit codes: 0 done, 1 failed, 2 usage error, 3 refused for safety (keys still in use), 4 objects
 * still use the old key provider (vcenter migrate --verify). With --json an error is one object with
 * a stable `code` (errors.ts).
 */
import { ManagementClient, resolveEndpoint } from './client.js';
import type { Command } from './command.js';
import { adminCommands } from './commands/admin.js';
import { backupCommands } from './commands/backup.js';
import { keyprotectCommands } from './commands/keyprotect.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { migrateCommands } from './commands/migrate.js';
import { vcenterCommands } from './commands/vcenter.js';
import { cliCode, CliError, errorDocument } from './errors.js';
import { parseCli, type CliOptions } from './options.js';
import { commandUsage, helpHint, USAGE } from './usage.js';
import { output, table } from './output.js';

const COMMANDS: Record<string, Command> = { ...adminCommands, ...maintenanceCommands, ...backupCommands, ...vcenterCommands, ...migrateCommands, ...keyprotectCommands };

/** The command the words name ("backup export", "rewrap"), with its own arguments. */
function resolve(positionals: readonly string[]): { command: Command; args: string[] } | undefined {
  const [group, sub, ...rest] = positionals;
  const twoWord = `${group} ${sub ?? ''}`;
  if (COMMANDS[twoWord]) return { command: COMMANDS[twoWord], args: rest };
  if (group && COMMANDS[group]) return { command: COMMANDS[group], args: positionals.slice(1) };
  return undefined;
}

function unknownCommand(positionals: readonly string[]): CliError {
  const group = positionals[0]!;
  const subs = Object.keys(COMMANDS).filter((c) => c.startsWith(`${group} `));
  if (subs.length && positionals.length === 1) return new CliError(`${group} needs a command: ${subs.join(', ')}`, 2);
  if (subs.length) return new CliError(`unknown command: ${positionals.slice(0, 2).join(' ')} (${group} has ${subs.join(', ')})`, 2);
  return new CliError(`unknown command: ${group}`, 2);
}

async function main(values: CliOptions, positionals: string[]): Promise<void> {
  if (values.help) {
    process.stdout.write(`${commandUsage(positionals) ?? USAGE}\n`);
    return;
  }
  if (positionals.length === 0) {
    if (values.json) throw new CliError('give a command', 2);
    // A bare `kmipctl` is someone exploring: the whole text, but on stderr and as a usage error.
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const found = resolve(positionals);
  if (!found) throw unknownCommand(positionals);
  let client: ManagementClient | undefined;
  await found.command({
    client: () =>
      (client ??= new ManagementClient(
        resolveEndpoint({
          adminUrl: values['admin-url'],
          tokenFile: values['token-file'],
          certFile: values['client-cert'],
          keyFile: values['client-key'],
          caFile: values['server-ca'],
          dev: values.dev,
          dataDir: values['data-dir'],
        }),
      )),
    out: output(values.json),
    args: found.args,
    options: values,
  });
}

/** One line (or one JSON object) per failure: the message, then how to get help for a usage error; never the whole help. */
function report(err: CliError, json: boolean, positionals: readonly string[]): void {
  const code = cliCode(err);
  if (json) {
    process.stdout.write(`${JSON.stringify(errorDocument(err))}\n`);
    return;
  }
  process.stderr.write(`kmipctl: ${err.message}\n`);
  const blockers = (err.details as { blockers?: Array<{ tenant: string; id: string; state: string; why: string }> } | undefined)?.blockers;
  if (blockers?.length) process.stderr.write(`${table(['TENANT', 'ID', 'STATE', 'WHY'], blockers.map((b) => [b.tenant, b.id, b.state, b.why]))}\n`);
  if (code === 'USAGE') process.stderr.write(`${helpHint(positionals)}\n`);
}

let json = process.argv.includes('--json');
// Until the flags parse, the command is guessed from the words (for the help hint only).
const words = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const firstGroup = words.findIndex((w) => Object.keys(COMMANDS).some((c) => c === w || c.startsWith(`${w} `)));
let positionals: string[] = firstGroup >= 0 ? words.slice(firstGroup) : [];
try {
  const parsed = parseCli(process.argv.slice(2));
  json = parsed.values.json;
  positionals = parsed.positionals;
  await main(parsed.values, positionals);
} catch (err) {
  if (err instanceof CliError) {
    report(err, json, positionals);
    process.exitCode = err.exitCode;
  } else {
    // Not one of ours: a bug. The stack helps the report; JSON stays one small object.
    const message = err instanceof Error ? err.message : String(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: message, code: 'INTERNAL' })}\n`);
    else process.stderr.write(`kmipctl: internal error: ${(err as Error).stack ?? message}\n`);
    process.exitCode = 1;
  }
}
