/**
 * How the admin port shows a key and a time: the management API's key listing and the status page
 * read the same attributes the same way (KMIP Name, vCenter's x- tags, lifecycle dates).
 */
import { STATE_NAMES } from '../kmip/lifecycle.js';
import { ManagedObject } from '../kmip/managed-object.js';
import type { ObjectRecord } from '../store/store.js';

/**
 * ISO 8601 for a time in milliseconds. A time Date cannot represent (a date stored before dates were
 * bounded at the KMIP port) is shown as its POSIX seconds instead of failing the whole answer.
 */
export function displayTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${Number.isFinite(ms) ? Math.trunc(ms / 1000) : String(ms)} s since 1970-01-01 (out of range)` : d.toISOString();
}

/** A certificate's validity date as ISO 8601, or as OpenSSL printed it when Date cannot read that. */
export function certificateTime(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : displayTime(ms);
}

export function stateName(state: number): string {
  return STATE_NAMES[state] ?? String(state);
}

export interface KeyView {
  readonly id: string;
  readonly tenant: string;
  readonly state: string;
  readonly created: string | null;
  readonly activated: string | null;
  readonly deactivated: string | null;
  readonly destroyed: string | null;
  readonly lastGet: string | null;
  readonly component: string | null;
  /** vCenter's x-Name tag. */
  readonly name: string | null;
  readonly identifier: string | null;
  /** The KMIP Name attribute (its first instance), as a KMIP client other than vCenter names a key. */
  readonly kmipName: string | null;
}

export function keyView(record: ObjectRecord, tenant: string, nowMs: number): KeyView {
  const o = ManagedObject.fromRecord(record, nowMs);
  const date = (name: string) => {
    const v = o.first(name);
    return typeof v === 'number' ? displayTime(v * 1000) : null;
  };
  const text = (name: string) => {
    const v = o.first(name) as { value?: unknown } | undefined;
    return typeof v?.value === 'string' ? v.value : null;
  };
  const name = o.first('Name') as { nameValue?: unknown } | undefined;
  return {
    id: record.uid,
    tenant,
    state: stateName(o.state),
    created: date('Initial Date'),
    activated: date('Activation Date'),
    deactivated: date('Deactivation Date'),
    destroyed: date('Destroy Date'),
    lastGet: record.lastGetAt === null ? null : displayTime(record.lastGetAt),
    component: text('x-Component'),
    name: text('x-Name'),
    identifier: text('x-Identifier'),
    kmipName: typeof name?.nameValue === 'string' ? name.nameValue : null,
  };
}
