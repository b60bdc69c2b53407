import type { KeyObject } from 'node:crypto';
import { featureNotSupported, missingData } from '../errors.js';
import { CryptographicUsageMask, ObjectType, Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { planSignature, signData, type SignaturePlan } from '../crypto/asymmetric.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { bytes, opt, req, struct, text } from '../schema.js';
import { resolveUid } from './common.js';
import { Gathered } from './crypto-buffer.js';
import { asymmetricKey, asymmetricParameters, consumeUsage, loadKeyForUse } from './crypto-key.js';
import { ends, park, phaseOf, resumeChecked, streamRequestFields } from './crypto-stream.js';
import { defineOperation } from './types.js';

const Request = struct('Sign Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  digestedData: opt(Tag.DigestedData, bytes, { since: 14 }),
  ...streamRequestFields,
});

const Response = struct('Sign Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  signatureData: opt(Tag.SignatureData, bytes),
  correlationValue: opt(Tag.CorrelationValue, bytes),
});

interface SignState {
  readonly uid: string;
  readonly key: KeyObject;
  readonly plan: SignaturePlan;
  readonly data: Gathered;
}

/** Sign (1.2+) with an RSA (PKCS#1 v1.5, PSS) or EC (ECDSA) Private Key; the signature covers all data sent. */
export const sign = defineOperation({
  operation: Operation.Sign,
  name: 'Sign',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    // Signing a digest the client computed needs raw RSA/ECDSA primitives node does not expose for every scheme.
    if (req.digestedData !== undefined) throw featureNotSupported('Digested Data is not supported: send the Data');
    let state: SignState;
    if (phase.kind === 'continue') {
      state = await resumeChecked<SignState>(ctx, Operation.Sign, phase, req.uniqueIdentifier, 'protect', CryptographicUsageMask.Sign, req.data?.length ?? 0);
    } else {
      const uid = resolveUid(ctx, req.uniqueIdentifier);
      if (req.data === undefined && phase.kind === 'once') throw missingData('Data is required');
      const k = await loadKeyForUse(ctx, uid, 'protect', CryptographicUsageMask.Sign, req.cryptographicParameters);
      await consumeUsage(ctx, k, req.data?.length ?? 0);
      const key = await asymmetricKey(ctx, k, ObjectType.PrivateKey);
      state = { uid, key, plan: planSignature(key, asymmetricParameters(k.params), true), data: new Gathered() };
    }
    ctx.batch.idPlaceholder = state.uid;
    if (req.data) state.data.add(req.data);
    if (!ends(phase)) return { uniqueIdentifier: state.uid, correlationValue: park(ctx, Operation.Sign, phase, state) };
    return { uniqueIdentifier: state.uid, signatureData: signData(state.key, state.plan, state.data.all()) };
  },
});
