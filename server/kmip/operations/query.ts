import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { DestroyAction, ObjectType, Operation, ProfileName, QueryFunction } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { REGISTERABLE_TYPES } from '../objects/registration.js';
import { enumeration, many, opt, raw, struct, text } from '../schema.js';
import { is2x, type KmipVersion } from '../version.js';
import { defineOperation } from './types.js';

const Request = struct('Query Request Payload', { queryFunctions: many(Tag.QueryFunction, enumeration('QueryFunction')) });
const Response = struct('Query Response Payload', {
  operations: many(Tag.Operation, enumeration('Operation')),
  objectTypes: many(Tag.ObjectType, enumeration('ObjectType')),
  vendorIdentification: opt(Tag.VendorIdentification, text),
  serverInformation: opt(Tag.ServerInformation, raw),
  applicationNamespaces: many(Tag.ApplicationNamespace, text),
  profileInformation: many(Tag.ProfileInformation, raw, { since: 13 }),
  capabilityInformation: many(Tag.CapabilityInformation, raw, { since: 13 }),
});

/** Object types this server stores, in the order Query reports them. */
export const SUPPORTED_OBJECT_TYPES: readonly number[] = [ObjectType.SymmetricKey, ...REGISTERABLE_TYPES.filter((t) => t !== ObjectType.SymmetricKey)];

/**
 * The profiles whose mandatory test cases the test suite runs (test/conformance), per version:
 * claiming one is a promise, so nothing here is untested.
 */
function profiles(version: KmipVersion): number[] {
  if (version >= 20) return [ProfileName.BaselineServer, ProfileName.SymmetricKeyLifecycleServer];
  if (version === 14) return [ProfileName.BaselineServerBasicKMIPV1_4, ProfileName.SymmetricKeyLifecycleServerKMIPV1_4, ProfileName.SymmetricKeyFoundryServerKMIPV1_4];
  if (version === 13) return [ProfileName.BaselineServerTLSV1_2KMIPV1_3, ProfileName.SymmetricKeyLifecycleServerKMIPV1_3];
  return [];
}

const item = (tag: number, type: TtlvItem['type'], value: unknown): TtlvItem => ({ tag, type, value }) as TtlvItem;

function profileInformation(version: KmipVersion, major: number, minor: number): TtlvItem[] {
  return profiles(version).map((name) =>
    item(Tag.ProfileInformation, ItemType.Structure, [
      item(Tag.ProfileName, ItemType.Enumeration, name),
      ...(version >= 20
        ? [item(Tag.ProfileVersion, ItemType.Structure, [item(Tag.ProfileVersionMajor, ItemType.Integer, major), item(Tag.ProfileVersionMinor, ItemType.Integer, minor)])]
        : []),
    ]),
  );
}

function capabilityInformation(version: KmipVersion): TtlvItem {
  return item(Tag.CapabilityInformation, ItemType.Structure, [
    item(Tag.StreamingCapability, ItemType.Boolean, false),
    item(Tag.AsynchronousCapability, ItemType.Boolean, false),
    item(Tag.AttestationCapability, ItemType.Boolean, false),
    ...(version >= 14 ? [item(Tag.BatchUndoCapability, ItemType.Boolean, true), item(Tag.BatchContinueCapability, ItemType.Boolean, true)] : []),
    // Destroy removes the wrapped material and keeps the metadata (Get Attributes still answers).
    item(Tag.DestroyAction, ItemType.Enumeration, DestroyAction.KeyMaterialDeleted),
  ]);
}

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
    const major = Math.floor(ctx.version / 10);
    return {
      operations: asked.has(QueryFunction.QueryOperations) ? [...ctx.supportedOperations] : [],
      objectTypes: asked.has(QueryFunction.QueryObjects) ? [...SUPPORTED_OBJECT_TYPES] : [],
      vendorIdentification: asked.has(QueryFunction.QueryServerInformation) ? info.vendorIdentification : undefined,
      // 1.x leaves Server Information vendor-defined; only 2.x defines its fields, so 1.x clients get none.
      serverInformation:
        asked.has(QueryFunction.QueryServerInformation) && is2x(ctx.version)
          ? item(Tag.ServerInformation, ItemType.Structure, [item(Tag.ServerName, ItemType.TextString, info.vendorIdentification), item(Tag.ServerVersion, ItemType.TextString, info.serverVersion)])
          : undefined,
      // We support no application namespaces: an empty answer is the precise one.
      applicationNamespaces: [],
      profileInformation: asked.has(QueryFunction.QueryProfiles) ? profileInformation(ctx.version, major, ctx.version % 10) : [],
      capabilityInformation: asked.has(QueryFunction.QueryCapabilities) && ctx.version >= 13 ? [capabilityInformation(ctx.version)] : [],
    };
  },
});
