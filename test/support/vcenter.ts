/**
 * The requests vCenter 7.0.3 sends, rebuilt from their documented structure (kmip-vmware.md §2):
 * every header is exactly Protocol Version 1.1 + Batch Count; batch items carry the Unique Batch
 * Item ID "QLKC" 0N 00 00 00 except the first Discover Versions of a connection; custom attributes
 * are Text Strings without an Attribute Index.
 */
import { ItemType, type TtlvItem } from '../../server/ttlv/index.js';
import { CryptographicAlgorithm, ObjectType, Operation, QueryFunction } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { encodeRequest } from './kmip-client.js';

/** vCenter's Unique Batch Item ID for the item at 1-based position n. */
export function vcenterBatchId(n: number): Uint8Array {
  return new Uint8Array([0x51, 0x4c, 0x4b, 0x43, n, 0, 0, 0]);
}

const payload = (...children: TtlvItem[]): TtlvItem => ({ tag: Tag.RequestPayload, type: ItemType.Structure, value: children });
const uidItem = (uid: string): TtlvItem => ({ tag: Tag.UniqueIdentifier, type: ItemType.TextString, value: uid });
const attribute = (name: string, value: TtlvItem): TtlvItem => ({
  tag: Tag.Attribute,
  type: ItemType.Structure,
  value: [{ tag: Tag.AttributeName, type: ItemType.TextString, value: name }, { ...value, tag: Tag.AttributeValue }],
});
const one = (operation: number, body: TtlvItem, withId = true): Uint8Array =>
  encodeRequest([{ operation, payload: body, ...(withId ? { id: vcenterBatchId(1) } : {}) }], { version: 11 });

export const vcenter = {
  discoverVersions: (withId: boolean) => one(Operation.DiscoverVersions, payload(), withId),
  queryServerInformation: () => one(Operation.Query, payload({ tag: Tag.QueryFunction, type: ItemType.Enumeration, value: QueryFunction.QueryServerInformation })),
  createAes256: () =>
    one(
      Operation.Create,
      payload(
        { tag: Tag.ObjectType, type: ItemType.Enumeration, value: ObjectType.SymmetricKey },
        {
          tag: Tag.TemplateAttribute,
          type: ItemType.Structure,
          value: [
            attribute('Cryptographic Algorithm', { tag: 0x420000, type: ItemType.Enumeration, value: CryptographicAlgorithm.AES }),
            attribute('Cryptographic Usage Mask', { tag: 0x420000, type: ItemType.Integer, value: 12 }),
            attribute('Cryptographic Length', { tag: 0x420000, type: ItemType.Integer, value: 256 }),
          ],
        },
      ),
    ),
  getAttributes: (uid: string, name: string) =>
    one(Operation.GetAttributes, payload(uidItem(uid), { tag: Tag.AttributeName, type: ItemType.TextString, value: name })),
  addAttributes: (uid: string, pairs: ReadonlyArray<readonly [string, string]>) =>
    encodeRequest(
      pairs.map(([name, value], i) => ({
        operation: Operation.AddAttribute,
        id: vcenterBatchId(i + 1),
        payload: payload(uidItem(uid), attribute(name, { tag: 0x420000, type: ItemType.TextString, value })),
      })),
      { version: 11 },
    ),
  get: (uid: string) => one(Operation.Get, payload(uidItem(uid))),
  activate: (uid: string) => one(Operation.Activate, payload(uidItem(uid))),
};

/** The values vCenter 7.0.3 tags keys with (product, then owner). */
export const VCENTER_PRODUCT_TAGS = [
  ['x-Product_Version', '7.0.3 build-19480866'],
  ['x-Vendor', 'VMware, Inc.'],
  ['x-Product', 'VMware vSphere'],
] as const;
export const HOST_OWNER_TAGS = [
  ['x-Identifier', '8c164d56-7f1c-5960-63e6-4451c6181844'],
  ['x-Component', 'ESXi Server'],
  ['x-Name', '172.16.220.132'],
] as const;
export const VM_OWNER_TAGS = [
  ['x-Identifier', '564d1f3a-0b9e-2a7c-88c4-2f0d6b9c1e7a'],
  ['x-Component', 'Virtual Machine'],
  ['x-Name', 'test01'],
] as const;
