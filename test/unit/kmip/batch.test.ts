/** Batch rules: continuation options, ID placeholders, unsupported operations, extensions, response size, concurrency. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { BatchErrorContinuationOption, ObjectType, Operation, QueryFunction, ResultReason, ResultStatus, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { attributeMap, enumAttr, intAttr, nameAttr, textAttr } from '../../support/attributes.js';
import { backends, executorHarness, type ExecutorHarness } from '../../support/executor.js';
import type { ItemSpec } from '../../support/kmip-client.js';

for (const { backend, wrap, skip, label } of await backends()) {
  describe.skipIf(skip)(label, () => {
    let h: ExecutorHarness;
    beforeAll(async () => {
      h = await executorHarness({ backend, wrap });
    });
    afterAll(() => h?.close());

    const createItem = (id: string, name?: string): ItemSpec => ({
      operation: Operation.Create,
      id,
      payload: {
        objectType: 2,
        templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 128), ...(name ? [nameAttr(name)] : [])] },
      },
    });
    const bogusGet = (id: string): ItemSpec => ({ operation: Operation.Get, id, payload: { uniqueIdentifier: 'no-such-object' } });
    const statuses = (r: { items: readonly { resultStatus: number }[] }) => r.items.map((i) => i.resultStatus);

    async function locateByName(name: string): Promise<string[]> {
      const r = await h.run([{ operation: Operation.Locate, payload: { attributes: [nameAttr(name)] } }]);
      return r.items[0]!.payload!['uniqueIdentifiers'] as string[];
    }

    describe('batch error continuation', () => {
      it('Stop (the default): the failing item is the last one processed and returned', async () => {
        const r = await h.run([createItem('1', 'stop-1'), bogusGet('2'), createItem('3', 'stop-3')]);
        expect(statuses(r)).toEqual([ResultStatus.Success, ResultStatus.OperationFailed]);
        expect(r.header.batchCount).toBe(2);
        expect(await locateByName('stop-1')).toHaveLength(1);
        expect(await locateByName('stop-3')).toHaveLength(0);
      });

      it('Continue: every item is processed, failures included', async () => {
        const r = await h.run([createItem('1', 'cont-1'), bogusGet('2'), createItem('3', 'cont-3')], {
          header: { batchErrorContinuationOption: BatchErrorContinuationOption.Continue },
        });
        expect(statuses(r)).toEqual([ResultStatus.Success, ResultStatus.OperationFailed, ResultStatus.Success]);
        expect(r.items[1]!.resultReason).toBe(ResultReason.ItemNotFound);
        expect(await locateByName('cont-3')).toHaveLength(1);
      });

      it('Undo: a failure rolls back every earlier item (Operation Undone) and nothing is stored', async () => {
        const r = await h.run([createItem('1', 'undo-1'), { operation: Operation.Activate, id: '2', payload: {} }, bogusGet('3'), createItem('4', 'undo-4')], {
          header: { batchErrorContinuationOption: BatchErrorContinuationOption.Undo },
        });
        expect(statuses(r)).toEqual([ResultStatus.OperationUndone, ResultStatus.OperationUndone, ResultStatus.OperationFailed]);
        // The payload stays (Baseline profile BL-M-2), but the object it names was never stored.
        const undoneUid = r.items[0]!.payload!['uniqueIdentifier'] as string;
        expect(typeof undoneUid).toBe('string');
        expect(await locateByName('undo-1')).toEqual([]);
        const gone = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: undoneUid } }]);
        expect(gone.items[0]!.resultStatus).toBe(ResultStatus.OperationFailed);
      });

      it('Undo: a batch without failure commits everything at once', async () => {
        const r = await h.run([createItem('1', 'undo-ok'), { operation: Operation.Activate, id: '2', payload: {} }], {
          header: { batchErrorContinuationOption: BatchErrorContinuationOption.Undo },
        });
        expect(statuses(r)).toEqual([ResultStatus.Success, ResultStatus.Success]);
        const [uid] = await locateByName('undo-ok');
        const a = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: ['State'], attributeReferences: [] } }]);
        expect(attributeMap(a.items[0]!.payload!['attributes'] as TtlvItem[]).get('State')![0]!.value).toBe(State.Active);
      });
    });

    describe('ID Placeholder', () => {
      it('carries the created object to later items that omit the Unique Identifier', async () => {
        const r = await h.run([
          createItem('1'),
          { operation: Operation.Activate, id: '2', payload: {} },
          { operation: Operation.AddAttribute, id: '3', payload: { attribute: textAttr('x-Via', 'placeholder') } },
          { operation: Operation.Get, id: '4', payload: {} },
        ]);
        expect(statuses(r)).toEqual([ResultStatus.Success, ResultStatus.Success, ResultStatus.Success, ResultStatus.Success]);
        const uid = r.items[0]!.payload!['uniqueIdentifier'];
        for (const item of r.items.slice(1)) expect(item.payload!['uniqueIdentifier']).toBe(uid);
      });

      it('without a placeholder, an item that omits the identifier fails with Missing Data', async () => {
        const r = await h.run([{ operation: Operation.Activate, payload: {} }]);
        expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.MissingData });
      });
    });

    describe('what the server does not do', () => {
      it('answers an operation it does not offer, or one the version lacks, with Operation Not Supported', async () => {
        // Notify is a server-to-client operation (1.4 §5): a client sending it asks for what no server serves.
        const notify: ItemSpec = { operation: Operation.Notify, payload: { tag: Tag.RequestPayload, type: ItemType.Structure, value: [] } };
        expect((await h.run([notify], { version: 12 })).items[0]).toMatchObject({ operation: Operation.Notify, resultReason: ResultReason.OperationNotSupported });
        // Encrypt is offered from KMIP 1.2: a 1.1 client does not have it.
        const encrypt: ItemSpec = { operation: Operation.Encrypt, payload: { tag: Tag.RequestPayload, type: ItemType.Structure, value: [] } };
        expect((await h.run([encrypt], { version: 11 })).items[0]).toMatchObject({ operation: Operation.Encrypt, resultReason: ResultReason.OperationNotSupported });
        expect((await h.run([{ operation: Operation.DiscoverVersions }], { version: 10 })).items[0]!.resultReason).toBe(ResultReason.OperationNotSupported);
      });

      it('answers a critical message extension it does not know with Feature Not Supported, ignores a non-critical one', async () => {
        const { encodeTtlv, decodeTtlv } = await import('../../../server/ttlv/index.js');
        const { encodeRequest, decodeResponse } = await import('../../support/kmip-client.js');
        const withExtension = (critical: boolean) => {
          const message = decodeTtlv(encodeRequest([{ operation: Operation.DiscoverVersions }])) as { tag: number; type: 1; value: TtlvItem[] };
          const item = message.value[1] as { tag: number; type: 1; value: TtlvItem[] };
          item.value.push({
            tag: Tag.MessageExtension,
            type: ItemType.Structure,
            value: [
              { tag: Tag.VendorIdentification, type: ItemType.TextString, value: 'acme' },
              { tag: Tag.CriticalityIndicator, type: ItemType.Boolean, value: critical },
              { tag: Tag.VendorExtension, type: ItemType.Structure, value: [] },
            ],
          });
          return encodeTtlv(message);
        };
        const critical = decodeResponse(await h.executor.execute(withExtension(true), h.principal), 11);
        expect(critical.items[0]!.resultReason).toBe(ResultReason.FeatureNotSupported);
        const optional = decodeResponse(await h.executor.execute(withExtension(false), h.principal), 11);
        expect(optional.items[0]!.resultStatus).toBe(ResultStatus.Success);
      });

      it('answers Response Too Large when the response exceeds Maximum Response Size', async () => {
        const r = await h.run([{ operation: Operation.DiscoverVersions }], { header: { maximumResponseSize: 64 } });
        expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.ResponseTooLarge });
      });

      it('fails only the item whose payload has a field of the wrong type', async () => {
        const badGet: ItemSpec = {
          operation: Operation.Get,
          id: 'b',
          payload: { tag: Tag.RequestPayload, type: ItemType.Structure, value: [{ tag: Tag.UniqueIdentifier, type: ItemType.Integer, value: 7 }] },
        };
        const r = await h.run([{ operation: Operation.DiscoverVersions, id: 'a' }, badGet, { operation: Operation.DiscoverVersions, id: 'c' }], {
          header: { batchErrorContinuationOption: BatchErrorContinuationOption.Continue },
        });
        expect(statuses(r)).toEqual([ResultStatus.Success, ResultStatus.OperationFailed, ResultStatus.Success]);
        expect(r.items[1]!.resultReason).toBe(ResultReason.InvalidField);
      });

      it('Create of an object type other than a symmetric key is refused with a reason, not a crash', async () => {
        const r = await h.run([{ operation: Operation.Create, payload: { objectType: ObjectType.SecretData, templateAttribute: { names: [], attributes: [] } } }]);
        expect(r.items[0]!.resultReason).toBe(ResultReason.InvalidField);
        const bad = await h.run([createItem('x')].map((i) => ({ ...i, payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 100)] } } })));
        expect(bad.items[0]!.resultReason).toBe(ResultReason.InvalidField);
      });
    });

    describe('query and discovery', () => {
      it('Query lists exactly the operations and object types served, for the client’s version', async () => {
        const r = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations, QueryFunction.QueryObjects] } }], { version: 10 });
        const ops = r.items[0]!.payload!['operations'] as number[];
        expect(ops).not.toContain(Operation.DiscoverVersions);
        expect(new Set(ops)).toEqual(
          new Set([
            Operation.Create,
            Operation.CreateKeyPair,
            Operation.Register,
            Operation.ReKey,
            Operation.Certify,
            Operation.ReCertify,
            Operation.Locate,
            Operation.Check,
            Operation.Get,
            Operation.GetAttributes,
            Operation.GetAttributeList,
            Operation.AddAttribute,
            Operation.ModifyAttribute,
            Operation.DeleteAttribute,
            Operation.ObtainLease,
            Operation.GetUsageAllocation,
            Operation.Activate,
            Operation.Revoke,
            Operation.Destroy,
            Operation.Archive,
            Operation.Recover,
            Operation.Query,
            Operation.Poll,
            Operation.Cancel,
          ]),
        );
        // Template is a 1.0–1.4 object type; PGP Key (1.2+) is not a 1.0 one.
        expect(r.items[0]!.payload!['objectTypes']).toEqual([ObjectType.SymmetricKey, ObjectType.Certificate, ObjectType.PublicKey, ObjectType.PrivateKey, ObjectType.SecretData, ObjectType.OpaqueObject, ObjectType.SplitKey, ObjectType.Template]);
        const v11 = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations] } }]);
        expect(v11.items[0]!.payload!['operations']).toContain(Operation.DiscoverVersions);
        expect(v11.items[0]!.payload!['operations']).toContain(Operation.ReKeyKeyPair);
        expect(v11.items[0]!.payload!['operations']).not.toContain(Operation.SetAttribute);
        const v20 = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations] } }], { version: 20 });
        for (const op of [Operation.SetAttribute, Operation.Log, Operation.Interop]) expect(v20.items[0]!.payload!['operations']).toContain(op);
        for (const op of [Operation.Archive, Operation.Recover, Operation.Poll, Operation.Cancel, Operation.Import, Operation.Export, Operation.AdjustAttribute, Operation.SetEndpointRole]) {
          expect(v20.items[0]!.payload!['operations']).toContain(op);
        }
        // Notify and Put are server-to-client operations (2.1 §6.2): not listed, and a client sending one gets Operation Not Supported.
        for (const op of [Operation.Notify, Operation.Put]) {
          expect(v20.items[0]!.payload!['operations']).not.toContain(op);
          const sent = await h.run([{ operation: op, payload: { tag: Tag.RequestPayload, type: ItemType.Structure, value: [] } as TtlvItem }]);
          expect(sent.items[0]!.resultReason).toBe(ResultReason.OperationNotSupported);
        }
      });

      it('Discover Versions with the client’s list answers the versions both speak, in the server’s order', async () => {
        const r = await h.run([{ operation: Operation.DiscoverVersions, payload: { protocolVersions: [{ major: 1, minor: 1 }, { major: 1, minor: 4 }, { major: 9, minor: 9 }] } }]);
        expect(r.items[0]!.payload!['protocolVersions']).toEqual([{ major: 1, minor: 4 }, { major: 1, minor: 1 }]);
        const none = await h.run([{ operation: Operation.DiscoverVersions, payload: { protocolVersions: [{ major: 9, minor: 9 }] } }]);
        expect(none.items[0]!.payload!['protocolVersions']).toEqual([]);
      });

      it('echoes the Client Correlation Value (1.4) in the response header', async () => {
        const r = await h.run([{ operation: Operation.DiscoverVersions }], { version: 14, header: { clientCorrelationValue: 'trace-42' } });
        expect(r.header.clientCorrelationValue).toBe('trace-42');
      });
    });

    describe('concurrency', () => {
      it('two clients activating the same key at once: exactly one succeeds and the object stays consistent', async () => {
        for (let round = 0; round < 10; round++) {
          const created = await h.run([createItem('c')]);
          const uid = created.items[0]!.payload!['uniqueIdentifier'] as string;
          const [a, b] = await Promise.all([
            h.run([{ operation: Operation.Activate, payload: { uniqueIdentifier: uid } }]),
            h.run([{ operation: Operation.Activate, payload: { uniqueIdentifier: uid } }]),
          ]);
          expect([a.items[0]!.resultStatus, b.items[0]!.resultStatus].sort()).toEqual([ResultStatus.Success, ResultStatus.OperationFailed]);
        }
      });

      it('concurrent attribute additions to one key all land (conflicts are retried, nothing is lost)', async () => {
        const created = await h.run([createItem('c')]);
        const uid = created.items[0]!.payload!['uniqueIdentifier'] as string;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => h.run([{ operation: Operation.AddAttribute, payload: { uniqueIdentifier: uid, attribute: textAttr('x-Concurrent', String(i)) } }])),
        );
        expect(results.filter((r) => r.items[0]!.resultStatus === ResultStatus.Success)).toHaveLength(20);
        const a = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: ['x-Concurrent'], attributeReferences: [] } }]);
        const values = attributeMap(a.items[0]!.payload!['attributes'] as TtlvItem[]).get('x-Concurrent')!.map((v) => v.value);
        expect(values.sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
      });
    });
  });
}
