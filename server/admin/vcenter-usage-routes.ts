/**
 * POST /v1/vcenter-usage takes the report `kmipctl vcenter usage --publish` computed (validated,
 * bounded) and keeps it in memory on this node for the status page; GET /v1/vcenter-usage gives back
 * what this node holds. vCenter stays the truth: a report is a dated reading, replaced by the next one.
 */
import type { TLSSocket } from 'node:tls';
import { displayTime } from './key-view.js';
import { parse, readJson, send, type Handler } from './management-http.js';
import { MAX_USAGE_BODY, UsageReport, type PublishedUsageReports } from './status/published-usage.js';

export interface VcenterUsageDeps {
  readonly reports: PublishedUsageReports;
  readonly now: () => number;
  readonly audit: (action: string, fields: Record<string, unknown>, result?: string) => void;
}

export function vcenterUsageHandlers(deps: VcenterUsageDeps): Handler[] {
  return [
    [
      'POST',
      /^\/v1\/vcenter-usage$/,
      async (req, res) => {
        const report = parse(UsageReport, await readJson(req, MAX_USAGE_BODY));
        const receivedAt = deps.now();
        const publishedBy = (req.socket as TLSSocket).authorized === true ? 'admin client certificate' : 'management token';
        const replaced = deps.reports.publish({ report, receivedAt, publishedBy });
        deps.audit('vcenter usage published', { provider: report.provider, vcenter: report.vcenter, entries: report.users.length + report.unknownProvider.length + report.unreadable.length, replaced });
        send(res, 200, { provider: report.provider, vcenter: report.vcenter, receivedAt: displayTime(receivedAt), replaced, keptOn: 'this node, in memory (a restart forgets it)' });
      },
    ],
    [
      'GET',
      /^\/v1\/vcenter-usage$/,
      async (_req, res) => {
        send(res, 200, { reports: deps.reports.list().map((r) => ({ ...r.report, receivedAt: displayTime(r.receivedAt), publishedBy: r.publishedBy })) });
      },
    ],
  ];
}
