/** Root-key rewrap and the teardown preflight. */
import { CliError } from '../client.js';
import type { Command } from '../command.js';
import { table } from '../output.js';
import { progressReporter } from '../progress.js';

export const maintenanceCommands: Record<string, Command> = {
  rewrap: async ({ client, out, options: values }) => {
    const bar = progressReporter(out.json);
    let final: { rewrapped: number; current: number; failed: number; version: string; cursor?: string } | undefined;
    await client().stream('POST', `/v1/rewrap${values.after ? `?after=${encodeURIComponent(values.after)}` : ''}`, (line) => {
      const l = line as { progress?: { done: number; total: number; rewrapped: number; failed: number; cursor?: string }; done?: typeof final };
      if (l.progress) bar.update(l.progress.done, l.progress.total, { rewrapped: l.progress.rewrapped, failed: l.progress.failed, cursor: l.progress.cursor });
      if (l.done) final = l.done;
    });
    bar.finish();
    if (!final) throw new CliError('the rewrap stopped before it finished; run it again (it continues where it was)', 1);
    out.result(final, () => `rewrapped ${final!.rewrapped}, already current ${final!.current}, failed ${final!.failed} (root key version ${final!.version})`);
    if (final.failed > 0) throw new CliError(`${final.failed} object(s) could not be rewrapped; run again to retry them`, 1);
  },
  'preflight-destroy': async ({ client, out }) => {
    const r = await client().call<{ safe: boolean; recentUseDays: number; blockers: Array<{ tenant: string; id: string; state: string; why: string; lastGetAt: string | null }> }>('GET', '/v1/preflight-destroy');
    out.result(r, () =>
      r.safe
        ? 'safe to tear down: no key is Pre-Active or Active, none was fetched in the last ' + r.recentUseDays + ' days'
        : `NOT safe to tear down: ${r.blockers.length} key(s) still in use\n${table(['TENANT', 'ID', 'STATE', 'LAST GET', 'WHY'], r.blockers.map((b) => [b.tenant, b.id, b.state, b.lastGetAt, b.why]))}`,
    );
    if (!r.safe) process.exitCode = 3;
  },
};
