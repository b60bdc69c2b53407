/** Pieces every part of the status page uses. */
import { html, type Html } from './escape.js';
import type { Part } from './gather.js';

/** A part that could not be read shows its error in place of its table. */
export function partOr<T>(p: Part<T>, what: string, render: (value: T) => Html): Html {
  return p.ok ? render(p.value) : html`<p class="bad">Cannot read ${what}: ${p.error}</p>`;
}

export function badge(ok: boolean, yes: string, no: string): Html {
  return html`<span class="badge ${ok ? 'ok' : 'bad'}">${ok ? yes : no}</span>`;
}
