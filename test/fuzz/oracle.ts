/**
 * What the server must do with an input. The bytes are framed the way the server frames them
 * (8-byte header, size limit), and every response is judged against the request it answers,
 * decoded with the server's own request decoder: a well-formed Response Message in the request's
 * version, one batch item per request item as far as the Batch Error Continuation Option lets it
 * get, Unique Batch Item IDs and Operations echoed, payloads that decode with the operation's own
 * response schema; an undecodable message gets one failed item without Operation; a client that is
 * not registered gets Permission Denied and nothing else.
 */
import { decodeTtlv, HEADER_SIZE, ItemType, padded } from '../../server/ttlv/index.js';
import { decodeRequest, type RequestLimits } from '../../server/kmip/message-codec.js';
import { BatchErrorContinuationOption, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { ResponseMessageSchema, type ResponseMessage } from '../../server/kmip/model/messages.js';
import { OPERATIONS } from '../../server/kmip/operations/index.js';
import type { Principal } from './mutators.js';

export interface Expectation {
  /** Whole messages the server reads, in order; each is answered by one response. */
  readonly frames: readonly Uint8Array[];
  /**
   * After them: nothing ('open': the connection stays usable), a header announcing more than the
   * size limit ('oversize': the server closes at once), or an incomplete message ('partial': we
   * end our side and the server must close).
   */
  readonly ending: 'open' | 'oversize' | 'partial';
}

/** Frames `bytes` exactly as server/ttlv/frame.ts does. */
export function expectFrames(bytes: Uint8Array, maxMessageSize: number): Expectation {
  const frames: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  while (p < bytes.length) {
    if (bytes.length - p < HEADER_SIZE) return { frames, ending: 'partial' };
    const total = HEADER_SIZE + padded(view.getUint32(p + 4));
    if (total > maxMessageSize) return { frames, ending: 'oversize' };
    if (bytes.length - p < total) return { frames, ending: 'partial' };
    frames.push(bytes.subarray(p, p + total));
    p += total;
  }
  return { frames, ending: 'open' };
}

export type Verdict = { readonly ok: true; readonly statuses: readonly number[]; readonly reasons: readonly number[] } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): Verdict => ({ ok: false, reason });
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) => (a === undefined || b === undefined ? a === b : Buffer.from(a).equals(Buffer.from(b)));
const HANDLERS = new Map(OPERATIONS.map((o) => [o.operation, o]));
const STATUSES = new Set<number>([ResultStatus.Success, ResultStatus.OperationFailed, ResultStatus.OperationUndone]);
/** The only answers a client that is not registered may get. */
const REFUSALS = new Set<number>([ResultReason.PermissionDenied, ResultReason.ResponseTooLarge]);

/** Judges one response against the message it answers. */
export function judgeResponse(frame: Uint8Array, response: Uint8Array, principal: Principal, limits: RequestLimits): Verdict {
  const request = decodeRequest(frame, limits);
  let message: ResponseMessage;
  try {
    const tree = decodeTtlv(response, { maxSize: 256 * 1024 * 1024, maxDepth: 64 });
    if (tree.tag !== Tag.ResponseMessage || tree.type !== ItemType.Structure) return fail(`not a Response Message (tag 0x${tree.tag.toString(16)})`);
    message = ResponseMessageSchema.decode(tree, { version: request.version });
  } catch (err) {
    return fail(`response does not decode as a ${request.version} Response Message: ${(err as Error).message}`);
  }
  const { header, batchItems: items } = message;
  if (header.protocolVersion.major !== request.wireVersion.major || header.protocolVersion.minor !== request.wireVersion.minor) {
    return fail(`response version ${header.protocolVersion.major}.${header.protocolVersion.minor} is not the request's ${request.wireVersion.major}.${request.wireVersion.minor}`);
  }
  if (items.length === 0 || header.batchCount !== items.length) return fail(`Batch Count ${header.batchCount} for ${items.length} batch items`);
  for (const [n, item] of items.entries()) {
    if (!STATUSES.has(item.resultStatus)) return fail(`item ${n}: Result Status ${item.resultStatus}`);
    const failed = item.resultStatus === ResultStatus.OperationFailed;
    if (failed !== (item.resultReason !== undefined)) return fail(`item ${n}: Result Reason ${item.resultReason} with status ${item.resultStatus}`);
    if (failed && item.responsePayload !== undefined) return fail(`item ${n}: a failed item carries a payload`);
    const handler = item.operation === undefined ? undefined : HANDLERS.get(item.operation);
    if (!failed && item.responsePayload !== undefined && handler) {
      try {
        handler.response.decode(item.responsePayload, { version: request.version });
      } catch (err) {
        return fail(`item ${n}: ${handler.name} response payload does not decode: ${(err as Error).message}`);
      }
    }
  }
  const statuses = items.map((i) => i.resultStatus);
  const reasons = items.flatMap((i) => (i.resultReason === undefined ? [] : [i.resultReason]));
  const ok: Verdict = { ok: true, statuses, reasons };

  if (!request.ok) {
    // The whole message is refused with one item that names no operation.
    if (items.length !== 1 || items[0]!.operation !== undefined || statuses[0] !== ResultStatus.OperationFailed) {
      return fail(`undecodable request (${request.error.clientMessage}) answered with ${items.length} items, status ${statuses[0]}, operation ${items[0]!.operation}`);
    }
    return ok;
  }
  const asked = request.items;
  if (items.length > asked.length) return fail(`${items.length} response items for ${asked.length} request items`);
  for (const [n, item] of items.entries()) {
    const want = asked[n]!;
    const operation = want.ok ? want.item.operation : want.operation;
    const id = want.ok ? want.item.uniqueBatchItemId : want.uniqueBatchItemId;
    if (item.operation !== operation) return fail(`item ${n}: Operation ${item.operation} answers Operation ${operation}`);
    if (!same(item.uniqueBatchItemId, id)) return fail(`item ${n}: Unique Batch Item ID not echoed`);
  }
  if (principal !== 'registered') {
    if (items.length !== asked.length || reasons.length !== items.length || reasons.some((r) => !REFUSALS.has(r))) {
      return fail(`a client that is not registered got statuses ${statuses.join(',')} reasons ${reasons.join(',')}`);
    }
    return ok;
  }
  return checkContinuation(request.header.batchErrorContinuationOption ?? BatchErrorContinuationOption.Stop, statuses, reasons, asked.length) ?? ok;
}

/** How far a batch may get under its Batch Error Continuation Option (KMIP 1.x §7.2, 2.x §8.2). */
function checkContinuation(mode: number, statuses: readonly number[], reasons: readonly number[], asked: number): Verdict | undefined {
  const n = statuses.length;
  const failedAt = statuses.indexOf(ResultStatus.OperationFailed);
  // Maximum Response Size, or an Undo batch whose commit failed, turns every item into a failure.
  if (statuses.every((s) => s === ResultStatus.OperationFailed) && (n === asked || reasons.every((r) => r === ResultReason.ResponseTooLarge))) return undefined;
  const shape = `mode ${mode}: ${n}/${asked} items, statuses ${statuses.join(',')}`;
  // The server reads any value but Stop and Undo (an extension value, 0x8xxxxxxx, included) as Continue.
  if (mode !== BatchErrorContinuationOption.Stop && mode !== BatchErrorContinuationOption.Undo) {
    return n === asked && !statuses.includes(ResultStatus.OperationUndone) ? undefined : fail(shape);
  }
  if (failedAt === -1) return n === asked && statuses.every((s) => s === ResultStatus.Success) ? undefined : fail(shape);
  // Stop and Undo end at the first failure; Undo marks what came before as undone.
  const before = mode === BatchErrorContinuationOption.Undo ? ResultStatus.OperationUndone : ResultStatus.Success;
  return failedAt === n - 1 && statuses.slice(0, -1).every((s) => s === before) ? undefined : fail(shape);
}
