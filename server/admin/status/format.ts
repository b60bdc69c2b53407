/** Times and durations as the status page writes them: UTC, to the second, with how long ago. */
import { displayTime } from '../key-view.js';

/** "2026-12-07 06:44:44 UTC" (or displayTime's fallback for a time Date cannot hold). */
export function utc(ms: number): string {
  const iso = displayTime(ms);
  return /^\d{4}-\d\d-\d\dT/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : iso;
}

/** "3 min", "2 h", "5 days": the coarse size of a duration. */
export function span(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** Relative to `now`; a second of skew (a time noted while the page was being gathered) is still the past. */
export function ago(ms: number, now: number): string {
  return ms - now > 1000 ? `in ${span(ms - now)}` : `${span(Math.max(0, now - ms))} ago`;
}

/** An ISO 8601 text (from a report) as utc(), or the text itself when it is not a date. */
export function utcText(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : utc(ms);
}
