/** Every pitfall other servers hit with vCenter (kmip-vmware.md §2f), each reproduced against the real listener. */
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type StructureItem, type TtlvItem } from '../../server/ttlv/index.js';
import { Operation, ResultReason, ResultStatus, State } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { attributeMap, enumAttr, intAttr, textAttr } from '../support/attributes.js';
import { decodeResponse, encodeRequest, TestKmipClient } from '../support/kmip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';
import { vcenter, vcenterBatchId, VCENTER_PRODUCT_TAGS } from '../support/vcenter.js';

let server: TestServer;
let cert: TestClientCert;
let tenantId: string;

beforeAll(async () => {
  server = await startTestServer();
  ({ cert, id: tenantId } = await server.tenant('vcenter'));
});
afterAll(() => server.close());

async function createKey(client: TestKmipClient): Promise<string> {
  const r = decodeResponse(await client.send(vcenter.createAes256()), 11);
  return r.items[0]!.payload!['uniqueIdentifier'] as string;
}

function errorLines(): string[] {
  return server.logs.filter((l) => /"level":"(error|fatal)"/.test(l));
}

describe('vCenter pitfalls (kmip-vmware.md §2f)', () => {
  it('parses the three-item Add Attribute batch of x- Text Strings and answers three items in a 1.1 header', async () => {
    const client = await server.connect(cert);
    const uid = await createKey(client);
    const r = decodeResponse(await client.send(vcenter.addAttributes(uid, VCENTER_PRODUCT_TAGS)), 11);
    expect(r.header.protocolVersion).toEqual({ major: 1, minor: 1 });
    expect(r.header.batchCount).toBe(3);
    expect(r.items.map((i) => [i.operation, i.resultStatus])).toEqual([
      [Operation.AddAttribute, ResultStatus.Success],
      [Operation.AddAttribute, ResultStatus.Success],
      [Operation.AddAttribute, ResultStatus.Success],
    ]);
  });

  it('answers Get Attributes for an absent custom attribute with success and the identifier only, not Item Not Found', async () => {
    const client = await server.connect(cert);
    const uid = await createKey(client);
    const r = decodeResponse(await client.send(vcenter.getAttributes(uid, 'x-Never-Set')), 11);
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    expect(r.items[0]!.payload).toEqual({ uniqueIdentifier: uid, attributes: [] });
  });

  it('serves Get in Pre-Active and lets Activate succeed afterwards', async () => {
    const client = await server.connect(cert);
    const uid = await createKey(client);
    const get = decodeResponse(await client.send(vcenter.get(uid)), 11);
    expect(get.items[0]!.resultStatus).toBe(ResultStatus.Success);
    const state = decodeResponse(await client.send(vcenter.getAttributes(uid, 'State')), 11);
    expect(attributeMap(state.items[0]!.payload!['attributes'] as TtlvItem[]).get('State')?.[0]).toMatchObject({ value: State.PreActive });
    const activate = decodeResponse(await client.send(vcenter.activate(uid)), 11);
    expect(activate.items[0]!.resultStatus).toBe(ResultStatus.Success);
  });

  it('echoes Unique Batch Item IDs byte for byte, and refuses a multi-item batch without them as one Invalid Message item', async () => {
    const client = await server.connect(cert);
    const odd = new Uint8Array([0, 0xff, 0x10, 0x80, 0x7f]);
    const withIds = await client.request([
      { operation: Operation.DiscoverVersions, id: odd },
      { operation: Operation.DiscoverVersions, id: new Uint8Array(0) },
    ]);
    expect(withIds.items.map((i) => i.uniqueBatchItemId)).toEqual([odd, new Uint8Array(0)]);
    const without = await client.request([{ operation: Operation.DiscoverVersions }, { operation: Operation.DiscoverVersions }]);
    expect(without.header.batchCount).toBe(1);
    expect(without.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.InvalidMessage });
    expect(without.items[0]!.operation).toBeUndefined();
  });

  it('survives connections closed right after the handshake, before it, and mid-message, without logging errors', async () => {
    const before = errorLines().length;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        if (i % 3 === 0) {
          // TCP only: closed before any TLS byte.
          await new Promise<void>((resolve) => {
            const s = tcpConnect(server.port, '127.0.0.1', () => s.destroy());
            s.on('close', () => resolve());
            s.on('error', () => resolve());
          });
        } else {
          const c = await server.connect(i % 3 === 1 ? cert : undefined);
          if (i % 3 === 2) c.socket.write(vcenter.createAes256().subarray(0, 20));
          c.socket.destroy();
        }
      }),
    );
    const client = await server.connect(cert);
    const r = await client.request([{ operation: Operation.DiscoverVersions }]);
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    expect(errorLines().slice(before)).toEqual([]);
  });

  it('completes the handshake without a client certificate and refuses every request with Permission Denied', async () => {
    const anonymous = await server.connect(undefined);
    for (const message of [vcenter.discoverVersions(false), vcenter.createAes256(), vcenter.addAttributes('x', VCENTER_PRODUCT_TAGS)]) {
      const r = decodeResponse(await anonymous.send(message), 11);
      expect(r.header.protocolVersion).toEqual({ major: 1, minor: 1 });
      for (const item of r.items) {
        expect(item.resultStatus).toBe(ResultStatus.OperationFailed);
        expect(item.resultReason).toBe(ResultReason.PermissionDenied);
      }
    }
  });

  it('refuses an unknown certificate per request, not at TLS level', async () => {
    const stranger = server.pki.client('stranger');
    const client = await server.connect(stranger);
    const r = decodeResponse(await client.send(vcenter.createAes256()), 11);
    expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied, uniqueBatchItemId: vcenterBatchId(1) });
  });

  it('accepts a registered client certificate without the clientAuth extended key usage (or with serverAuth only)', async () => {
    for (const [name, eku] of [
      ['no-eku', []],
      ['server-eku', ['serverAuth']],
    ] as const) {
      const c = server.pki.client(name, { extendedKeyUsage: eku });
      await server.pin(tenantId, c);
      const client = await server.connect(c);
      const r = decodeResponse(await client.send(vcenter.createAes256()), 11);
      expect(r.items[0]!.resultStatus, name).toBe(ResultStatus.Success);
    }
  });

  it('keeps Unique Identifiers and material across a restart (vCenter stores "KeyID/provider" forever)', async () => {
    const s = await startTestServer();
    const t = await s.tenant('durable');
    const client = await s.connect(t.cert);
    const uid = await createKey(client);
    const key1 = decodeResponse(await client.send(vcenter.get(uid)), 11).items[0]!.payload!['symmetricKey'];
    const dir = s.dir;
    await s.close({ keepData: true });
    const again = await startTestServer({ dir, pki: s.pki });
    const client2 = await again.connect(t.cert);
    const r = decodeResponse(await client2.send(vcenter.get(uid)), 11);
    expect(r.items[0]!.resultStatus).toBe(ResultStatus.Success);
    expect(r.items[0]!.payload!['symmetricKey']).toEqual(key1);
    await again.close();
  });

  it('presents its certificate chain to any client, so vCenter can retrieve and trust it', async () => {
    const chain = await new Promise<string[]>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => {
        const subjects: string[] = [];
        let c = s.getPeerCertificate(true);
        const seen = new Set<string>();
        while (c && !seen.has(c.fingerprint256)) {
          seen.add(c.fingerprint256);
          subjects.push(String(c.subject.CN ?? ''));
          c = c.issuerCertificate;
        }
        s.destroy();
        resolve(subjects);
      });
      s.on('error', reject);
    });
    expect(chain).toEqual(['localhost', 'test CA']);
  });

  it('accepts and stores Operation Policy Name, which 1.x clients send', async () => {
    const client = await server.connect(cert);
    const r = await client.request([
      {
        operation: Operation.Create,
        payload: {
          objectType: 2,
          templateAttribute: {
            names: [],
            attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 128), textAttr('Operation Policy Name', 'default')],
          },
        },
      },
    ]);
    expect(r.items[0]!.resultMessage).toBeUndefined();
    const uid = r.items[0]!.payload!['uniqueIdentifier'] as string;
    const attrs = await client.request([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: ['Operation Policy Name'], attributeReferences: [] } }]);
    expect(attributeMap(attrs.items[0]!.payload!['attributes'] as TtlvItem[]).get('Operation Policy Name')).toEqual([
      { tag: Tag.AttributeValue, type: ItemType.TextString, value: 'default' },
    ]);
  });

  it('answers the same request on every connection independently (several in parallel on one key)', async () => {
    const client = await server.connect(cert);
    const uid = await createKey(client);
    const results = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const c = await TestKmipClient.connect(server.port, { ca: server.pki.ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem });
        const r = decodeResponse(await c.send(vcenter.get(uid)), 11);
        await c.close();
        const block = (r.items[0]!.payload!['symmetricKey'] as StructureItem).value[0] as StructureItem;
        return Buffer.from((block.value[1] as StructureItem).value[0]!.value as Uint8Array).toString('hex');
      }),
    );
    expect(new Set(results).size).toBe(1);
    expect(encodeRequest.length).toBeGreaterThan(0);
  });
});
