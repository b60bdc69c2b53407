/** The status page's vCenter part: which VMs, hosts and clusters use which keys, as kmipctl last published it. */
import { html, type Html } from './escape.js';
import { ago, utc, utcText } from './format.js';
import { USAGE_ROWS, type KeysStatus, type StatusData } from './gather.js';
import type { PublishedUsage, UsageEntry } from './published-usage.js';

function keyCell(e: UsageEntry, known: ReadonlyMap<string, { tenant: string; state: string }> | undefined): Html {
  if (!e.keyId) return html`<span class="muted">-</span>`;
  const k = known?.get(e.keyId);
  return html`<code>${e.keyId}</code><br>${k ? html`<span class="ok">on this server: tenant ${k.tenant}, ${k.state}</span>` : html`<span class="muted">${known ? 'not a key of this server' : 'keys unreadable'}</span>`}`;
}

function report(p: PublishedUsage, keys: KeysStatus | undefined, now: number): Html {
  const r = p.report;
  const rows: Array<[UsageEntry, string]> = [
    ...r.users.map((e): [UsageEntry, string] => [e, e.kind]),
    ...r.unknownProvider.map((e): [UsageEntry, string] => [e, `${e.kind} (key names no provider)`]),
    ...r.unreadable.map((e): [UsageEntry, string] => [e, `${e.kind} (unreadable)`]),
  ];
  const c = r.counts;
  return html`<h3>Key provider ${r.provider} on ${r.vcenter}</h3>
  <p class="muted">As published by kmipctl at ${utcText(r.readAt)} (received ${utc(p.receivedAt)}, ${ago(p.receivedAt, now)}, with the ${p.publishedBy}), on this node; kept in memory until the next publish or a restart. vCenter is the truth: run kmipctl vcenter usage again for a fresh reading.</p>
  <p>${r.registered ? html`<span class="badge ok">registered</span>` : html`<span class="badge bad">not registered in vCenter</span>`} ${r.isDefault ? html`<span class="badge warn">vCenter's default provider</span>` : ''}
  ${r.inUse ? html`<span class="badge warn">in use</span> ${c.vms} VM(s) or template(s), ${c.hosts} host(s), ${c.clusters} cluster(s) of ${c.scanned} inventory object(s)` : html`<span class="badge ok">not in use</span> (${c.scanned} inventory object(s) checked)`}</p>
  ${rows.length === 0 ? '' : html`<table><thead><tr><th>Kind</th><th>Name</th><th>vCenter ID</th><th>Key</th><th>Why</th></tr></thead><tbody>${rows.slice(0, USAGE_ROWS).map(([e, kind]) => html`<tr><td>${kind}</td><td>${e.name}</td><td><code>${e.id}</code></td><td>${keyCell(e, keys?.known)}</td><td>${e.detail}</td></tr>`)}</tbody></table>
  ${rows.length > USAGE_ROWS ? html`<p class="muted">… and ${rows.length - USAGE_ROWS} more (GET /v1/vcenter-usage on this node has them all).</p>` : ''}`}`;
}

export function renderUsage(d: StatusData): Html {
  return html`<section id="vcenter"><h2>vCenter: which VMs, hosts and clusters use which keys</h2>
  ${d.usage.length === 0
    ? html`<p class="muted">Nothing published on this node yet. Run <code>kmipctl vcenter usage --vcenter https://HOST … --provider NAME --publish</code> (with the connection flags of this server) to show it here.</p>`
    : d.usage.map((p) => report(p, d.keys.ok ? d.keys.value : undefined, d.generatedAt))}
  </section>`;
}
