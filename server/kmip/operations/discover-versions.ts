import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { ProtocolVersionSchema } from '../model/messages.js';
import { many, struct } from '../schema.js';
import { SUPPORTED_VERSIONS, versionCode, versionParts } from '../version.js';
import { defineOperation } from './types.js';

const Payload = struct('Discover Versions Payload', { protocolVersions: many(Tag.ProtocolVersion, ProtocolVersionSchema) });

/**
 * KMIP 1.1 §4.26: every supported version, newest first; when the client lists its versions, only
 * those both support (still in our order of preference).
 */
export const discoverVersions = defineOperation({
  operation: Operation.DiscoverVersions,
  name: 'Discover Versions',
  since: 11,
  readOnly: true,
  request: Payload,
  response: Payload,
  async handle(_ctx, req) {
    const offered = new Set(req.protocolVersions.map((v) => versionCode(v.major, v.minor)));
    const versions = req.protocolVersions.length === 0 ? SUPPORTED_VERSIONS : SUPPORTED_VERSIONS.filter((v) => offered.has(v));
    return { protocolVersions: versions.map(versionParts) };
  },
});
