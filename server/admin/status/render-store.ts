/** The status page's store parts: tenants with key counts, client certificates by expiry, recent keys. */
import type { KeyView } from '../key-view.js';
import { html, type Html } from './escape.js';
import { ago, span, utc, utcText } from './format.js';
import { EXPIRY_WARNING_DAYS, type CertificateStatus, type StatusData } from './gather.js';
import { partOr } from './render-common.js';

export function renderTenants(d: StatusData): Html {
  const states = d.keys.ok ? d.keys.value.states : [];
  return html`<section id="tenants"><h2>Tenants and key counts by state</h2>${partOr(d.tenants, 'the tenants', (tenants) =>
    tenants.length === 0
      ? html`<p class="muted">No tenant yet: kmipctl tenant add NAME.</p>`
      : html`<table><thead><tr><th>Tenant</th><th>Created</th><th class="num">Certificates</th>${states.map((s) => html`<th class="num">${s}</th>`)}<th class="num">Total</th></tr></thead><tbody>${tenants.map((t) => {
          const total = [...t.keysByState.values()].reduce((a, b) => a + b, 0);
          return html`<tr><td>${t.name}</td><td>${utc(t.createdAt)}</td><td class="num">${t.certificates}</td>${states.map((s) => html`<td class="num">${t.keysByState.get(s) ?? 0}</td>`)}<td class="num">${total}</td></tr>`;
        })}</tbody></table>`,
  )}</section>`;
}

function expiry(c: CertificateStatus, now: number): { cls: string; text: string } {
  if (c.notAfterMs === undefined) return { cls: 'soon', text: 'unknown' };
  if (c.notAfterMs <= now) return { cls: 'expired', text: `EXPIRED ${span(now - c.notAfterMs)} ago` };
  const days = Math.floor((c.notAfterMs - now) / 86_400_000);
  if (days < EXPIRY_WARNING_DAYS) return { cls: 'soon', text: days === 0 ? `expires in ${span(c.notAfterMs - now)}` : `expires in ${days} day(s)` };
  return { cls: '', text: `in ${days} days` };
}

export function renderCertificates(d: StatusData): Html {
  return html`<section id="certificates"><h2>Client certificates</h2>
  <p class="muted">Soonest expiry first; highlighted when past or within ${EXPIRY_WARNING_DAYS} days. A client whose certificate expired is refused at the TLS handshake.</p>
  ${partOr(d.certificates, 'the certificates', (certs) =>
    certs.length === 0
      ? html`<p class="muted">No certificate registered: kmipctl cert add --tenant NAME --pem FILE.</p>`
      : html`<table><thead><tr><th>Tenant</th><th>Label</th><th>Kind</th><th>Subject</th><th>Not after</th><th>Expiry</th><th>SHA-256 fingerprint</th></tr></thead><tbody>${certs.map((c) => {
          const e = expiry(c, d.generatedAt);
          return html`<tr class="${e.cls}"><td>${c.tenant}</td><td>${c.label}</td><td>${c.kind}</td><td>${c.subject}</td><td>${utcText(c.notAfter)}</td><td>${e.text}</td><td><code>${c.fingerprint}</code></td></tr>`;
        })}</tbody></table>`,
  )}</section>`;
}

function keyTable(keys: readonly KeyView[], when: (k: KeyView) => string | null, whenTitle: string, now: number): Html {
  return html`<table><thead><tr><th>${whenTitle}</th><th>Tenant</th><th>Unique Identifier</th><th>State</th><th>KMIP Name</th><th>vCenter x-Name</th></tr></thead><tbody>${keys.map((k) => {
    const at = when(k);
    return html`<tr><td>${at ? `${utcText(at)} (${ago(Date.parse(at), now)})` : '-'}</td><td>${k.tenant}</td><td><code>${k.id}</code></td><td>${k.state}</td><td>${k.kmipName ?? '-'}</td><td>${k.name ?? '-'}</td></tr>`;
  })}</tbody></table>`;
}

export function renderKeys(d: StatusData): Html {
  const days = Math.round(d.recentUseMs / 86_400_000);
  return html`<section id="keys"><h2>Keys</h2>${partOr(d.keys, 'the keys', (k) => html`
    ${k.partial ? html`<p class="warn">Only the first ${k.scanned} keys (oldest first) were read for these lists: newer keys may be missing from them.</p>` : ''}
    <h3>Fetched in the last ${days} day(s), newest first</h3>
    <p class="muted">A key fetched this recently blocks a teardown (teardown.recentUseDays). Times reach the database within seconds of a Get.</p>
    ${k.fetched.length === 0 ? html`<p class="muted">None.</p>` : keyTable(k.fetched, (x) => x.lastGet, 'Last Get', d.generatedAt)}
    <h3>Created most recently</h3>
    ${k.created.length === 0 ? html`<p class="muted">No key yet.</p>` : keyTable(k.created, (x) => x.created, 'Created', d.generatedAt)}
  `)}</section>`;
}
