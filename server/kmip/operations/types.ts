import type { OperationContext } from '../context.js';
import type { StructSchema, Fields, Infer } from '../schema.js';
import type { KmipVersion } from '../version.js';

/** One KMIP operation: its payload schemas and its handler. Listed explicitly in operations/index.ts. */
export interface OperationHandler {
  readonly operation: number;
  readonly name: string;
  /** First protocol version that defines the operation. */
  readonly since: KmipVersion;
  /** True when the operation changes nothing (retried freely, never needs a commit). */
  readonly readOnly: boolean;
  readonly request: StructSchema<Fields>;
  readonly response: StructSchema<Fields>;
  handle(ctx: OperationContext, request: unknown): Promise<unknown>;
}

export function defineOperation<Q extends Fields, R extends Fields>(def: {
  operation: number;
  name: string;
  since?: KmipVersion;
  readOnly?: boolean;
  request: StructSchema<Q>;
  response: StructSchema<R>;
  handle(ctx: OperationContext, request: Infer<Q>): Promise<Infer<R>>;
}): OperationHandler {
  return {
    operation: def.operation,
    name: def.name,
    since: def.since ?? 10,
    readOnly: def.readOnly ?? false,
    request: def.request as unknown as StructSchema<Fields>,
    response: def.response as unknown as StructSchema<Fields>,
    handle: (ctx, request) => def.handle(ctx, request as Infer<Q>),
  };
}
