/** What every kmipctl command gets. */
import type { ManagementClient } from './client.js';
import type { CliOptions } from './options.js';
import type { Out } from './output.js';

export interface CommandContext {
  /** The management API client; connects on first use, so offline commands need no server. */
  client(): ManagementClient;
  readonly out: Out;
  readonly args: readonly string[];
  readonly options: CliOptions;
}

export type Command = (ctx: CommandContext) => Promise<void>;
