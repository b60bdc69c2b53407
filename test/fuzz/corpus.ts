/**
 * The valid requests the fuzzer starts from: what vCenter sends (test/support/vcenter.ts) and the
 * other operations in KMIP 1.0–1.4 and 2.0–2.1, built item by item with the TTLV builders. Every
 * value is fixed (no randomness, no clock), so a seed rebuilds the same inputs; only the
 * identifiers of the objects created before the run (KnownObjects) differ between runs.
 */
import { decodeTtlv, type TtlvItem } from '../../server/ttlv/index.js';
import {
  BatchErrorContinuationOption,
  CryptographicAlgorithm,
  InteropFunction,
  KeyFormatType,
  ObjectType,
  Operation,
  QueryFunction,
  RevocationReasonCode,
} from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { attr, b, bi, bool, dt, e, i, iv, li, name14, nameItem, requestMessage, s, t, type RequestItem } from '../support/ttlv-builder.js';
import { HOST_OWNER_TAGS, VCENTER_PRODUCT_TAGS, vcenter } from '../support/vcenter.js';

/** Objects created in the fuzz tenant before the run, so mutated requests reach real objects. */
export interface KnownObjects {
  readonly symmetricKey: string;
  readonly secretData: string;
  readonly opaqueObject: string;
  readonly privateKey: string;
  readonly publicKey: string;
}

export interface Seed {
  readonly name: string;
  /** 10..14, 20, 21. */
  readonly version: number;
  readonly message: TtlvItem;
  /** Relative frequency; requests that write (and fsync) are rarer so a run stays fast. */
  readonly weight: number;
}

const V1 = [10, 11, 12, 13, 14] as const;
const V2 = [20, 21] as const;
/** An identifier no object has: the payload is still decoded in full before the lookup fails. */
const MISSING_UID = '00000000-0000-7000-8000-00000000f022';
const KEY_BYTES = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const batchId = (n: number) => `51${n.toString(16).padStart(2, '0')}`;

const uid = (u: string) => t(Tag.UniqueIdentifier, u);
const keyBlock = (format: number, material: TtlvItem, alg?: number, len?: number): TtlvItem =>
  s(Tag.KeyBlock, [
    e(Tag.KeyFormatType, format),
    s(Tag.KeyValue, [{ ...material, tag: Tag.KeyMaterial } as TtlvItem]),
    ...(alg !== undefined ? [e(Tag.CryptographicAlgorithm, alg)] : []),
    ...(len !== undefined ? [i(Tag.CryptographicLength, len)] : []),
  ]);
const symmetricKey = () => s(Tag.SymmetricKey, [keyBlock(KeyFormatType.Raw, b(0, KEY_BYTES), CryptographicAlgorithm.AES, 256)]);
/** Big Integers that are no real RSA key: they exercise the Big Integer path and the key checks. */
const rsaTransparent = () =>
  s(Tag.PrivateKey, [
    keyBlock(
      KeyFormatType.TransparentRSAPrivateKey,
      s(0, [
        bi(Tag.Modulus, (1n << 2047n) + 0x1234567n),
        bi(Tag.PrivateExponent, (1n << 2000n) + 99n),
        bi(Tag.PublicExponent, 65537n),
        bi(Tag.P, (1n << 1023n) + 7n),
        bi(Tag.Q, (1n << 1023n) + 11n),
      ]),
      CryptographicAlgorithm.RSA,
      2048,
    ),
  ]);
const secretData = () => s(Tag.SecretData, [e(Tag.SecretDataType, 1), keyBlock(KeyFormatType.Opaque, b(0, '68756e746572322d6275742d6c6f6e676572'))]);
const opaqueObject = () => s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, 'deadbeefcafe')]);
const certificate = () => s(Tag.Certificate, [e(Tag.CertificateType, 1), b(Tag.CertificateValue, '308201003081a0a003020102')]);

/** 1.x: attributes as Template-Attribute { Attribute { Name, Value } }. */
function v1Seeds(v: number, k: KnownObjects): Array<Omit<Seed, 'version' | 'message'> & { items: RequestItem[]; header?: TtlvItem[] }> {
  const aes = [attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES)), attr('Cryptographic Length', i(0, 256)), attr('Cryptographic Usage Mask', i(0, 12))];
  const template = (extra: TtlvItem[] = []) => s(Tag.TemplateAttribute, [...aes, ...extra]);
  const revoke = s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, RevocationReasonCode.CessationOfOperation), t(Tag.RevocationMessage, 'fuzz')]);
  return [
    { name: 'discover-versions', weight: 4, items: [{ operation: Operation.DiscoverVersions, payload: [s(Tag.ProtocolVersion, [i(Tag.ProtocolVersionMajor, 1), i(Tag.ProtocolVersionMinor, 4)]), s(Tag.ProtocolVersion, [i(Tag.ProtocolVersionMajor, 1), i(Tag.ProtocolVersionMinor, 1)])] }] },
    { name: 'query', weight: 4, items: [{ operation: Operation.Query, payload: [e(Tag.QueryFunction, QueryFunction.QueryOperations), e(Tag.QueryFunction, QueryFunction.QueryObjects), e(Tag.QueryFunction, QueryFunction.QueryServerInformation), ...(v >= 13 ? [e(Tag.QueryFunction, QueryFunction.QueryProfiles)] : [])] }] },
    { name: 'create', weight: 1, items: [{ operation: Operation.Create, payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), template([attr('Name', name14('fuzz-create')), attr('Activation Date', dt(0, 1_700_000_000))])] }] },
    { name: 'create-key-pair', weight: 0.2, items: [{ operation: Operation.CreateKeyPair, payload: [s(Tag.CommonTemplateAttribute, [attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.ECDSA)), attr('Cryptographic Length', i(0, 256))]), s(Tag.PrivateKeyTemplateAttribute, [attr('Cryptographic Usage Mask', i(0, 1))]), s(Tag.PublicKeyTemplateAttribute, [attr('Cryptographic Usage Mask', i(0, 2))])] }] },
    { name: 'register-symmetric', weight: 1, items: [{ operation: Operation.Register, payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [attr('Cryptographic Usage Mask', i(0, 12))]), symmetricKey()] }] },
    { name: 'register-secret', weight: 0.5, items: [{ operation: Operation.Register, payload: [e(Tag.ObjectType, ObjectType.SecretData), s(Tag.TemplateAttribute, [attr('Cryptographic Usage Mask', i(0, 0))]), secretData()] }] },
    { name: 'register-opaque', weight: 0.5, items: [{ operation: Operation.Register, payload: [e(Tag.ObjectType, ObjectType.OpaqueObject), s(Tag.TemplateAttribute, []), opaqueObject()] }] },
    { name: 'register-rsa-transparent', weight: 1, items: [{ operation: Operation.Register, payload: [e(Tag.ObjectType, ObjectType.PrivateKey), s(Tag.TemplateAttribute, [attr('Cryptographic Usage Mask', i(0, 1))]), rsaTransparent()] }] },
    { name: 'register-certificate', weight: 0.5, items: [{ operation: Operation.Register, payload: [e(Tag.ObjectType, ObjectType.Certificate), s(Tag.TemplateAttribute, []), certificate()] }] },
    { name: 'get', weight: 4, items: [{ operation: Operation.Get, payload: [uid(k.symmetricKey)] }] },
    { name: 'get-transparent', weight: 2, items: [{ operation: Operation.Get, payload: [uid(k.symmetricKey), e(Tag.KeyFormatType, KeyFormatType.TransparentSymmetricKey)] }] },
    { name: 'get-private-pkcs8', weight: 2, items: [{ operation: Operation.Get, payload: [uid(k.privateKey), e(Tag.KeyFormatType, KeyFormatType.PKCS_8)] }] },
    { name: 'get-public', weight: 2, items: [{ operation: Operation.Get, payload: [uid(k.publicKey), e(Tag.KeyFormatType, KeyFormatType.X_509)] }] },
    { name: 'get-secret', weight: 1, items: [{ operation: Operation.Get, payload: [uid(k.secretData)] }] },
    { name: 'get-opaque', weight: 1, items: [{ operation: Operation.Get, payload: [uid(k.opaqueObject)] }] },
    { name: 'get-wrapped', weight: 1, items: [{ operation: Operation.Get, payload: [uid(k.symmetricKey), s(Tag.KeyWrappingSpecification, [e(Tag.WrappingMethod, 1), s(Tag.EncryptionKeyInformation, [uid(k.symmetricKey)])])] }] },
    { name: 'get-attributes', weight: 3, items: [{ operation: Operation.GetAttributes, payload: [uid(k.symmetricKey), t(Tag.AttributeName, 'Cryptographic Algorithm'), t(Tag.AttributeName, 'State'), t(Tag.AttributeName, 'Name'), t(Tag.AttributeName, 'x-Vendor')] }] },
    { name: 'get-attribute-list', weight: 2, items: [{ operation: Operation.GetAttributeList, payload: [uid(k.privateKey)] }] },
    { name: 'modify-attribute', weight: 1, items: [{ operation: Operation.ModifyAttribute, payload: [uid(k.opaqueObject), attr('Contact Information', t(0, 'fuzz@example.com'))] }] },
    { name: 'delete-attribute', weight: 1, items: [{ operation: Operation.DeleteAttribute, payload: [uid(MISSING_UID), t(Tag.AttributeName, 'x-Name'), i(Tag.AttributeIndex, 0)] }] },
    { name: 'locate', weight: 3, items: [{ operation: Operation.Locate, payload: [i(Tag.MaximumItems, 4), ...(v >= 13 ? [i(Tag.OffsetItems, 1), i(Tag.StorageStatusMask, 1)] : []), attr('Object Type', e(0, ObjectType.SymmetricKey)), attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES))] }] },
    { name: 'locate-name', weight: 1, items: [{ operation: Operation.Locate, payload: [attr('Name', name14('fuzz-create'))] }] },
    { name: 'check', weight: 1, items: [{ operation: Operation.Check, payload: [uid(k.symmetricKey), li(Tag.UsageLimitsCount, 10n), i(Tag.CryptographicUsageMask, 4), iv(Tag.LeaseTime, 3600)] }] },
    { name: 'obtain-lease', weight: 1, items: [{ operation: Operation.ObtainLease, payload: [uid(k.symmetricKey)] }] },
    { name: 'get-usage-allocation', weight: 1, items: [{ operation: Operation.GetUsageAllocation, payload: [uid(k.secretData), li(Tag.UsageLimitsCount, 5n)] }] },
    { name: 'rekey-missing', weight: 1, items: [{ operation: Operation.ReKey, payload: [uid(MISSING_UID), iv(Tag.Offset, 60)] }] },
    {
      name: 'batch-create-activate-get',
      weight: 1,
      header: [e(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Stop)],
      items: [
        { operation: Operation.Create, id: batchId(1), payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), template()] },
        { operation: Operation.Activate, id: batchId(2), payload: [] },
        { operation: Operation.AddAttribute, id: batchId(3), payload: [attr('x-Product', t(0, 'VMware vSphere'))] },
        { operation: Operation.Get, id: batchId(4), payload: [] },
      ],
    },
    {
      name: 'batch-undo-revoke-destroy',
      weight: 1,
      header: [e(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Undo), i(Tag.MaximumResponseSize, 4096)],
      items: [
        { operation: Operation.Create, id: batchId(1), payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), template()] },
        { operation: Operation.Revoke, id: batchId(2), payload: [revoke] },
        { operation: Operation.Destroy, id: batchId(3), payload: [] },
      ],
    },
    {
      name: 'batch-continue-reads',
      weight: 2,
      header: [e(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Continue), dt(Tag.TimeStamp, 1_700_000_000)],
      items: [
        { operation: Operation.Get, id: batchId(1), payload: [uid(MISSING_UID)] },
        { operation: Operation.GetAttributes, id: batchId(2), payload: [uid(k.secretData)] },
        { operation: Operation.Query, id: batchId(3), payload: [e(Tag.QueryFunction, QueryFunction.QueryServerInformation)] },
        { operation: Operation.Locate, id: batchId(4), payload: [i(Tag.MaximumItems, 1)] },
      ],
    },
    {
      name: 'authentication-header',
      weight: 1,
      header: [
        i(Tag.MaximumResponseSize, 100_000),
        bool(Tag.AsynchronousIndicator, false),
        s(Tag.Authentication, [s(Tag.Credential, [e(Tag.CredentialType, 1), s(Tag.CredentialValue, [t(Tag.Username, 'vcenter'), t(Tag.Password, 'secret')])])]),
        ...(v >= 14 ? [t(Tag.ClientCorrelationValue, 'fuzz-correlation')] : []),
      ],
      items: [{ operation: Operation.DiscoverVersions, payload: [] }],
    },
    {
      name: 'message-extension',
      weight: 1,
      items: [{ operation: Operation.Query, payload: [e(Tag.QueryFunction, QueryFunction.QueryOperations)] }],
    },
  ];
}

/** 2.x: attributes directly in an Attributes structure. */
function v2Seeds(k: KnownObjects): Array<Omit<Seed, 'version' | 'message'> & { items: RequestItem[]; header?: TtlvItem[] }> {
  const aes = () => s(Tag.Attributes, [e(Tag.CryptographicAlgorithm, CryptographicAlgorithm.AES), i(Tag.CryptographicLength, 256), i(Tag.CryptographicUsageMask, 12), nameItem('fuzz-create-2')]);
  return [
    { name: 'discover-versions-2', weight: 2, items: [{ operation: Operation.DiscoverVersions, payload: [] }] },
    { name: 'query-2', weight: 2, items: [{ operation: Operation.Query, payload: [e(Tag.QueryFunction, QueryFunction.QueryCapabilities), e(Tag.QueryFunction, QueryFunction.QueryProfiles)] }] },
    { name: 'create-2', weight: 1, items: [{ operation: Operation.Create, payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), aes()] }] },
    { name: 'register-2', weight: 1, items: [{ operation: Operation.Register, payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.Attributes, [i(Tag.CryptographicUsageMask, 4)]), symmetricKey()] }] },
    { name: 'get-2', weight: 4, items: [{ operation: Operation.Get, payload: [uid(k.symmetricKey)] }] },
    { name: 'get-attributes-2', weight: 3, items: [{ operation: Operation.GetAttributes, payload: [uid(k.publicKey), e(Tag.AttributeReference, Tag.CryptographicAlgorithm), e(Tag.AttributeReference, Tag.State)] }] },
    { name: 'locate-2', weight: 3, items: [{ operation: Operation.Locate, payload: [i(Tag.MaximumItems, 3), s(Tag.Attributes, [e(Tag.ObjectType, ObjectType.SymmetricKey), nameItem('fuzz-create-2')])] }] },
    { name: 'set-attribute-2', weight: 1, items: [{ operation: Operation.SetAttribute, payload: [uid(k.opaqueObject), s(Tag.NewAttribute, [t(Tag.ContactInformation, 'fuzz-2')])] }] },
    { name: 'log-2', weight: 1, items: [{ operation: Operation.Log, payload: [t(Tag.LogMessage, 'fuzz log line')] }] },
    { name: 'interop-2', weight: 1, items: [{ operation: Operation.Interop, payload: [e(Tag.InteropFunction, InteropFunction.Begin), t(Tag.InteropIdentifier, 'FUZZ-1')] }] },
    {
      name: 'batch-2',
      weight: 1,
      header: [e(Tag.BatchErrorContinuationOption, BatchErrorContinuationOption.Undo)],
      items: [
        { operation: Operation.Create, id: batchId(1), payload: [e(Tag.ObjectType, ObjectType.SymmetricKey), aes()] },
        { operation: Operation.GetAttributes, id: batchId(2), payload: [] },
        { operation: Operation.Destroy, id: batchId(3), payload: [] },
      ],
    },
  ];
}

/** vCenter's own messages (1.1), as bytes from its builders, turned back into trees. */
function vcenterSeeds(k: KnownObjects): Seed[] {
  const tree = (name: string, bytes: Uint8Array, weight: number): Seed => ({ name, version: 11, message: decodeTtlv(bytes), weight });
  return [
    tree('vcenter-discover', vcenter.discoverVersions(false), 2),
    tree('vcenter-discover-id', vcenter.discoverVersions(true), 2),
    tree('vcenter-query', vcenter.queryServerInformation(), 3),
    tree('vcenter-create', vcenter.createAes256(), 1),
    tree('vcenter-get-attributes', vcenter.getAttributes(k.symmetricKey, 'x-Vendor'), 4),
    // Added to an identifier no object has: the attributes are still decoded, but a long run does
    // not pile thousands of values onto one object.
    tree('vcenter-add-attributes', vcenter.addAttributes(MISSING_UID, [...VCENTER_PRODUCT_TAGS, ...HOST_OWNER_TAGS]), 3),
    tree('vcenter-get', vcenter.get(k.symmetricKey), 6),
    tree('vcenter-activate', vcenter.activate(k.symmetricKey), 2),
  ];
}

export function buildCorpus(k: KnownObjects): Seed[] {
  const seeds: Seed[] = [...vcenterSeeds(k)];
  const extension = s(Tag.MessageExtension, [t(Tag.VendorIdentification, 'fuzz'), bool(Tag.CriticalityIndicator, false), s(Tag.VendorExtension, [])]);
  for (const v of V1) {
    for (const seed of v1Seeds(v, k)) {
      let message = requestMessage(v, seed.items, seed.header);
      if (seed.name === 'message-extension') message = withExtension(message, extension);
      seeds.push({ name: `${seed.name}@${v}`, version: v, message, weight: seed.weight / V1.length });
    }
  }
  for (const v of V2) {
    for (const seed of v2Seeds(k)) seeds.push({ name: `${seed.name}@${v}`, version: v, message: requestMessage(v, seed.items, seed.header), weight: seed.weight / V2.length });
  }
  return seeds;
}

/** Appends a Message Extension to every batch item. */
function withExtension(message: TtlvItem, extension: TtlvItem): TtlvItem {
  const children = message.value as TtlvItem[];
  return s(message.tag, children.map((c) => (c.tag === Tag.BatchItem ? s(c.tag, [...(c.value as TtlvItem[]), extension]) : c)));
}
