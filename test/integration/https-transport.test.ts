/**
 * KMIP over HTTPS (KMIP Profiles "HTTPS"): the real server with https.enabled, real HTTPS requests
 * from node:https with client certificates. The three body encodings answer as the TTLV port does,
 * for the same tenant; unregistered clients are refused per request; bad requests get HTTP errors
 * and bad messages an Invalid Message response, never a crash.
 */
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTtlv, ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { Operation, QueryFunction, ResultReason, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { decodeJson, encodeJson } from '../../server/kmip/json/index.js';
import { decodeXml, encodeXml } from '../../server/kmip/xml/index.js';
import { enumAttr, intAttr, nameAttr } from '../support/attributes.js';
import { encodeRequest, type ItemSpec, type TestKmipClient } from '../support/kmip-client.js';
import type { TestClientCert } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { postKmip, type HttpsTarget } from '../conformance/oasis/https-client.js';

const MAX_MESSAGE = 16 * 1024;
const ENCODINGS = [
  ['ttlv', 'application/octet-stream'],
  ['xml', 'text/xml'],
  ['json', 'application/json'],
] as const;
type Encoding = (typeof ENCODINGS)[number][0];

let server: TestServer;
let alice: TestClientCert;
let ttlvClient: TestKmipClient;

beforeAll(async () => {
  server = await startTestServer({ limits: { maxMessageSize: MAX_MESSAGE }, config: { https: { enabled: true, host: '127.0.0.1', port: 0 } } });
  alice = (await server.tenant('alice')).cert;
  ttlvClient = await server.connect(alice);
});
afterAll(() => server.close());

const target = (cert: TestClientCert | undefined): HttpsTarget => ({ port: server.app.httpsPort!, ca: server.pki.ca.certificatePem, cert });
const contentTypeOf = (encoding: Encoding) => ENCODINGS.find(([e]) => e === encoding)![1];

function bodyIn(encoding: Encoding, request: Uint8Array): Uint8Array | string {
  if (encoding === 'ttlv') return request;
  const tree = decodeTtlv(request);
  return encoding === 'xml' ? encodeXml(tree) : encodeJson(tree);
}

function treeOf(encoding: Encoding, body: Buffer): TtlvItem {
  return encoding === 'ttlv' ? decodeTtlv(body) : encoding === 'xml' ? decodeXml(body.toString('utf8')) : decodeJson(body.toString('utf8'));
}

/** One request over HTTPS in the encoding; the answer as a TTLV tree, after checking status and Content-Type. */
async function overHttps(encoding: Encoding, request: Uint8Array, cert: TestClientCert | 'no certificate' = alice): Promise<TtlvItem> {
  const answer = await postKmip(target(cert === 'no certificate' ? undefined : cert), bodyIn(encoding, request), contentTypeOf(encoding));
  expect(answer.status).toBe(200);
  expect(answer.contentType?.split(';')[0]).toBe(contentTypeOf(encoding));
  return treeOf(encoding, answer.body);
}

/** The time stamp is the only part of an answer that differs between two identical requests. */
function withoutTimeStamp(message: TtlvItem): TtlvItem {
  if (message.type !== ItemType.Structure) return message;
  return { ...message, value: message.value.filter((c) => c.tag !== Tag.TimeStamp).map(withoutTimeStamp) };
}

const children = (item: TtlvItem | undefined): TtlvItem[] => (item?.type === ItemType.Structure ? [...item.value] : []);
const child = (item: TtlvItem | undefined, tag: number) => children(item).find((c) => c.tag === tag);
const firstItem = (message: TtlvItem) => child(message, Tag.BatchItem);

function result(message: TtlvItem): { status: unknown; reason: unknown } {
  const item = firstItem(message);
  return { status: child(item, Tag.ResultStatus)?.value, reason: child(item, Tag.ResultReason)?.value };
}

const request = (items: readonly ItemSpec[]) => encodeRequest(items, { version: 14 });
const QUERY = request([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations, QueryFunction.QueryObjects] } }]);

describe('KMIP over HTTPS', () => {
  it.each(ENCODINGS)('%s: a Query answers exactly as on the TTLV port', async (encoding) => {
    const viaTtlvPort = decodeTtlv(await ttlvClient.send(QUERY));
    expect(result(viaTtlvPort).status).toBe(ResultStatus.Success);
    expect(withoutTimeStamp(await overHttps(encoding, QUERY))).toEqual(withoutTimeStamp(viaTtlvPort));
  });

  it('a key created over JSON is the same tenant\'s key over XML, HTTPS TTLV and the TTLV port', async () => {
    const created = await overHttps(
      'json',
      request([{ operation: Operation.Create, payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), nameAttr('over-https')] } } }]),
    );
    expect(result(created).status).toBe(ResultStatus.Success);
    const uid = child(child(firstItem(created), Tag.ResponsePayload), Tag.UniqueIdentifier)?.value as string;
    expect(uid).toMatch(/.+/);
    const getAttributes = request([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: ['Name', 'Cryptographic Length', 'State'], attributeReferences: [] } }]);
    const viaTtlvPort = withoutTimeStamp(decodeTtlv(await ttlvClient.send(getAttributes)));
    expect(result(viaTtlvPort).status).toBe(ResultStatus.Success);
    for (const encoding of ['xml', 'ttlv', 'json'] as const) expect(withoutTimeStamp(await overHttps(encoding, getAttributes))).toEqual(viaTtlvPort);
  });

  it.each(ENCODINGS)('%s: an unregistered certificate, or none, is refused per request with Permission Denied', async (encoding) => {
    const stranger = server.pki.client('stranger');
    for (const cert of [stranger, 'no certificate'] as const) {
      expect(result(await overHttps(encoding, QUERY, cert))).toEqual({ status: ResultStatus.OperationFailed, reason: ResultReason.PermissionDenied });
    }
  });

  it('another content type is 415, another method 405, another path 404', async () => {
    expect((await postKmip(target(alice), 'x', 'text/plain')).status).toBe(415);
    expect((await postKmip(target(alice), Buffer.from(QUERY), 'application/x-kmip')).status).toBe(415);
    const get = await postKmip(target(alice), '', 'application/json', { method: 'GET' });
    expect(get.status).toBe(405);
    expect((await postKmip(target(alice), Buffer.from(QUERY), 'application/octet-stream', { path: '/other' })).status).toBe(404);
    // The server still serves after them.
    expect(result(await overHttps('ttlv', QUERY)).status).toBe(ResultStatus.Success);
  });

  it('a body larger than limits.maxMessageSize is refused with 413, declared or streamed', async () => {
    const big = encodeJson({ tag: Tag.RequestMessage, type: ItemType.Structure, value: [{ tag: Tag.NameValue, type: ItemType.TextString, value: 'x'.repeat(MAX_MESSAGE) }] });
    expect((await postKmip(target(alice), big, 'application/json')).status).toBe(413);
    // Chunked, no Content-Length: refused once the bytes pass the limit.
    const chunked = await postKmip(target(alice), big, 'application/json', { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }).catch((e: Error) => e);
    // Refused with 413, or the connection is cut while the client is still sending: never served.
    expect(chunked instanceof Error ? 'cut' : String(chunked.status)).toMatch(/^(413|cut)$/);
    expect(result(await overHttps('json', QUERY)).status).toBe(ResultStatus.Success);
  });

  it.each([
    ['xml', '<RequestMessage><RequestHeader>'],
    ['xml', '<!DOCTYPE x [<!ENTITY a "a">]><RequestMessage/>'],
    ['json', '{"tag":"RequestMessage","value":[{"tag":"NoSuchTag","type":"Integer","value":1}]}'],
    ['json', '{"tag": '],
    ['json', '['.repeat(10_000)],
    ['ttlv', 'not ttlv at all'],
  ] as const)('%s: a malformed body %#  is an Invalid Message response in its encoding, and the server keeps serving', async (encoding, body) => {
    const logged = server.logs.length;
    const answer = await postKmip(target(alice), body, contentTypeOf(encoding));
    expect(answer.status).toBe(200);
    // Audited like a TTLV message that does not decode.
    expect(server.logs.slice(logged).some((l) => l.includes('"op":"message"') && l.includes('"reason":"InvalidMessage"'))).toBe(true);
    expect(answer.contentType?.split(';')[0]).toBe(contentTypeOf(encoding));
    expect(result(treeOf(encoding, answer.body))).toEqual({ status: ResultStatus.OperationFailed, reason: ResultReason.InvalidMessage });
    expect(result(await overHttps(encoding, QUERY)).status).toBe(ResultStatus.Success);
  });

  it('a sender too slow for limits.requestTimeoutMs is cut off, headers or body, and the port keeps serving', async () => {
    const slow = await startTestServer({ pki: server.pki, limits: { requestTimeoutMs: 500 }, config: { https: { enabled: true, host: '127.0.0.1', port: 0 } } });
    try {
      const { cert } = await slow.tenant('slow');
      const opened = (): Promise<TLSSocket> =>
        new Promise((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port: slow.app.httpsPort!, servername: 'localhost', ca: slow.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem }, () => resolve(socket));
          socket.once('error', reject);
        });
      /** What the server sends until it closes the socket (or the test gives up after 5 s). */
      const untilClosed = (socket: TLSSocket) =>
        new Promise<{ closed: boolean; text: string; ms: number }>((resolve) => {
          const started = Date.now();
          let text = '';
          socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
          socket.on('error', () => undefined);
          const timer = setTimeout(() => resolve({ closed: false, text, ms: Date.now() - started }), 5_000);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve({ closed: true, text, ms: Date.now() - started });
          });
        });
      const body = await opened();
      body.write('POST /kmip HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"tag":');
      const bodyOutcome = await untilClosed(body);
      expect(bodyOutcome.closed).toBe(true);
      expect(bodyOutcome.text).toMatch(/^HTTP\/1\.1 (503|408)/);
      const headers = await opened();
      headers.write('POST /kmip HTTP/1.1\r\nHost: localhost\r\n');
      expect((await untilClosed(headers)).closed).toBe(true);
      const answer = await postKmip({ port: slow.app.httpsPort!, ca: slow.pki.ca.certificatePem, cert }, Buffer.from(QUERY), 'application/octet-stream');
      expect(result(decodeTtlv(answer.body)).status).toBe(ResultStatus.Success);
    } finally {
      await slow.close();
    }
  });

  it('holds at most limits.maxConnections connections: one more is closed, and a slot freed serves again', async () => {
    const capped = await startTestServer({ pki: server.pki, limits: { maxConnections: 2 }, config: { https: { enabled: true, host: '127.0.0.1', port: 0 } } });
    try {
      const { cert } = await capped.tenant('capped');
      const tls = { host: '127.0.0.1', port: capped.app.httpsPort!, servername: 'localhost', ca: capped.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem };
      const open = (): Promise<TLSSocket | 'refused'> =>
        new Promise((resolve) => {
          const socket = connect(tls, () => resolve(socket));
          socket.once('error', () => resolve('refused'));
          socket.once('close', () => resolve('refused'));
        });
      const held = [await open(), await open()];
      expect(held.every((s) => s !== 'refused')).toBe(true);
      expect(await open()).toBe('refused');
      (held[0] as TLSSocket).destroy();
      await new Promise((r) => setTimeout(r, 100));
      const answer = await postKmip({ port: capped.app.httpsPort!, ca: capped.pki.ca.certificatePem, cert }, Buffer.from(QUERY), 'application/octet-stream');
      expect(result(decodeTtlv(answer.body)).status).toBe(ResultStatus.Success);
      (held[1] as TLSSocket).destroy();
    } finally {
      await capped.close();
    }
  });

  it('the HTTPS port is off unless configured', async () => {
    const plain = await startTestServer({ pki: server.pki });
    try {
      expect(plain.app.httpsPort).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
