/** Interop and Log (2.x): markers and notes for test harnesses and clients, kept in the audit log. */
import { Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { enumeration, opt, req, struct, text } from '../schema.js';
import { defineOperation } from './types.js';

const Empty = struct('Response Payload', {});
const MAX_NOTE = 1024;

/** Control characters would let a client forge log lines; long notes would flood them. */
function note(textValue: string): string {
  return textValue.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_NOTE);
}

export const interop = defineOperation({
  operation: Operation.Interop,
  name: 'Interop',
  since: 20,
  readOnly: true,
  request: struct('Interop Request Payload', {
    interopFunction: req(Tag.InteropFunction, enumeration('InteropFunction')),
    interopIdentifier: opt(Tag.InteropIdentifier, text),
  }),
  response: Empty,
  async handle(ctx, req) {
    ctx.auditNote = note(`interop ${req.interopFunction} ${req.interopIdentifier ?? ''}`.trim());
    return {};
  },
});

export const log = defineOperation({
  operation: Operation.Log,
  name: 'Log',
  since: 20,
  readOnly: true,
  request: struct('Log Request Payload', { logMessage: req(Tag.LogMessage, text) }),
  response: Empty,
  async handle(ctx, req) {
    ctx.auditNote = note(req.logMessage);
    return {};
  },
});
