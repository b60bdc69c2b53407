import { missingData } from '../errors.js';
import { CryptographicUsageMask, Operation, ValidityIndicator } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { macEquals } from '../crypto/mac.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { bytes, enumeration, opt, req, struct, text } from '../schema.js';
import { ends, park, phaseOf, streamRequestFields } from './crypto-stream.js';
import { macStep } from './mac.js';
import { defineOperation } from './types.js';

const Request = struct('MAC Verify Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  macData: opt(Tag.MACData, bytes),
  ...streamRequestFields,
});

const Response = struct('MAC Verify Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  validityIndicator: opt(Tag.ValidityIndicator, enumeration('ValidityIndicator')),
  correlationValue: opt(Tag.CorrelationValue, bytes),
});

/** MAC Verify (1.2+): a MAC that does not match is a successful answer with Validity Indicator Invalid. */
export const macVerify = defineOperation({
  operation: Operation.MACVerify,
  name: 'MAC Verify',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    const state = await macStep(ctx, Operation.MACVerify, phase, req, 'process', CryptographicUsageMask.MACVerify);
    if (!ends(phase)) return { uniqueIdentifier: state.uid, correlationValue: park(ctx, Operation.MACVerify, phase, state) };
    if (req.macData === undefined) throw missingData('MAC Data is required');
    const valid = macEquals(state.mac.final(), req.macData);
    return { uniqueIdentifier: state.uid, validityIndicator: valid ? ValidityIndicator.Valid : ValidityIndicator.Invalid };
  },
});
