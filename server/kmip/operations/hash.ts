import { createHash, type Hash } from 'node:crypto';
import { KmipError, missingData } from '../errors.js';
import { Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { digestName } from '../crypto/digests.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { bytes, opt, req, struct } from '../schema.js';
import { ends, park, phaseOf, resume, streamRequestFields } from './crypto-stream.js';
import { defineOperation } from './types.js';

const Request = struct('Hash Request Payload', {
  cryptographicParameters: req(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  ...streamRequestFields,
});

const Response = struct('Hash Response Payload', {
  data: opt(Tag.Data, bytes),
  correlationValue: opt(Tag.CorrelationValue, bytes),
});

/** Hash (1.2+): a digest of the data, no key involved; streamed over several requests if the client wishes. */
export const hash = defineOperation({
  operation: Operation.Hash,
  name: 'Hash',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    let state: Hash;
    if (phase.kind === 'continue') state = resume<Hash>(ctx, Operation.Hash, phase);
    else {
      if (req.data === undefined && phase.kind === 'once') throw missingData('Data is required');
      const algorithm = req.cryptographicParameters.hashingAlgorithm;
      if (algorithm === undefined) throw new KmipError(ResultReason.BadCryptographicParameters, 'Hashing Algorithm is required', { legacyReason: ResultReason.InvalidField });
      state = createHash(digestName(algorithm));
    }
    if (req.data) state.update(req.data);
    if (!ends(phase)) return { correlationValue: park(ctx, Operation.Hash, phase, state) };
    return { data: state.digest() };
  },
});
