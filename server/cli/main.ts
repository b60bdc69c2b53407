#!/usr/bin/env node
/**
 * kmipctl: the operator's command line, a client of the management API on the admin port.
 * Exit codes: 0 done, 1 failed, 2 usage error, 3 refused for safety (keys still in use).
 */
import { CliError, ManagementClient, resolveEndpoint } from './client.js';
import type { Command } from './command.js';
import { adminCommands } from './commands/admin.js';
import { backupCommands } from './commands/backup.js';
import { keyprotectCommands } from './commands/keyprotect.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { migrateCommands } from './commands/migrate.js';
import { vcenterCommands } from './commands/vcenter.js';
import { parseCli, USAGE, type CliOptions } from './options.js';
import { output, table } from './output.js';

const COMMANDS: Record<string, Command> = { ...adminCommands, ...maintenanceCommands, ...backupCommands, ...vcenterCommands, ...migrateCommands, ...keyprotectCommands };

async function main(values: CliOptions, positionals: string[]): Promise<void> {
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const [group, sub, ...rest] = positionals;
  const twoWord = `${group} ${sub ?? ''}`;
  const [command, args] = COMMANDS[twoWord] ? [COMMANDS[twoWord], rest] : COMMANDS[group!] ? [COMMANDS[group!], [sub, ...rest].filter((a): a is string => a !== undefined)] : [undefined, []];
  if (!command) throw new CliError(`unknown command: ${positionals.join(' ')}\n${USAGE}`, 2);
  let client: ManagementClient | undefined;
  await command({
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
    args,
    options: values,
  });
}

let json = process.argv.includes('--json');
try {
  const { values, positionals } = parseCli(process.argv.slice(2));
  json = values.json;
  await main(values, positionals);
} catch (err) {
  if (err instanceof CliError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: err.message, ...(typeof err.details === 'object' ? err.details : {}) })}\n`);
    else {
      process.stderr.write(`kmipctl: ${err.message}\n`);
      const blockers = (err.details as { blockers?: Array<{ tenant: string; id: string; state: string; why: string }> } | undefined)?.blockers;
      if (blockers?.length) process.stderr.write(`${table(['TENANT', 'ID', 'STATE', 'WHY'], blockers.map((b) => [b.tenant, b.id, b.state, b.why]))}\n`);
    }
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`kmipctl: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
