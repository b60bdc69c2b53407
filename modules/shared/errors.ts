/**
 * Errors raised by module constructs. The message starts with the construct path (aws-cdk's ValidationError
 * idea), so a bad prop names the exact place in the tree: "kmip-prod-us-south/network: zones must …".
 */
import type { IConstruct } from 'constructs';

const BRAND = Symbol.for('kmip-for-vmware.ModuleValidationError');

export class ModuleValidationError extends Error {
  override readonly name = 'ModuleValidationError';
  readonly code = 'MOD_ERR_INVALID';
  /** Path of the construct whose props were rejected. */
  readonly constructPath: string;

  constructor(message: string, scope: IConstruct) {
    super(`${scope.node.path}: ${message}`);
    this.constructPath = scope.node.path;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for a ModuleValidationError, also across copies of this module (no instanceof). */
  static isModuleValidationError(value: unknown): value is ModuleValidationError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
