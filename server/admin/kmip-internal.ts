/**
 * Runs one KMIP operation for a tenant through the batch executor, so management actions on keys
 * obey exactly the rules KMIP clients get (state machine, dates, audit lines).
 */
import type { BatchExecutor } from '../kmip/batch.js';
import type { Principal } from '../kmip/context.js';
import { ResultStatus } from '../kmip/generated/enums.js';
import { Tag } from '../kmip/generated/tags.js';
import { reasonName } from '../kmip/errors.js';
import { RequestMessageSchema, ResponseMessageSchema } from '../kmip/model/messages.js';
import { OPERATIONS } from '../kmip/operations/index.js';
import { decodeTtlv, encodeTtlv } from '../ttlv/index.js';

const VERSION = 14;

export async function runKmipOperation(
  executor: BatchExecutor,
  principal: Principal,
  operation: number,
  payload: Record<string, unknown>,
): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; reason: string; message: string }> {
  const handler = OPERATIONS.find((o) => o.operation === operation)!;
  const ctx = { version: VERSION };
  const request = encodeTtlv(
    RequestMessageSchema.encode(
      Tag.RequestMessage,
      {
        header: { protocolVersion: { major: 1, minor: 4 }, attestationTypes: [], batchCount: 1 },
        batchItems: [{ operation, requestPayload: handler.request.encode(Tag.RequestPayload, payload as never, ctx) }],
      },
      ctx,
    ),
  );
  const response = ResponseMessageSchema.decode(decodeTtlv(await executor.execute(request, principal)), ctx);
  const item = response.batchItems[0]!;
  if (item.resultStatus !== ResultStatus.Success) {
    return { ok: false, reason: reasonName(item.resultReason ?? 0), message: item.resultMessage ?? '' };
  }
  return { ok: true, payload: item.responsePayload ? (handler.response.decode(item.responsePayload, ctx) as Record<string, unknown>) : {} };
}
