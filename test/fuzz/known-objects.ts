/** Creates, in the fuzz tenant, the objects the corpus refers to, so mutated requests reach real objects. */
import type { TtlvItem } from '../../server/ttlv/index.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { TestKmipClient } from '../support/kmip-client.js';
import { b, e, i, s } from '../support/ttlv-builder.js';
import type { Identity } from './connection.js';
import type { KnownObjects } from './corpus.js';

async function one(client: TestKmipClient, operation: number, children: TtlvItem[]): Promise<Record<string, unknown>> {
  const response = await client.request([{ operation, payload: s(Tag.RequestPayload, children) }], { version: 21 });
  const item = response.items[0]!;
  if (item.resultStatus !== ResultStatus.Success) throw new Error(`setting up the fuzz objects: operation ${operation} failed (${item.resultReason} ${item.resultMessage ?? ''})`);
  return item.payload!;
}

export async function createKnownObjects(port: number, ca: string, identity: Identity): Promise<KnownObjects> {
  const client = await TestKmipClient.connect(port, { ca, ...(identity.cert ? { cert: identity.cert, key: identity.key } : {}) });
  try {
    const key = await one(client, Operation.Create, [
      e(Tag.ObjectType, ObjectType.SymmetricKey),
      s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 256), i(Tag.CryptographicUsageMask, 12)]),
    ]);
    const secret = await one(client, Operation.Register, [
      e(Tag.ObjectType, ObjectType.SecretData),
      s(Tag.Attributes, [i(Tag.CryptographicUsageMask, 0)]),
      s(Tag.SecretData, [e(Tag.SecretDataType, 1), s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Opaque), s(Tag.KeyValue, [b(Tag.KeyMaterial, '70617373776f7264')])])]),
    ]);
    const opaque = await one(client, Operation.Register, [
      e(Tag.ObjectType, ObjectType.OpaqueObject),
      s(Tag.Attributes, []),
      s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, '0102030405')]),
    ]);
    const pair = await one(client, Operation.CreateKeyPair, [
      s(Tag.CommonAttributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.EC), i(Tag.CryptographicLength, 256)]),
      s(Tag.PrivateKeyAttributes, [i(Tag.CryptographicUsageMask, 1)]),
      s(Tag.PublicKeyAttributes, [i(Tag.CryptographicUsageMask, 2)]),
    ]);
    return {
      symmetricKey: key['uniqueIdentifier'] as string,
      secretData: secret['uniqueIdentifier'] as string,
      opaqueObject: opaque['uniqueIdentifier'] as string,
      privateKey: pair['privateKeyUniqueIdentifier'] as string,
      publicKey: pair['publicKeyUniqueIdentifier'] as string,
    };
  } finally {
    await client.close();
  }
}
