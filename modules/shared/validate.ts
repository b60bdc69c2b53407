/** Small guards for construct props. Unresolved tokens (values known only at apply time) are never judged. */
import { Token } from 'cdktf';
import type { IConstruct } from 'constructs';
import { ModuleValidationError } from './errors.js';

const unresolved = (value: unknown): boolean => Token.isUnresolved(value);

export function intInRange(scope: IConstruct, name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || unresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ModuleValidationError(`${name} must be an integer from ${min} to ${max}, got ${value}`, scope);
  }
}

export function oneOf<T extends string>(scope: IConstruct, name: string, value: T | undefined, allowed: readonly T[]): void {
  if (value === undefined || unresolved(value)) return;
  if (!allowed.includes(value)) {
    throw new ModuleValidationError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, scope);
  }
}

/** `pattern` must be anchored (^…$): an unanchored one would accept "xx-private-only-yy". */
export function matches(scope: IConstruct, name: string, value: string | undefined, pattern: RegExp, what: string): void {
  if (!pattern.source.startsWith('^') || !pattern.source.endsWith('$')) throw new Error(`pattern for ${name} must be anchored: ${pattern}`);
  if (value === undefined || unresolved(value)) return;
  if (!pattern.test(value)) throw new ModuleValidationError(`${name} must be ${what}, got ${JSON.stringify(value)}`, scope);
}

export function check(scope: IConstruct, condition: boolean, message: string): void {
  if (!condition) throw new ModuleValidationError(message, scope);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
