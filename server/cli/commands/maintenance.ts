/** Root-key rewrap and the teardown preflight (optionally asking vCenter who still uses the provider). */
import type { Command } from '../command.js';
import { CliError } from '../errors.js';
import { afterCursor } from '../options.js';
import { table } from '../output.js';
import { progressReporter } from '../progress.js';
import { providerInUse, usageText, wantsVcenter } from './vcenter.js';

export const maintenanceCommands: Record<string, Command> = {
  rewrap: async ({ client, out, options: values }) => {
    const after = afterCursor(values.after);
    const bar = progressReporter(out.json);
    let final: { rewrapped: number; current: number; failed: number; version: string; cursor?: string } | undefined;
    let cursor = after;
    await client().stream('POST', `/v1/rewrap${after ? `?after=${encodeURIComponent(after)}` : ''}`, (line) => {
      const l = line as { progress?: { done: number; total: number; rewrapped: number; failed: number; cursor?: string }; done?: typeof final };
      if (l.progress?.cursor) cursor = l.progress.cursor;
      if (l.progress) bar.update(l.progress.done, l.progress.total, { rewrapped: l.progress.rewrapped, failed: l.progress.failed, cursor: l.progress.cursor });
      if (l.done) final = l.done;
    });
    bar.finish();
    if (!final) throw new CliError(`the rewrap stopped before it finished; continue with: kmipctl rewrap${cursor ? ` --after ${cursor}` : ''}`, 1);
    out.result(final, () => `rewrapped ${final!.rewrapped}, already current ${final!.current}, failed ${final!.failed} (root key version ${final!.version})`);
    if (final.failed > 0) throw new CliError(`${final.failed} object(s) could not be rewrapped; run again to retry them`, 1);
  },
  'preflight-destroy': async ({ client, out, options }) => {
    // With vCenter flags the vCenter check comes first: its usage errors (exit 2) need no server.
    const vcenter = wantsVcenter(options) ? await providerInUse(options) : undefined;
    const r = await client().call<{ safe: boolean; recentUseDays: number; blockers: Array<{ tenant: string; id: string; state: string; why: string; lastGetAt: string | null }> }>('GET', '/v1/preflight-destroy');
    const safe = r.safe && !vcenter?.inUse;
    const serverTable = () => table(['TENANT', 'ID', 'STATE', 'LAST GET', 'WHY'], r.blockers.map((b) => [b.tenant, b.id, b.state, b.lastGetAt, b.why]));
    out.result(vcenter ? { ...r, safe, vcenter } : r, () => {
      if (!vcenter) {
        return r.safe
          ? 'safe to tear down: no key is Pre-Active or Active, none was fetched in the last ' + r.recentUseDays + ' days'
          : `NOT safe to tear down: ${r.blockers.length} key(s) still in use\n${serverTable()}`;
      }
      const reasons = [...(r.safe ? [] : [`${r.blockers.length} key(s) still in use`]), ...(vcenter.inUse ? [`vCenter still uses key provider ${vcenter.provider}`] : [])];
      return [
        safe ? `safe to tear down: no key is Pre-Active or Active or was fetched in the last ${r.recentUseDays} days, and vCenter does not use key provider ${vcenter.provider}` : `NOT safe to tear down: ${reasons.join('; ')}`,
        ...(r.safe ? [] : [serverTable()]),
        `vCenter: ${usageText(vcenter)}`,
      ].join('\n');
    });
    if (!safe) process.exitCode = 3;
  },
};
