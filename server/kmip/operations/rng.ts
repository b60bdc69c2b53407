import { randomFillSync } from 'node:crypto';
import { invalidField } from '../errors.js';
import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { bytes, integer, req, struct } from '../schema.js';
import { defineOperation } from './types.js';

/** The most random bytes one RNG Retrieve hands out. */
export const MAX_RNG_BYTES = 64 * 1024;

const RetrieveRequest = struct('RNG Retrieve Request Payload', { dataLength: req(Tag.DataLength, integer) });
const RetrieveResponse = struct('RNG Retrieve Response Payload', { data: req(Tag.Data, bytes) });

/** RNG Retrieve (1.2+): bytes from the operating system's CSPRNG through OpenSSL. */
export const rngRetrieve = defineOperation({
  operation: Operation.RNGRetrieve,
  name: 'RNG Retrieve',
  since: 12,
  readOnly: true,
  request: RetrieveRequest,
  response: RetrieveResponse,
  async handle(_ctx, req) {
    if (!Number.isInteger(req.dataLength) || req.dataLength < 1 || req.dataLength > MAX_RNG_BYTES) {
      throw invalidField(`Data Length must be from 1 to ${MAX_RNG_BYTES}`);
    }
    return { data: new Uint8Array(randomFillSync(Buffer.alloc(req.dataLength))) };
  },
});

const SeedRequest = struct('RNG Seed Request Payload', { data: req(Tag.Data, bytes) });
const SeedResponse = struct('RNG Seed Response Payload', { dataLength: req(Tag.DataLength, integer) });

/**
 * RNG Seed (1.2+). node's CSPRNG (OpenSSL's, fed by the kernel) cannot be seeded from here, and a
 * client-chosen seed is not something to mix into a key server's randomness anyway. The spec lets a
 * server report how much seed it accepted, so the honest answer is 0 bytes (OASIS CS-RNG-O-3 shows
 * exactly this). The seed itself is dropped unread.
 */
export const rngSeed = defineOperation({
  operation: Operation.RNGSeed,
  name: 'RNG Seed',
  since: 12,
  readOnly: true,
  request: SeedRequest,
  response: SeedResponse,
  async handle() {
    return { dataLength: 0 };
  },
});
