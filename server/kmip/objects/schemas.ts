/** Managed object structures (1.x §2.2, 2.x §2.2): the forms Get returns and Register accepts. */
import { Tag } from '../generated/tags.js';
import { AttributeV1Schema } from '../model/attributes.js';
import { anyEnumeration, bytes, enumeration, integer, many, opt, raw, req, struct, type InferStruct } from '../schema.js';

export const KeyValueSchema = struct('Key Value', {
  keyMaterial: req(Tag.KeyMaterial, raw),
  attributes: many(Tag.Attribute, AttributeV1Schema, { until: 14 }),
});

export const KeyWrappingDataSchema = struct('Key Wrapping Data', {
  wrappingMethod: req(Tag.WrappingMethod, enumeration('WrappingMethod')),
  encryptionKeyInformation: opt(Tag.EncryptionKeyInformation, raw),
  macSignatureKeyInformation: opt(Tag.MACSignatureKeyInformation, raw),
  macSignature: opt(Tag.MACSignature, bytes),
  ivCounterNonce: opt(Tag.IVCounterNonce, bytes),
  encodingOption: opt(Tag.EncodingOption, enumeration('EncodingOption'), { since: 11 }),
});

export const KeyBlockSchema = struct('Key Block', {
  keyFormatType: req(Tag.KeyFormatType, enumeration('KeyFormatType')),
  keyCompressionType: opt(Tag.KeyCompressionType, enumeration('KeyCompressionType')),
  /** A Key Value structure, or a Byte String when the key is wrapped. */
  keyValue: opt(Tag.KeyValue, raw),
  cryptographicAlgorithm: opt(Tag.CryptographicAlgorithm, enumeration('CryptographicAlgorithm')),
  cryptographicLength: opt(Tag.CryptographicLength, integer),
  keyWrappingData: opt(Tag.KeyWrappingData, KeyWrappingDataSchema),
});
export type KeyBlock = InferStruct<typeof KeyBlockSchema>;

export const SymmetricKeySchema = struct('Symmetric Key', { keyBlock: req(Tag.KeyBlock, KeyBlockSchema) });
export const PublicKeySchema = struct('Public Key', { keyBlock: req(Tag.KeyBlock, KeyBlockSchema) });
export const PrivateKeySchema = struct('Private Key', { keyBlock: req(Tag.KeyBlock, KeyBlockSchema) });
export const SecretDataSchema = struct('Secret Data', {
  secretDataType: req(Tag.SecretDataType, enumeration('SecretDataType')),
  keyBlock: req(Tag.KeyBlock, KeyBlockSchema),
});
export const OpaqueObjectSchema = struct('Opaque Object', {
  // Opaque Data Type has no value table in the spec: any enumeration value.
  opaqueDataType: req(Tag.OpaqueDataType, anyEnumeration),
  opaqueDataValue: req(Tag.OpaqueDataValue, bytes),
});
export const CertificateSchema = struct('Certificate', {
  certificateType: req(Tag.CertificateType, enumeration('CertificateType')),
  certificateValue: req(Tag.CertificateValue, bytes),
});
/** 2.x only (2.1 §2.2): a certificate request kept as an object, for a later Certify or Re-certify to name. */
export const CertificateRequestSchema = struct('Certificate Request', {
  certificateRequestType: req(Tag.CertificateRequestType, enumeration('CertificateRequestType')),
  certificateRequestValue: req(Tag.CertificateRequestValue, bytes),
});
export const PGPKeySchema = struct('PGP Key', {
  pgpKeyVersion: req(Tag.PGPKeyVersion, integer),
  keyBlock: req(Tag.KeyBlock, KeyBlockSchema),
});
/** 1.x only: a Template holds nothing but 1.x Attribute structures (at least one; the reader checks). */
export const TemplateSchema = struct('Template', { attributes: many(Tag.Attribute, AttributeV1Schema) });
export const TransparentSymmetricKeySchema = struct('Transparent Symmetric Key', { key: req(Tag.Key, bytes) });

