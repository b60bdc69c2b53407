/**
 * The reference the handshake scenarios are read against: Node's TLS server alone, on the same
 * machine, key and TLS options as ours (RSA 2048, client certificates requested and checked against
 * the CA, session tickets), answering every message with one fixed Discover Versions response and
 * doing nothing else: no KMIP, no store, no log. What it reaches is the ceiling of any server built
 * on Node's TLS here. Started by bench/servers.ts: node bare-tls-server.js CERT KEY CA
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { Operation, ResultStatus } from '../server/kmip/generated/enums.js';
import { Tag } from '../server/kmip/generated/tags.js';
import { encodeResponse } from '../server/kmip/message-codec.js';
import { KMIP_CIPHERS } from '../server/net/ciphers.js';
import { FrameReader, ItemType } from '../server/ttlv/index.js';

const [certFile, keyFile, caFile] = process.argv.slice(2);
if (!certFile || !keyFile || !caFile) {
  process.stderr.write('usage: bare-tls-server CERT KEY CA\n');
  process.exit(2);
}
const response = encodeResponse({ major: 1, minor: 1 }, 11, Math.floor(Date.now() / 1000), [
  { operation: Operation.DiscoverVersions, resultStatus: ResultStatus.Success, responsePayload: { tag: Tag.ResponsePayload, type: ItemType.Structure, value: [] } },
]);
const server = createServer(
  {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    ca: readFileSync(caFile),
    minVersion: 'TLSv1.2',
    ciphers: KMIP_CIPHERS,
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
  },
  (socket) => {
    const framer = new FrameReader(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (let n = framer.push(chunk).length; n > 0; n--) socket.write(response);
    });
    socket.on('error', () => socket.destroy());
  },
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stderr.write(`listening on 127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
