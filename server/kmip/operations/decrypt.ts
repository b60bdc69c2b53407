import { featureNotSupported, missingData } from '../errors.js';
import { CryptographicUsageMask, ObjectType, Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { rsaDecrypt } from '../crypto/asymmetric.js';
import type { SymmetricStream } from '../crypto/symmetric.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import { bytes, opt, req, struct, text } from '../schema.js';
import { resolveUid } from './common.js';
import { asymmetricKey, asymmetricParameters, loadKeyForUse, openSymmetricStream } from './crypto-key.js';
import { ends, park, phaseOf, resumeChecked, streamRequestFields } from './crypto-stream.js';
import { defineOperation } from './types.js';

const Request = struct('Decrypt Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  ivCounterNonce: opt(Tag.IVCounterNonce, bytes),
  ...streamRequestFields,
  authenticatedEncryptionAdditionalData: opt(Tag.AuthenticatedEncryptionAdditionalData, bytes, { since: 14 }),
  authenticatedEncryptionTag: opt(Tag.AuthenticatedEncryptionTag, bytes, { since: 14 }),
});

const Response = struct('Decrypt Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  data: opt(Tag.Data, bytes),
  correlationValue: opt(Tag.CorrelationValue, bytes),
});

interface DecryptState {
  readonly uid: string;
  readonly stream: SymmetricStream;
}

const EMPTY = new Uint8Array(0);

/**
 * Decrypt (1.2+) with a Symmetric Key or an RSA Private Key. A missing IV is Invalid Message and a
 * tag that does not verify is Cryptographic Failure, as the OASIS test cases expect. Deactivated and
 * Compromised keys still decrypt (data protected earlier must stay readable).
 */
export const decrypt = defineOperation({
  operation: Operation.Decrypt,
  name: 'Decrypt',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    const data = req.data ?? EMPTY;
    let state: DecryptState;
    if (phase.kind === 'continue') {
      state = await resumeChecked<DecryptState>(ctx, Operation.Decrypt, phase, req.uniqueIdentifier, 'process', CryptographicUsageMask.Decrypt, data.length);
    } else {
      const uid = resolveUid(ctx, req.uniqueIdentifier);
      if (req.data === undefined && phase.kind === 'once') throw missingData('Data is required');
      const k = await loadKeyForUse(ctx, uid, 'process', CryptographicUsageMask.Decrypt, req.cryptographicParameters);
      if (k.obj.objectType === ObjectType.PrivateKey) {
        if (phase.kind !== 'once') throw featureNotSupported('RSA decryption cannot be streamed');
        const key = await asymmetricKey(ctx, k, ObjectType.PrivateKey);
        ctx.batch.idPlaceholder = uid;
        return { uniqueIdentifier: uid, data: rsaDecrypt(key, asymmetricParameters(k.params), data) };
      }
      const opened = await openSymmetricStream(ctx, k, { encrypting: false, streamed: phase.kind !== 'once', clientIv: req.ivCounterNonce, aad: req.authenticatedEncryptionAdditionalData });
      state = { uid, stream: opened.stream };
    }
    ctx.batch.idPlaceholder = state.uid;
    const out = state.stream.update(data);
    if (!ends(phase)) return { uniqueIdentifier: state.uid, data: out, correlationValue: park(ctx, Operation.Decrypt, phase, state) };
    const fin = state.stream.final(req.authenticatedEncryptionTag);
    return { uniqueIdentifier: state.uid, data: Buffer.concat([out, fin.data]) };
  },
});
