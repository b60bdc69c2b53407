/** What a load worker sends: requests encoded once up front where the request does not depend on an answer. */
import { decodeTtlv, encodeTtlv, ItemType, type StructureItem, type TtlvItem } from '../../server/ttlv/index.js';
import { BlockCipherMode, CryptographicAlgorithm, ObjectType, Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { RequestMessageSchema } from '../../server/kmip/model/messages.js';

export type ScenarioSpec =
  | { readonly kind: 'create' }
  | { readonly kind: 'get'; readonly uids: readonly string[] }
  | { readonly kind: 'locate'; readonly names: readonly string[] }
  | { readonly kind: 'mix' }
  /** Encrypt of ENCRYPT_BYTES with the AES-256 key `uid` (Active, usage Encrypt), GCM over KMIP 1.4, the server choosing the IV. */
  | { readonly kind: 'encrypt'; readonly uid: string }
  | { readonly kind: 'handshake'; readonly resume: boolean; readonly maxVersion: 'TLSv1.2' | 'TLSv1.3' };

const VERSION = 11; // what vCenter speaks
/** Encrypt is KMIP 1.2 and later; GCM's tag has a field from 1.4 (the server refuses GCM before it). */
const CRYPTO_VERSION = 14;
export const ENCRYPT_BYTES = 4096;

const payload = (...children: TtlvItem[]): TtlvItem => ({ tag: Tag.RequestPayload, type: ItemType.Structure, value: children });
const text = (tag: number, value: string): TtlvItem => ({ tag, type: ItemType.TextString, value });
const attribute = (name: string, value: TtlvItem): TtlvItem => ({
  tag: Tag.Attribute,
  type: ItemType.Structure,
  value: [text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue }],
});

export function request(items: ReadonlyArray<{ operation: number; payload: TtlvItem }>, version: 11 | 14 = VERSION): Uint8Array {
  return encodeTtlv(
    RequestMessageSchema.encode(
      Tag.RequestMessage,
      {
        header: { protocolVersion: { major: 1, minor: version - 10 }, attestationTypes: [], batchCount: items.length },
        batchItems: items.map((i, n) => ({
          operation: i.operation,
          requestPayload: i.payload,
          ...(items.length > 1 ? { uniqueBatchItemId: new Uint8Array([0x51, 0x4c, 0x4b, 0x43, n + 1, 0, 0, 0]) } : {}),
        })),
      },
      { version },
    ),
  );
}

export function createPayload(name?: string): TtlvItem {
  return payload(
    { tag: Tag.ObjectType, type: ItemType.Enumeration, value: ObjectType.SymmetricKey },
    {
      tag: Tag.TemplateAttribute,
      type: ItemType.Structure,
      value: [
        attribute('Cryptographic Algorithm', { tag: 0x420000, type: ItemType.Enumeration, value: CryptographicAlgorithm.AES }),
        attribute('Cryptographic Usage Mask', { tag: 0x420000, type: ItemType.Integer, value: 12 }),
        attribute('Cryptographic Length', { tag: 0x420000, type: ItemType.Integer, value: 256 }),
        ...(name
          ? [
              attribute('Name', {
                tag: 0x420000,
                type: ItemType.Structure,
                value: [text(Tag.NameValue, name), { tag: Tag.NameType, type: ItemType.Enumeration, value: 1 }],
              }),
            ]
          : []),
      ],
    },
  );
}

export const requests = {
  discover: () => request([{ operation: Operation.DiscoverVersions, payload: payload() }]),
  create: (name?: string) => request([{ operation: Operation.Create, payload: createPayload(name) }]),
  createBatch: (names: readonly string[]) => request(names.map((n) => ({ operation: Operation.Create, payload: createPayload(n) }))),
  get: (uid: string) => request([{ operation: Operation.Get, payload: payload(text(Tag.UniqueIdentifier, uid)) }]),
  getAttributes: (uid: string, name: string) => request([{ operation: Operation.GetAttributes, payload: payload(text(Tag.UniqueIdentifier, uid), text(Tag.AttributeName, name)) }]),
  addProductTags: (uid: string) =>
    request(
      [
        ['x-Product_Version', '7.0.3 build-19480866'],
        ['x-Vendor', 'VMware, Inc.'],
        ['x-Product', 'VMware vSphere'],
      ].map(([n, v]) => ({ operation: Operation.AddAttribute, payload: payload(text(Tag.UniqueIdentifier, uid), attribute(n!, text(0x420000, v!))) })),
    ),
  activate: (uid: string) => request([{ operation: Operation.Activate, payload: payload(text(Tag.UniqueIdentifier, uid)) }]),
  /** AES-GCM with a 16-byte tag and no IV: the server makes one and returns it with the tag. */
  encrypt: (uid: string, data: Uint8Array) =>
    request(
      [
        {
          operation: Operation.Encrypt,
          payload: payload(
            text(Tag.UniqueIdentifier, uid),
            {
              tag: Tag.CryptographicParameters,
              type: ItemType.Structure,
              value: [
                { tag: Tag.BlockCipherMode, type: ItemType.Enumeration, value: BlockCipherMode.GCM },
                // PyKMIP's server needs the algorithm named here; ours would take it from the key.
                { tag: Tag.CryptographicAlgorithm, type: ItemType.Enumeration, value: CryptographicAlgorithm.AES },
                { tag: Tag.TagLength, type: ItemType.Integer, value: 16 },
              ],
            },
            { tag: Tag.Data, type: ItemType.ByteString, value: data },
          ),
        },
      ],
      CRYPTO_VERSION,
    ),
  locateByName: (name: string) =>
    request([
      {
        operation: Operation.Locate,
        payload: payload(attribute('Name', { tag: 0x420000, type: ItemType.Structure, value: [text(Tag.NameValue, name), { tag: Tag.NameType, type: ItemType.Enumeration, value: 1 }] })),
      },
    ]),
};

/** Result statuses of every batch item, and the Unique Identifiers the payloads carry. */
export function readResponse(bytes: Uint8Array): { statuses: number[]; uids: string[] } {
  const message = decodeTtlv(bytes, { maxSize: 1 << 24, maxDepth: 32 }) as StructureItem;
  const statuses: number[] = [];
  const uids: string[] = [];
  for (const item of message.value) {
    if (item.tag !== Tag.BatchItem || item.type !== ItemType.Structure) continue;
    for (const field of item.value) {
      if (field.tag === Tag.ResultStatus) statuses.push(field.value as number);
      if (field.tag === Tag.ResponsePayload && field.type === ItemType.Structure) {
        for (const p of field.value) if (p.tag === Tag.UniqueIdentifier && p.type === ItemType.TextString) uids.push(p.value);
      }
    }
  }
  return { statuses, uids };
}

export const allSucceeded = (statuses: readonly number[]) => statuses.length > 0 && statuses.every((s) => s === ResultStatus.Success);
