import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { DestroyAction, ObjectType, Operation, ProfileName, QueryFunction } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { REGISTERABLE_TYPES } from '../objects/registration.js';
import { enumeration, many, opt, raw, struct, text } from '../schema.js';
import { is2x, type KmipVersion } from '../version.js';
import { objectTypeExistsIn } from '../objects/object-type-versions.js';
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

/** Those the client's version defines: PGP Key from 1.2, Template up to 1.4 (it is gone in 2.0), Certificate Request from 2.0. */
function supportedObjectTypes(version: KmipVersion): number[] {
  return SUPPORTED_OBJECT_TYPES.filter((t) => objectTypeExistsIn(version, t));
}

/**
 * The server profiles claimed for 1.4 and 2.x clients. Claiming one is a promise, so each names the
 * OASIS mandatory test cases that prove it (`oasis`: the case-name prefix, e.g. "AKLC-M" for
 * AKLC-M-1-14 …), all of which pass in test/conformance/oasis (a unit test holds this table to
 * expected.json). 1.4 has no Baseline test-case files: test/conformance/bl.test.ts proves that one.
 * The HTTPS, JSON and XML profiles only when the HTTPS port serves those encodings. Not claimed though
 * their cases pass: PKCS#11 Server (the PKCS#11 operation answers as a module with no slots, which
 * no PKCS#11 client can use) and Quantum Safe Server (its attributes are refused as unsupported).
 */
export const CLAIMED_PROFILES: ReadonlyArray<{ readonly v14?: number; readonly v2x?: number; readonly oasis: string | undefined; readonly https?: true }> = [
  { v14: ProfileName.BaselineServerBasicKMIPV1_4, v2x: ProfileName.BaselineServer, oasis: 'BL-M' },
  { v14: ProfileName.SymmetricKeyLifecycleServerKMIPV1_4, v2x: ProfileName.SymmetricKeyLifecycleServer, oasis: 'SKLC-M' },
  { v14: ProfileName.SymmetricKeyFoundryServerKMIPV1_4, v2x: ProfileName.SymmetricKeyFoundryServer, oasis: 'SKFF-M' },
  { v14: ProfileName.AsymmetricKeyLifecycleServerKMIPV1_4, v2x: ProfileName.AsymmetricKeyLifecycleServer, oasis: 'AKLC-M' },
  { v14: ProfileName.BasicCryptographicServerKMIPV1_4, v2x: ProfileName.BasicCryptographicServer, oasis: 'CS-BC-M' },
  { v14: ProfileName.AdvancedCryptographicServerKMIPV1_4, v2x: ProfileName.AdvancedCryptographicServer, oasis: 'CS-AC-M' },
  { v14: ProfileName.RNGCryptographicServerKMIPV1_4, v2x: ProfileName.RNGCryptographicServer, oasis: 'CS-RNG-M' },
  { v14: ProfileName.OpaqueManagedObjectStoreServerKMIPV1_4, v2x: ProfileName.OpaqueManagedObjectStoreServer, oasis: 'OMOS-M' },
  { v14: ProfileName.StorageArrayWithSelfEncryptingDriveServerKMIPV1_4, v2x: ProfileName.StorageArrayWithSelfEncryptingDriveServer, oasis: 'SASED-M' },
  { v14: ProfileName.TapeLibraryServerKMIPV1_4, v2x: ProfileName.TapeLibraryServer, oasis: 'TL-M' },
  { v14: ProfileName.SuiteBMinLOS_128ServerKMIPV1_4, oasis: 'SUITEB_128-M' },
  { v14: ProfileName.SuiteBMinLOS_192ServerKMIPV1_4, oasis: 'SUITEB_192-M' },
  { v2x: ProfileName.AESXTSServer, oasis: 'AX-M' },
  { v14: ProfileName.HTTPSServerKMIPV1_4, v2x: ProfileName.HTTPSServer, oasis: 'MSGENC-HTTPS-M', https: true },
  { v14: ProfileName.JSONServerKMIPV1_4, v2x: ProfileName.JSONServer, oasis: 'MSGENC-JSON-M', https: true },
  { v14: ProfileName.XMLServerKMIPV1_4, v2x: ProfileName.XMLServer, oasis: 'MSGENC-XML-M', https: true },
];

/** The profile names Query reports to a client of `version`. */
export function profiles(version: KmipVersion, https: boolean): number[] {
  const offered = CLAIMED_PROFILES.filter((p) => https || !p.https);
  if (version >= 20) return offered.flatMap((p) => (p.v2x === undefined ? [] : [p.v2x]));
  if (version === 14) return offered.flatMap((p) => (p.v14 === undefined ? [] : [p.v14]));
  if (version === 13) return [ProfileName.BaselineServerTLSV1_2KMIPV1_3, ProfileName.SymmetricKeyLifecycleServerKMIPV1_3];
  return [];
}

const item = (tag: number, type: TtlvItem['type'], value: unknown): TtlvItem => ({ tag, type, value }) as TtlvItem;

function profileInformation(version: KmipVersion, major: number, minor: number, https: boolean): TtlvItem[] {
  return profiles(version, https).map((name) =>
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
      objectTypes: asked.has(QueryFunction.QueryObjects) ? supportedObjectTypes(ctx.version) : [],
      vendorIdentification: asked.has(QueryFunction.QueryServerInformation) ? info.vendorIdentification : undefined,
      // Only 2.x defines Server Information's fields; 1.x leaves its content to the vendor, so 1.2–1.4
      // clients get it empty (the 1.4 profile test cases expect the structure) and 1.0/1.1 clients get
      // none, exactly what vCenter (1.1) has always seen.
      serverInformation: !asked.has(QueryFunction.QueryServerInformation) || ctx.version < 12
        ? undefined
        : is2x(ctx.version)
          ? item(Tag.ServerInformation, ItemType.Structure, [item(Tag.ServerName, ItemType.TextString, info.vendorIdentification), item(Tag.ServerVersion, ItemType.TextString, info.serverVersion)])
          : item(Tag.ServerInformation, ItemType.Structure, []),
      // We support no application namespaces: an empty answer is the precise one.
      applicationNamespaces: [],
      profileInformation: asked.has(QueryFunction.QueryProfiles) ? profileInformation(ctx.version, major, ctx.version % 10, info.messageEncodings === true) : [],
      capabilityInformation: asked.has(QueryFunction.QueryCapabilities) && ctx.version >= 13 ? [capabilityInformation(ctx.version)] : [],
    };
  },
});
