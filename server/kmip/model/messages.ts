/** KMIP request/response messages: headers and batch items (1.x §7, 2.x §8), declared once for every version. */
import { Tag } from '../generated/tags.js';
import {
  anyEnumeration,
  boolean,
  bytes,
  dateTime,
  enumeration,
  integer,
  many,
  opt,
  raw,
  req,
  struct,
  text,
  type InferStruct,
} from '../schema.js';

export const ProtocolVersionSchema = struct('Protocol Version', {
  major: req(Tag.ProtocolVersionMajor, integer),
  minor: req(Tag.ProtocolVersionMinor, integer),
});
export type ProtocolVersion = InferStruct<typeof ProtocolVersionSchema>;

export const CredentialSchema = struct('Credential', {
  credentialType: req(Tag.CredentialType, enumeration('CredentialType')),
  credentialValue: req(Tag.CredentialValue, raw),
});

export const AuthenticationSchema = struct('Authentication', {
  credentials: many(Tag.Credential, CredentialSchema),
});

export const MessageExtensionSchema = struct('Message Extension', {
  vendorIdentification: req(Tag.VendorIdentification, text),
  criticalityIndicator: req(Tag.CriticalityIndicator, boolean),
  vendorExtension: req(Tag.VendorExtension, raw),
});
export type MessageExtension = InferStruct<typeof MessageExtensionSchema>;

export const RequestHeaderSchema = struct('Request Header', {
  protocolVersion: req(Tag.ProtocolVersion, ProtocolVersionSchema),
  maximumResponseSize: opt(Tag.MaximumResponseSize, integer),
  clientCorrelationValue: opt(Tag.ClientCorrelationValue, text, { since: 14 }),
  serverCorrelationValue: opt(Tag.ServerCorrelationValue, text, { since: 14 }),
  asynchronousIndicator: opt(Tag.AsynchronousIndicator, boolean, { until: 14 }),
  asynchronousIndicatorEnum: opt(Tag.AsynchronousIndicator, enumeration('AsynchronousIndicator'), { since: 20 }),
  attestationCapableIndicator: opt(Tag.AttestationCapableIndicator, boolean, { since: 12 }),
  attestationTypes: many(Tag.AttestationType, enumeration('AttestationType'), { since: 12 }),
  authentication: opt(Tag.Authentication, AuthenticationSchema),
  batchErrorContinuationOption: opt(Tag.BatchErrorContinuationOption, enumeration('BatchErrorContinuationOption')),
  batchOrderOption: opt(Tag.BatchOrderOption, boolean),
  timeStamp: opt(Tag.TimeStamp, dateTime),
  batchCount: req(Tag.BatchCount, integer),
});
export type RequestHeader = InferStruct<typeof RequestHeaderSchema>;

/**
 * A request batch item with its payload still raw: the operation's own schema decodes it later, so a
 * bad payload fails that item only. Operation is a plain integer here so an unknown operation can be
 * answered with Operation Not Supported rather than rejected as a malformed message.
 */
export const RequestBatchItemSchema = struct('Request Batch Item', {
  operation: req(Tag.Operation, anyEnumeration),
  ephemeral: opt(Tag.Ephemeral, boolean, { since: 20 }),
  uniqueBatchItemId: opt(Tag.UniqueBatchItemID, bytes),
  requestPayload: opt(Tag.RequestPayload, raw),
  messageExtension: opt(Tag.MessageExtension, MessageExtensionSchema),
});
export type RequestBatchItem = InferStruct<typeof RequestBatchItemSchema>;

export const ResponseHeaderSchema = struct('Response Header', {
  protocolVersion: req(Tag.ProtocolVersion, ProtocolVersionSchema),
  timeStamp: req(Tag.TimeStamp, dateTime),
  nonce: opt(Tag.Nonce, raw, { since: 12 }),
  serverHashedPassword: opt(Tag.ServerHashedPassword, bytes, { since: 21 }),
  attestationTypes: many(Tag.AttestationType, enumeration('AttestationType'), { since: 12 }),
  clientCorrelationValue: opt(Tag.ClientCorrelationValue, text, { since: 14 }),
  serverCorrelationValue: opt(Tag.ServerCorrelationValue, text, { since: 14 }),
  batchCount: req(Tag.BatchCount, integer),
});
export type ResponseHeader = InferStruct<typeof ResponseHeaderSchema>;

export const ResponseBatchItemSchema = struct('Response Batch Item', {
  operation: opt(Tag.Operation, anyEnumeration),
  uniqueBatchItemId: opt(Tag.UniqueBatchItemID, bytes),
  resultStatus: req(Tag.ResultStatus, enumeration('ResultStatus')),
  resultReason: opt(Tag.ResultReason, enumeration('ResultReason')),
  resultMessage: opt(Tag.ResultMessage, text),
  asynchronousCorrelationValue: opt(Tag.AsynchronousCorrelationValue, bytes),
  responsePayload: opt(Tag.ResponsePayload, raw),
  messageExtension: opt(Tag.MessageExtension, MessageExtensionSchema),
});
export type ResponseBatchItem = InferStruct<typeof ResponseBatchItemSchema>;

export const RequestMessageSchema = struct('Request Message', {
  header: req(Tag.RequestHeader, RequestHeaderSchema),
  batchItems: many(Tag.BatchItem, RequestBatchItemSchema),
});
export type RequestMessage = InferStruct<typeof RequestMessageSchema>;

export const ResponseMessageSchema = struct('Response Message', {
  header: req(Tag.ResponseHeader, ResponseHeaderSchema),
  batchItems: many(Tag.BatchItem, ResponseBatchItemSchema),
});
export type ResponseMessage = InferStruct<typeof ResponseMessageSchema>;
