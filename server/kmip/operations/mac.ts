import { missingData } from '../errors.js';
import { CryptographicUsageMask, Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { MacStream, planMac } from '../crypto/mac.js';
import { STREAM_LIMITS, streamLimitReached } from '../crypto/streams.js';
import { CryptographicParametersSchema } from '../model/attribute-values.js';
import type { OperationContext } from '../context.js';
import { bytes, opt, req, struct, text } from '../schema.js';
import { resolveUid } from './common.js';
import { consumeUsage, loadKeyForUse, symmetricMaterial, type CryptoParams, type KeyUse } from './crypto-key.js';
import { ends, park, phaseOf, resumeChecked, streamRequestFields, type Phase } from './crypto-stream.js';
import { defineOperation } from './types.js';

const Request = struct('MAC Request Payload', {
  uniqueIdentifier: opt(Tag.UniqueIdentifier, text),
  cryptographicParameters: opt(Tag.CryptographicParameters, CryptographicParametersSchema),
  data: opt(Tag.Data, bytes),
  ...streamRequestFields,
});

const Response = struct('MAC Response Payload', {
  uniqueIdentifier: req(Tag.UniqueIdentifier, text),
  macData: opt(Tag.MACData, bytes),
  correlationValue: opt(Tag.CorrelationValue, bytes),
});

export interface MacState {
  readonly uid: string;
  readonly mac: MacStream;
}

/** Starts or resumes a MAC computation for MAC and MAC Verify, and feeds it this request's data. */
export async function macStep(
  ctx: OperationContext,
  operation: number,
  phase: Phase,
  req: { uniqueIdentifier?: string | undefined; cryptographicParameters?: CryptoParams | undefined; data?: Uint8Array | undefined },
  use: KeyUse,
  usageBit: number,
): Promise<MacState> {
  let state: MacState;
  if (phase.kind === 'continue') {
    state = await resumeChecked<MacState>(ctx, operation, phase, req.uniqueIdentifier, use, usageBit, req.data?.length ?? 0);
  } else {
    const uid = resolveUid(ctx, req.uniqueIdentifier);
    if (req.data === undefined && phase.kind === 'once') throw missingData('Data is required');
    const k = await loadKeyForUse(ctx, uid, use, usageBit, req.cryptographicParameters);
    if (use === 'protect') await consumeUsage(ctx, k, req.data?.length ?? 0);
    const material = await symmetricMaterial(ctx, k);
    try {
      const plan = planMac(material.algorithm, { algorithm: k.params.cryptographicAlgorithm, mode: k.params.blockCipherMode, hashing: k.params.hashingAlgorithm });
      state = { uid, mac: new MacStream(plan, material.key) };
    } finally {
      material.key.fill(0);
    }
  }
  ctx.batch.idPlaceholder = state.uid;
  if (req.data) {
    if (state.mac.buffered + req.data.length > STREAM_LIMITS.maxBufferedBytes) throw streamLimitReached('a streamed CMAC may gather at most 1 MiB');
    state.mac.update(req.data);
  }
  return state;
}

/** MAC (1.2+): HMAC with an HMAC key (or the algorithm its parameters name), CMAC with an AES key. */
export const mac = defineOperation({
  operation: Operation.MAC,
  name: 'MAC',
  since: 12,
  request: Request,
  response: Response,
  async handle(ctx, req) {
    const phase = phaseOf(req);
    const state = await macStep(ctx, Operation.MAC, phase, req, 'protect', CryptographicUsageMask.MACGenerate);
    if (!ends(phase)) return { uniqueIdentifier: state.uid, correlationValue: park(ctx, Operation.MAC, phase, state) };
    return { uniqueIdentifier: state.uid, macData: state.mac.final() };
  },
});
