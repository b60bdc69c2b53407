/** Structures used as attribute values (1.x §3, 2.x §4). */
import { Tag } from '../generated/tags.js';
import { boolean, bytes, enumeration, integer, longInteger, mask, opt, req, struct, text, type InferStruct } from '../schema.js';

export const NameSchema = struct('Name', {
  nameValue: req(Tag.NameValue, text),
  nameType: req(Tag.NameType, enumeration('NameType')),
});
export type NameValue = InferStruct<typeof NameSchema>;

export const LinkSchema = struct('Link', {
  linkType: req(Tag.LinkType, enumeration('LinkType')),
  linkedObjectIdentifier: req(Tag.LinkedObjectIdentifier, text),
});
export type LinkValue = InferStruct<typeof LinkSchema>;

export const ApplicationSpecificInformationSchema = struct('Application Specific Information', {
  applicationNamespace: req(Tag.ApplicationNamespace, text),
  applicationData: opt(Tag.ApplicationData, text),
});

export const DigestSchema = struct('Digest', {
  hashingAlgorithm: req(Tag.HashingAlgorithm, enumeration('HashingAlgorithm')),
  digestValue: opt(Tag.DigestValue, bytes),
  keyFormatType: opt(Tag.KeyFormatType, enumeration('KeyFormatType'), { since: 11 }),
});
export type DigestValue = InferStruct<typeof DigestSchema>;

export const CryptographicParametersSchema = struct('Cryptographic Parameters', {
  blockCipherMode: opt(Tag.BlockCipherMode, enumeration('BlockCipherMode')),
  paddingMethod: opt(Tag.PaddingMethod, enumeration('PaddingMethod')),
  hashingAlgorithm: opt(Tag.HashingAlgorithm, enumeration('HashingAlgorithm')),
  keyRoleType: opt(Tag.KeyRoleType, enumeration('KeyRoleType')),
  digitalSignatureAlgorithm: opt(Tag.DigitalSignatureAlgorithm, enumeration('DigitalSignatureAlgorithm'), { since: 12 }),
  cryptographicAlgorithm: opt(Tag.CryptographicAlgorithm, enumeration('CryptographicAlgorithm'), { since: 12 }),
  randomIV: opt(Tag.RandomIV, boolean, { since: 12 }),
  ivLength: opt(Tag.IVLength, integer, { since: 12 }),
  tagLength: opt(Tag.TagLength, integer, { since: 12 }),
  fixedFieldLength: opt(Tag.FixedFieldLength, integer, { since: 12 }),
  invocationFieldLength: opt(Tag.InvocationFieldLength, integer, { since: 12 }),
  counterLength: opt(Tag.CounterLength, integer, { since: 12 }),
  initialCounterValue: opt(Tag.InitialCounterValue, integer, { since: 12 }),
  saltLength: opt(Tag.SaltLength, integer, { since: 14 }),
  maskGenerator: opt(Tag.MaskGenerator, enumeration('MaskGenerator'), { since: 14 }),
  maskGeneratorHashingAlgorithm: opt(Tag.MaskGeneratorHashingAlgorithm, enumeration('HashingAlgorithm'), { since: 14 }),
  pSource: opt(Tag.PSource, bytes, { since: 14 }),
  trailerField: opt(Tag.TrailerField, integer, { since: 14 }),
});

export const CryptographicDomainParametersSchema = struct('Cryptographic Domain Parameters', {
  qlength: opt(Tag.Qlength, integer),
  recommendedCurve: opt(Tag.RecommendedCurve, enumeration('RecommendedCurve')),
});

export const RevocationReasonSchema = struct('Revocation Reason', {
  revocationReasonCode: req(Tag.RevocationReasonCode, enumeration('RevocationReasonCode')),
  revocationMessage: opt(Tag.RevocationMessage, text),
});
export type RevocationReasonValue = InferStruct<typeof RevocationReasonSchema>;

export const UsageLimitsSchema = struct('Usage Limits', {
  usageLimitsTotal: req(Tag.UsageLimitsTotal, longInteger),
  usageLimitsCount: opt(Tag.UsageLimitsCount, longInteger),
  usageLimitsUnit: req(Tag.UsageLimitsUnit, enumeration('UsageLimitsUnit')),
});

export const AlternativeNameSchema = struct('Alternative Name', {
  alternativeNameValue: req(Tag.AlternativeNameValue, text),
  alternativeNameType: req(Tag.AlternativeNameType, enumeration('AlternativeNameType')),
});

export const KeyValueLocationSchema = struct('Key Value Location', {
  keyValueLocationValue: req(Tag.KeyValueLocationValue, text),
  keyValueLocationType: req(Tag.KeyValueLocationType, enumeration('KeyValueLocationType')),
});

export const X509CertificateIdentifierSchema = struct('X.509 Certificate Identifier', {
  issuerDistinguishedName: req(Tag.IssuerDistinguishedName, bytes),
  certificateSerialNumber: req(Tag.CertificateSerialNumber, bytes),
});
export const X509CertificateSubjectSchema = struct('X.509 Certificate Subject', {
  subjectDistinguishedName: req(Tag.SubjectDistinguishedName, bytes),
  subjectAlternativeName: opt(Tag.SubjectAlternativeName, bytes),
});
export const X509CertificateIssuerSchema = struct('X.509 Certificate Issuer', {
  issuerDistinguishedName: req(Tag.IssuerDistinguishedName, bytes),
  issuerAlternativeName: opt(Tag.IssuerAlternativeName, bytes),
});

export const UsageMaskCodec = mask('CryptographicUsageMask');
export const ProtectionStorageMaskCodec = mask('ProtectionStorageMask');

/** RNG Parameters (1.3+): the value of the Random Number Generator attribute. */
export const RNGParametersSchema = struct('RNG Parameters', {
  rngAlgorithm: req(Tag.RNGAlgorithm, enumeration('RNGAlgorithm')),
  cryptographicAlgorithm: opt(Tag.CryptographicAlgorithm, enumeration('CryptographicAlgorithm')),
  cryptographicLength: opt(Tag.CryptographicLength, integer),
  hashingAlgorithm: opt(Tag.HashingAlgorithm, enumeration('HashingAlgorithm')),
  drbgAlgorithm: opt(Tag.DRBGAlgorithm, enumeration('DRBGAlgorithm')),
  recommendedCurve: opt(Tag.RecommendedCurve, enumeration('RecommendedCurve')),
  fips186Variation: opt(Tag.FIPS186Variation, enumeration('FIPS186Variation')),
  predictionResistance: opt(Tag.PredictionResistance, boolean),
});
export type RNGParametersValue = InferStruct<typeof RNGParametersSchema>;
