/**
 * Set Endpoint Role (2.x §6.1.54): the client asks the server to take a role on this connection.
 * Client would turn the connection around — the server sending requests (Notify, Put, …) and the
 * client answering them — and this server sends no requests of its own, so it cannot take that role:
 * Feature Not Supported, one of the reasons the operation's error table lists. Server is the role it
 * already plays on every connection, so asking for it succeeds and changes nothing; the answer is the
 * role applied, as the response payload says it must be.
 */
import { featureNotSupported } from '../errors.js';
import { EndpointRole, Operation } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { enumeration, req, struct } from '../schema.js';
import { defineOperation } from './types.js';

const Request = struct('Set Endpoint Role Request Payload', { endpointRole: req(Tag.EndpointRole, enumeration('EndpointRole')) });
const Response = struct('Set Endpoint Role Response Payload', { endpointRole: req(Tag.EndpointRole, enumeration('EndpointRole')) });

export const setEndpointRole = defineOperation({
  operation: Operation.SetEndpointRole,
  name: 'Set Endpoint Role',
  since: 20,
  readOnly: true,
  request: Request,
  response: Response,
  async handle(_ctx, req) {
    if (req.endpointRole !== EndpointRole.Server) throw featureNotSupported('this server does not take the client role: it sends no requests of its own');
    return { endpointRole: EndpointRole.Server };
  },
});
