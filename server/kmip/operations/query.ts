import { ItemType } from '../../ttlv/index.js';
import { ObjectType, Operation, QueryFunction } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { enumeration, many, opt, raw, struct, text } from '../schema.js';
import { is2x } from '../version.js';
import { defineOperation } from './types.js';

const Request = struct('Query Request Payload', { queryFunctions: many(Tag.QueryFunction, enumeration('QueryFunction')) });
const Response = struct('Query Response Payload', {
  operations: many(Tag.Operation, enumeration('Operation')),
  objectTypes: many(Tag.ObjectType, enumeration('ObjectType')),
  vendorIdentification: opt(Tag.VendorIdentification, text),
  serverInformation: opt(Tag.ServerInformation, raw),
  applicationNamespaces: many(Tag.ApplicationNamespace, text),
});

/** Object types this server stores, in the order Query reports them. */
export const SUPPORTED_OBJECT_TYPES: readonly number[] = [ObjectType.SymmetricKey];

/**
 * Query reports exactly what this server does for the client's version; functions we have nothing
 * to say about are answered with nothing, as the spec allows.
 */
export const query = defineOperation({
  operation: Operation.Query,
  name: 'Query',
  readOnly: true,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const asked = new Set(req.queryFunctions);
    const info = ctx.deps.server;
    return {
      operations: asked.has(QueryFunction.QueryOperations) ? [...ctx.supportedOperations] : [],
      objectTypes: asked.has(QueryFunction.QueryObjects) ? [...SUPPORTED_OBJECT_TYPES] : [],
      vendorIdentification: asked.has(QueryFunction.QueryServerInformation) ? info.vendorIdentification : undefined,
      // 1.x leaves Server Information vendor-defined; only 2.x defines its fields, so 1.x clients get none.
      serverInformation:
        asked.has(QueryFunction.QueryServerInformation) && is2x(ctx.version)
          ? {
              tag: Tag.ServerInformation,
              type: ItemType.Structure,
              value: [
                { tag: Tag.ServerName, type: ItemType.TextString, value: info.vendorIdentification },
                { tag: Tag.ServerVersion, type: ItemType.TextString, value: info.serverVersion },
              ],
            }
          : undefined,
      applicationNamespaces: [],
    };
  },
});
