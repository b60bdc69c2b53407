/** The status page as one HTML document: this node and its dependencies, then the store's parts. */
import { html, Html } from './escape.js';
import { ago, span, utc } from './format.js';
import type { DependencyStatus, StatusData } from './gather.js';
import { badge } from './render-common.js';
import { renderCertificates, renderKeys, renderTenants } from './render-store.js';
import { renderUsage } from './render-usage.js';
import { STYLE } from './style.js';

function dependencyRow(d: DependencyStatus, now: number): Html {
  const healthy = d.now === 'ok';
  return html`<tr>
    <td>${d.name}</td><td>${d.kind}</td>
    <td>${badge(healthy, 'ok', 'failing')}${healthy ? '' : html` <span class="bad">${d.now}</span>`}</td>
    <td>${d.lastError ? html`<span class="${healthy ? 'warn' : 'bad'}">${d.lastError.message}</span><br><span class="muted">${utc(d.lastError.at)} (${ago(d.lastError.at, now)}); ${d.lastError.count} error(s) since this node started</span>` : html`<span class="muted">none since this node started</span>`}</td>
  </tr>`;
}

function renderNode(d: StatusData): Html {
  const n = d.node;
  return html`<section id="node"><h2>This node</h2>
    <dl class="facts">
      <dt>Health</dt><dd>${badge(true, 'alive', 'down')} ${badge(d.ready, 'ready', 'not ready')}${d.ready ? '' : html` <span class="bad">/readyz answers 503: the load balancer sends no KMIP traffic here</span>`}</dd>
      <dt>Host</dt><dd>${n.hostname}</dd>
      <dt>Version</dt><dd>${n.version}</dd>
      <dt>Started</dt><dd>${utc(n.startedAt)} (up ${span(d.generatedAt - n.startedAt)})</dd>
      <dt>KMIP</dt><dd><code>${n.kmipAddress}</code>, ${n.openKmipConnections} open connection(s)</dd>
      <dt>Admin</dt><dd><code>${n.adminAddress}</code></dd>
    </dl>
    <h3>Dependencies</h3>
    <table><thead><tr><th>Dependency</th><th>Kind</th><th>Now</th><th>Last error</th></tr></thead>
    <tbody>${d.dependencies.map((x) => dependencyRow(x, d.generatedAt))}</tbody></table>
  </section>`;
}

export function renderStatusPage(d: StatusData): string {
  const title = `KMIP server status: ${d.node.hostname}`;
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title><style>${Html.trusted(STYLE)}</style></head>
<body><header><h1>${title}</h1><span class="meta">read-only; generated ${utc(d.generatedAt)}; reload for fresh data</span></header>
<main>
${renderNode(d)}
${renderTenants(d)}
${renderCertificates(d)}
${renderKeys(d)}
${renderUsage(d)}
</main></body></html>
`;
  return page.markup;
}
