/** The KMIP object state machine (1.x §3.22 / 2.x §4.57) and the date rules around it. */
import { State } from './generated/enums.js';

export type StateValue = (typeof State)[keyof typeof State];

/** States in which an object still holds its material and may be served by Get. */
/** States of objects that are not destroyed: what Locate finds by default, and where Templates are looked up. */
export const LIVE_STATES: readonly number[] = [State.PreActive, State.Active, State.Deactivated, State.Compromised];

export function holdsMaterial(state: number): boolean {
  return state !== State.Destroyed && state !== State.DestroyedCompromised;
}

/**
 * The state after time-driven transitions: a Pre-Active object whose Activation Date has passed is
 * Active, an Active one whose Deactivation Date has passed is Deactivated (transitions 4 and 6).
 */
export function effectiveState(state: number, activationDate: number | undefined, deactivationDate: number | undefined, nowSeconds: number): number {
  let s = state;
  if (s === State.PreActive && activationDate !== undefined && activationDate <= nowSeconds) s = State.Active;
  if (s === State.Active && deactivationDate !== undefined && deactivationDate <= nowSeconds) s = State.Deactivated;
  return s;
}

export const STATE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(State).map(([k, v]) => [v, k]));
