import { featureNotSupported, missingData } from '../errors.js';
import { CryptographicUsageMask, ObjectType, Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { rsaEncrypt } from '../crypto/asymmetric.js';
import type { SymmetricStream } from '../crypto/symmetric.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { bytes, opt, req, struct, text } from '../schema.js';
import { resolveUid } from './common.js';
import { asymmetricKey, asymmetricParameters, consumeUsage, loadKeyForUse, openSymmetricStream } from './crypto-key.js';
import { ends, park, phaseOf, resumeChecked, streamRequestFields } from './crypto-stream.js';
import { defineOperation } from './types.js';

const Request = struct('Encrypt Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  ivCounterNonce: opt(Tag.IVCounterNonce, bytes),
  ...streamRequestFields,
  authenticatedEncryptionAdditionalData: opt(Tag.AuthenticatedEncryptionAdditionalData, bytes, { since: 14 }),
});

const Response = struct('Encrypt Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  data: opt(Tag.Data, bytes),
  ivCounterNonce: opt(Tag.IVCounterNonce, bytes),
  correlationValue: opt(Tag.CorrelationValue, bytes),
  authenticatedEncryptionTag: opt(Tag.AuthenticatedEncryptionTag, bytes, { since: 14 }),
});

interface EncryptState {
  readonly uid: string;
  readonly stream: SymmetricStream;
}

const EMPTY = new Uint8Array(0);

/**
 * Encrypt (1.2+) with a Symmetric Key (block, stream and AEAD modes; streamed over several requests)
 * or an RSA Public Key (OAEP, PKCS#1 v1.5). An IV the client did not send is generated and returned.
 */
export const encrypt = defineOperation({
  operation: Operation.Encrypt,
  name: 'Encrypt',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    const data = req.data ?? EMPTY;
    let state: EncryptState;
    let iv: Uint8Array | undefined;
    if (phase.kind === 'continue') {
      state = await resumeChecked<EncryptState>(ctx, Operation.Encrypt, phase, req.uniqueIdentifier, 'protect', CryptographicUsageMask.Encrypt, data.length);
    } else {
      const uid = resolveUid(ctx, req.uniqueIdentifier);
      if (req.data === undefined && phase.kind === 'once') throw missingData('Data is required');
      const k = await loadKeyForUse(ctx, uid, 'protect', CryptographicUsageMask.Encrypt, req.cryptographicParameters);
      await consumeUsage(ctx, k, data.length);
      if (k.obj.objectType === ObjectType.PublicKey) {
        if (phase.kind !== 'once') throw featureNotSupported('RSA encryption cannot be streamed');
        const key = await asymmetricKey(ctx, k, ObjectType.PublicKey);
        ctx.batch.idPlaceholder = uid;
        return { uniqueIdentifier: uid, data: rsaEncrypt(key, asymmetricParameters(k.params), data) };
      }
      const opened = await openSymmetricStream(ctx, k, { encrypting: true, streamed: phase.kind !== 'once', clientIv: req.ivCounterNonce, aad: req.authenticatedEncryptionAdditionalData });
      iv = opened.generatedIv;
      state = { uid, stream: opened.stream };
    }
    ctx.batch.idPlaceholder = state.uid;
    const out = state.stream.update(data);
    if (!ends(phase)) {
      const correlationValue = park(ctx, Operation.Encrypt, phase, state);
      return { uniqueIdentifier: state.uid, data: out, ivCounterNonce: iv, correlationValue };
    }
    const fin = state.stream.final();
    return { uniqueIdentifier: state.uid, data: Buffer.concat([out, fin.data]), ivCounterNonce: iv, authenticatedEncryptionTag: fin.tag };
  },
});
