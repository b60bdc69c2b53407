import type { KeyObject } from 'node:crypto';
import { featureNotSupported, missingData } from '../errors.js';
import { CryptographicUsageMask, ObjectType, Operation, ValidityIndicator } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { planSignature, verifyData, type SignaturePlan } from '../crypto/asymmetric.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { bytes, enumeration, opt, req, struct, text } from '../schema.js';
import { resolveUid } from './common.js';
import { Gathered } from './crypto-buffer.js';
import { asymmetricKey, asymmetricParameters, loadKeyForUse } from './crypto-key.js';
import { ends, park, phaseOf, resumeChecked, streamRequestFields } from './crypto-stream.js';
import { defineOperation } from './types.js';

const Request = struct('Signature Verify Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  digestedData: opt(Tag.DigestedData, bytes, { since: 14 }),
  signatureData: opt(Tag.SignatureData, bytes),
  ...streamRequestFields,
});

const Response = struct('Signature Verify Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  validityIndicator: opt(Tag.ValidityIndicator, enumeration('ValidityIndicator')),
  data: opt(Tag.Data, bytes),
  correlationValue: opt(Tag.CorrelationValue, bytes),
});

interface VerifyState {
  readonly uid: string;
  readonly key: KeyObject;
  readonly plan: SignaturePlan;
  readonly data: Gathered;
}

/**
 * Signature Verify (1.2+) with an RSA or EC Public Key. A signature that does not verify, under the
 * parameters in force, is a successful answer with Validity Indicator Invalid, never an error.
 */
export const signatureVerify = defineOperation({
  operation: Operation.SignatureVerify,
  name: 'Signature Verify',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    if (req.digestedData !== undefined) throw featureNotSupported('Digested Data is not supported: send the Data');
    let state: VerifyState;
    if (phase.kind === 'continue') {
      state = await resumeChecked<VerifyState>(ctx, Operation.SignatureVerify, phase, req.uniqueIdentifier, 'process', CryptographicUsageMask.Verify, 0);
    } else {
      const uid = resolveUid(ctx, req.uniqueIdentifier);
      if (req.data === undefined && phase.kind === 'once') throw missingData('Data is required');
      const k = await loadKeyForUse(ctx, uid, 'process', CryptographicUsageMask.Verify, req.cryptographicParameters);
      const key = await asymmetricKey(ctx, k, ObjectType.PublicKey);
      state = { uid, key, plan: planSignature(key, asymmetricParameters(k.params), false), data: new Gathered() };
    }
    ctx.batch.idPlaceholder = state.uid;
    if (req.data) state.data.add(req.data);
    if (!ends(phase)) return { uniqueIdentifier: state.uid, correlationValue: park(ctx, Operation.SignatureVerify, phase, state) };
    if (req.signatureData === undefined) throw missingData('Signature Data is required');
    const valid = verifyData(state.key, state.plan, state.data.all(), req.signatureData);
    return { uniqueIdentifier: state.uid, validityIndicator: valid ? ValidityIndicator.Valid : ValidityIndicator.Invalid };
  },
});
