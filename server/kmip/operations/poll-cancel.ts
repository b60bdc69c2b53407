/**
 * Poll and Cancel on a server that has no asynchronous operations: every operation completes before
 * its response is sent, none is ever answered Operation Pending (Query's Asynchronous Capability is
 * False), so no Asynchronous Correlation Value this server could be asked about names a pending or
 * completed operation. Both still answer as the spec says for such a value, rather than Operation
 * Not Supported, so a client that polls after another server's Pending gets a meaningful answer.
 */
import { KmipError } from '../errors.js';
import { CancellationResult, Operation, ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { bytes, enumeration, req, struct } from '../schema.js';
import { defineOperation } from './types.js';

/** The longest Asynchronous Correlation Value looked at; servers issue short opaque handles. */
export const MAX_CORRELATION_VALUE_BYTES = 256;

/**
 * A value no server could have issued (empty, or longer than any handle): 2.x has a reason for a
 * bad correlation value; 1.x has none, so Invalid Field.
 */
function checkCorrelationValue(value: Uint8Array): void {
  if (value.length === 0 || value.length > MAX_CORRELATION_VALUE_BYTES) {
    throw new KmipError(ResultReason.InvalidAsynchronousCorrelationValue, `Asynchronous Correlation Value must be 1 to ${MAX_CORRELATION_VALUE_BYTES} bytes`, {
      legacyReason: ResultReason.InvalidField,
    });
  }
}

const PollRequest = struct('Poll Request Payload', { asynchronousCorrelationValue: req(Tag.AsynchronousCorrelationValue, bytes) });
/** A completed Poll answers with the polled operation's own payload; this server never completes one. */
const PollResponse = struct('Poll Response Payload', {});

/**
 * Poll (1.4 §4.28, 2.1 §6.1.38) of a value that names no outstanding operation: 1.4 §11.29 says
 * Item Not Found; 2.1 §6.1.38.1 and §11.46 say Invalid Asynchronous Correlation Value, a 2.0 reason
 * a 1.x client must not see, hence the legacy reason.
 */
export const poll = defineOperation({
  operation: Operation.Poll,
  name: 'Poll',
  readOnly: true,
  request: PollRequest,
  response: PollResponse,
  async handle(_ctx, req) {
    checkCorrelationValue(req.asynchronousCorrelationValue);
    throw new KmipError(ResultReason.InvalidAsynchronousCorrelationValue, 'no outstanding operation has this Asynchronous Correlation Value', {
      legacyReason: ResultReason.ItemNotFound,
    });
  },
});

const CancelRequest = struct('Cancel Request Payload', { asynchronousCorrelationValue: req(Tag.AsynchronousCorrelationValue, bytes) });
const CancelResponse = struct('Cancel Response Payload', {
  asynchronousCorrelationValue: req(Tag.AsynchronousCorrelationValue, bytes),
  cancellationResult: req(Tag.CancellationResult, enumeration('CancellationResult')),
});

/**
 * Cancel (1.4 §4.27, 2.1 §6.1.5) SHALL answer with a Cancellation Result, and Unavailable is the one
 * defined for a value that matches no recently pending or completed operation (1.4 §4.27, 2.1
 * §11.7); 1.4 §11.28 lists no error for Cancel. A failure would carry no payload and so no
 * Cancellation Result, so 2.x gets Unavailable too; its Invalid Asynchronous Correlation Value
 * (2.1 §6.1.5 errors) is kept for values no server could have issued.
 */
export const cancel = defineOperation({
  operation: Operation.Cancel,
  name: 'Cancel',
  readOnly: true,
  request: CancelRequest,
  response: CancelResponse,
  async handle(_ctx, req) {
    checkCorrelationValue(req.asynchronousCorrelationValue);
    return { asynchronousCorrelationValue: req.asynchronousCorrelationValue, cancellationResult: CancellationResult.Unavailable };
  },
});
