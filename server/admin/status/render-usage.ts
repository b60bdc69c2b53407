/** The status page's vCenter part: which VMs, hosts and clusters use which keys, as kmipctl last published it. */
import { html, type Html } from './escape.js';
import { ago, utc, utcText } from './format.js';
import { USAGE_ROWS, type KeysStatus, type StatusData } from './gather.js';
import { usageRows, type PublishedUsage, type UsageEntry } from './published-usage.js';

/** Where the key of an entry stands here; "not a key of this server" only when every key was read. */
function keyCell(e: UsageEntry, keys: KeysStatus | undefined): Html {
  if (!e.keyId) return html`<span class="muted">-</span>`;
  const k = keys?.known.get(e.keyId);
  const missing = !keys ? 'keys unreadable' : keys.partial ? `not among the first ${keys.scanned} keys read` : 'not a key of this server';
  return html`<code>${e.keyId}</code><br>${k ? html`<span class="ok">on this server: tenant ${k.tenant}, ${k.state}</span>` : html`<span class="muted">${missing}</span>`}`;
}

function report(p: PublishedUsage, keys: KeysStatus | undefined, now: number): Html {
  const r = p.report;
  const rows = usageRows(r);
  const c = r.counts;
  return html`<h3>Key provider ${r.provider} on ${r.vcenter}</h3>
  <p class="muted">As published by kmipctl at ${utcText(r.readAt)} (received ${utc(p.receivedAt)}, ${ago(p.receivedAt, now)}, with the ${p.publishedBy}), on this node; kept in memory until the next publish or a restart. vCenter is the truth: run kmipctl vcenter usage again for a fresh reading.</p>
  <p>${r.registered ? html`<span class="badge ok">registered</span>` : html`<span class="badge bad">not registered in vCenter</span>`} ${r.isDefault ? html`<span class="badge warn">vCenter's default provider</span>` : ''}
  ${r.inUse ? html`<span class="badge warn">in use</span> ${c.vms} VM(s) or template(s), ${c.hosts} host(s), ${c.clusters} cluster(s) of ${c.scanned} inventory object(s)` : html`<span class="badge ok">not in use</span> (${c.scanned} inventory object(s) checked)`}</p>
  ${rows.length === 0 ? '' : html`<table><thead><tr><th>Kind</th><th>Name</th><th>vCenter ID</th><th>Key</th><th>Why</th></tr></thead><tbody>${rows.slice(0, USAGE_ROWS).map(([e, kind]) => html`<tr><td>${kind}</td><td>${e.name}</td><td><code>${e.id}</code></td><td>${keyCell(e, keys)}</td><td>${e.detail}</td></tr>`)}</tbody></table>
  ${rows.length > USAGE_ROWS ? html`<p class="muted">… and ${rows.length - USAGE_ROWS} more (GET /v1/vcenter-usage on this node has them all).</p>` : ''}`}`;
}

export function renderUsage(d: StatusData): Html {
  const keys = d.keys.ok ? d.keys.value : undefined;
  return html`<section id="vcenter"><h2>vCenter: which VMs, hosts and clusters use which keys</h2>
  ${d.usage.length === 0
    ? html`<p class="muted">Nothing published on this node yet. Run <code>kmipctl vcenter usage --vcenter https://HOST … --provider NAME --publish</code> (with the connection flags of this server) to show it here.</p>`
    : html`${keys?.partial ? html`<p class="warn">Only the first ${keys.scanned} keys of this server were read (oldest first; it holds more): a key shown as not among them may still be one of its keys.</p>` : ''}${d.usage.map((p) => report(p, keys, d.generatedAt))}`}
  </section>`;
}
