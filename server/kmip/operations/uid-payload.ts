import { Tag } from '../generated/tags.js';
import { opt, req, struct, text } from '../schema.js';

/** The request payload of operations that take only an (optional) Unique Identifier. */
export const UidRequest = struct('Request Payload', { uniqueIdentifier: opt(Tag.UniqueIdentifier, text) });
/** The response payload of operations that answer with the Unique Identifier only. */
export const UidResponse = struct('Response Payload', { uniqueIdentifier: req(Tag.UniqueIdentifier, text) });
